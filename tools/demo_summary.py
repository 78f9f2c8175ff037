# Run by `make demo` inside `odoo shell`: prints the plans and each subscription's next invoice dates.
orders = env["sale.order"].search([("recurring_plan_id", "!=", False)], order="recurring_state, name")  # noqa: F821


def label(record, field):
    return dict(record._fields[field]._description_selection(record.env)).get(record[field], "")


print("\n" + "=" * 96)
print(f"{len(orders.recurring_plan_id)} plans, {len(orders)} subscriptions")
print("=" * 96)
for plan in orders.recurring_plan_id:
    print(f"Plan  {plan.name:34} {plan.period_label:14} {label(plan, 'billing_timing'):11} "
          f"{label(plan, 'duration_type')}")
print("-" * 96)
for order in orders:
    upcoming = order._recurring_preview_vals(3) if order.recurring_state not in ("closed", "cancel") else []
    dates = ", ".join(str(p["invoice_date"]) for p in upcoming) or "-"
    day = label(order, "recurring_send_weekday") if order.recurring_billing_unit == "week" else ""
    print(f"{order.name:8} {order.partner_id.name[:20]:20} {label(order, 'recurring_state'):11} "
          f"{order.recurring_plan_id.name[:30]:30} {day:9} next invoices: {dates}")
print("=" * 96 + "\n")
