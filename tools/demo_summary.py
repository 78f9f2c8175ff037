# Run by `make demo` inside `odoo shell`: bills the demo weeks, then prints the plans, each
# subscription's next invoice dates, the invoices per send day and any billing errors.
Order = env["sale.order"]  # noqa: F821


def label(record, field):
    return dict(record._fields[field]._description_selection(record.env)).get(record[field], "")


Order._cron_recurring_billing()  # commits batch by batch
orders = Order.search([("recurring_plan_id", "!=", False)], order="recurring_state, name")
print("\n" + "=" * 100)
print(f"{len(orders.recurring_plan_id)} plans, {len(orders)} subscriptions")
print("=" * 100)
for plan in orders.recurring_plan_id:
    print(f"Plan  {plan.name:34} {plan.period_label:14} {label(plan, 'billing_timing'):11} "
          f"{label(plan, 'duration_type')}")
print("-" * 100)
for order in orders:
    upcoming = order._recurring_preview_vals(3) if order.recurring_state not in ("closed", "cancel") else []
    dates = ", ".join(str(p["invoice_date"]) for p in upcoming) or "-"
    day = label(order, "recurring_send_weekday") if order.recurring_billing_unit == "week" else ""
    print(f"{order.name:8} {order.partner_id.name[:20]:20} {label(order, 'recurring_state'):11} "
          f"{order.recurring_plan_id.name[:30]:30} {day:9} {order.recurring_invoice_count:3} invoices, "
          f"next: {dates}")
print("-" * 100)
invoices = orders.recurring_invoice_ids
days = {}
for invoice in invoices:
    count, total = days.get(invoice.invoice_date.strftime("%A"), (0, 0.0))
    days[invoice.invoice_date.strftime("%A")] = (count + 1, total + invoice.amount_untaxed)
print("Billing run over the demo weeks: invoices per send day (untaxed)")
for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
    if day in days:
        print(f"  {day:10} {days[day][0]:4} invoices {days[day][1]:12.2f}")
print(f"  {'Total':10} {len(invoices):4} invoices {sum(invoices.mapped('amount_untaxed')):12.2f} "
      f"({len(invoices.filtered(lambda i: i.state == 'posted'))} posted)")
for order in orders.filtered("recurring_billing_error"):
    print(f"  Billing error on {order.name}: {order.recurring_billing_error}")
print("=" * 100 + "\n")

# SEPA direct debit: one run over the demo invoices, its file written under out/
import base64  # noqa: E402
import os  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from odoo.addons.sale_weekly_subscription.engine import sepa  # noqa: E402

today = env["sale.order"]._recurring_today()  # noqa: F821
journal = env["account.journal"].search([("type", "=", "bank"), ("company_id", "=", env.company.id)], limit=1)  # noqa: F821
run = env["sale.recurring.sepa.run"].create({  # noqa: F821
    "journal_id": journal.id, "requested_date": today + timedelta(days=env.company.sepa_prenotification_days)})  # noqa: F821
batch = env["sale.recurring.sepa.batch"].browse(run.action_create()["res_id"])  # noqa: F821
data = base64.b64decode(batch.xml_file)
out = Path(os.environ.get("SWSUB_OUT", "out"))
out.mkdir(parents=True, exist_ok=True)
path = out / batch.xml_filename
path.write_bytes(data)
sepa.validate(data, batch.version)
env.cr.commit()  # noqa: F821
print("SEPA direct-debit run")
print(f"  file            {path.resolve()}")
print(f"  transactions    {batch.transaction_count}")
print(f"  control sum     {batch.control_sum:.2f} EUR, collection on {batch.collection_date}")
print(f"  valid against {batch.version}")
print("=" * 100 + "\n")

# Reporting: expected revenue for the coming months, and MRR
Forecast = env["sale.recurring.forecast"]  # noqa: F821
Forecast._refresh(months=6)
print("Expected revenue (untaxed, company currency), next 6 months")
for group in Forecast._read_group([], ["month:month"], ["amount:sum", "invoice_count:sum"]):
    print(f"  {group[0]!s:16} {group[2]:4} invoices {group[1]:12.2f}")
env["sale.recurring.mrr"]._rebuild(months=6)  # noqa: F821
print("MRR per month (paused subscriptions drop out, but are no churn)")
for month in env["sale.recurring.mrr.month"].search([], order="month"):  # noqa: F821
    print(f"  {month.month}  MRR {month.mrr:10.2f}  ARR {month.arr:11.2f}  active {month.active_count:3}  "
          f"paused {month.paused_count:2}  new {month.new_count:2}  closed {month.closed_count:2}  "
          f"churn {month.churn_rate:5.1f}%")
env.cr.commit()  # noqa: F821
print("=" * 100 + "\n")
