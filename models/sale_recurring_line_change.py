from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date

from ..engine import periods, schedule
from .sale_order import RUNNING_STATES


class SaleRecurringLineChange(models.Model):
    """A change of one subscription line for a period not yet invoiced: another quantity, or another
    variant of the same product, for that period only (``once``) or from it on (``from``).

    The engine bills it (``sale.order.line._recurring_engine_line`` gives the line its scheduled
    changes), so the billing run, Upcoming Invoices, the portal and the forecast see the same amounts.
    Once its period is invoiced the change is *Applied*: a change from then on is then written on the
    subscription line itself (``_recurring_apply``)."""

    _name = "sale.recurring.line.change"
    _description = "Subscription Line Change"
    _order = "date, id"
    _check_company_auto = True

    order_id = fields.Many2one(
        "sale.order", string="Subscription", required=True, ondelete="cascade", index=True, check_company=True,
        domain="[('recurring_plan_id', '!=', False), ('state', '=', 'sale')]")
    company_id = fields.Many2one(related="order_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="order_id.partner_id", store=True, index=True)
    currency_id = fields.Many2one(related="order_id.currency_id")
    line_id = fields.Many2one(
        "sale.order.line", required=True, ondelete="cascade", index=True,
        domain="[('order_id', '=', order_id), ('display_type', '=', False), ('recurring_one_off', '=', False)]",
        help="The subscription line changed.")
    product_template_id = fields.Many2one(related="line_id.product_template_id")
    date = fields.Date(
        string="Period Start", required=True,
        help="First day of the period the change takes effect on: a period of the subscription not yet "
             "invoiced.")
    scope = fields.Selection(
        [("once", "This period only"), ("from", "From this period on")], required=True, default="once",
        help="This period only: the period is billed with the change, and the line returns afterwards.\n"
             "From this period on: every period from this one is billed with the change, and the subscription "
             "line itself changes once this period is invoiced.")
    product_id = fields.Many2one(
        "product.product", required=True, check_company=True,
        domain="[('product_tmpl_id', '=', product_template_id), ('sale_ok', '=', True)]",
        help="The line's product or another variant of the same product. Another variant is billed at the "
             "line's agreed price plus the difference of the two variants' extra prices.")
    quantity = fields.Float(
        required=True, digits="Product Unit",
        help="The quantity billed for the period (0: none of it that period).")
    price_unit = fields.Float(
        string="Unit Price", digits="Product Price", compute="_compute_price_unit",
        help="The unit price billed: the line's own, or for another variant the line's plus the difference "
             "of the variants' extra prices.")
    state = fields.Selection(
        [("scheduled", "Scheduled"), ("applied", "Applied"), ("cancel", "Cancelled")], string="Status",
        required=True, default="scheduled", readonly=True, index=True,
        help="Scheduled: not yet invoiced, billed by the coming invoice of its period. Applied: its period is "
             "invoiced (a change from then on is now the line itself). Cancelled: never billed.")
    requested_by = fields.Selection(
        [("back_office", "Back Office"), ("portal", "Portal")], required=True,
        default="back_office", readonly=True,
        help="Portal: made by the subscriber, within the plan's limits and before the cut-off.")

    _scheduled_once = models.UniqueIndex(
        "(line_id, date, scope) WHERE state = 'scheduled'",
        "A line has one scheduled change per period and scope: cancel the other one first.")

    @api.depends("line_id.price_unit", "product_id", "order_id.currency_id")
    def _compute_price_unit(self):
        for change in self:
            change.price_unit = change._recurring_price() if change.line_id and change.product_id else 0.0

    @api.onchange("line_id")
    def _onchange_line_id(self):
        for change in self.filtered("line_id"):
            change.product_id = change.line_id.product_id
            change.quantity = change.line_id.product_uom_qty

    def _compute_display_name(self):
        for change in self:
            change.display_name = self.env._(
                "%(order)s: %(product)s from %(day)s", order=change.order_id.name or "",
                product=change.product_id.display_name or "", day=change.date and format_date(self.env, change.date))

    # -- the rules ---------------------------------------------------------

    @api.constrains("line_id", "order_id", "product_id", "quantity")
    def _check_line(self):
        for change in self:
            line = change.line_id
            if line.order_id != change.order_id or not line._recurring_is_billed_per_period():
                raise ValidationError(self.env._(
                    "Change of %(order)s: the field 'Line' must be a recurring line of that subscription.",
                    order=change.order_id.display_name))
            if change.product_id.product_tmpl_id != line.product_id.product_tmpl_id:
                raise ValidationError(self.env._(
                    "Change of %(order)s, line '%(line)s': the field 'Product' (%(product)s) must be a variant of "
                    "%(template)s.", order=change.order_id.display_name, line=line.name,
                    product=change.product_id.display_name, template=line.product_id.product_tmpl_id.display_name))
            if change.quantity < 0:
                raise ValidationError(self.env._(
                    "Change of %(order)s, line '%(line)s': the field 'Quantity' cannot be negative.",
                    order=change.order_id.display_name, line=line.name))

    def _check_period(self):
        """A scheduled change starts a period of its subscription's schedule that is not yet invoiced
        (a period already invoiced is corrected otherwise, not by a change of the next box)."""
        for change in self.filtered(lambda c: c.state == "scheduled"):
            order = change.order_id
            name = order.display_name
            if order.state != "sale" or order.recurring_state not in RUNNING_STATES:
                raise ValidationError(self.env._(
                    "Change of %(order)s: the subscription is not running.", order=name))
            day = change.date
            if order.recurring_invoiced_until and day <= order.recurring_invoiced_until:
                raise ValidationError(self.env._(
                    "Change of %(order)s: the field 'Period Start' (%(day)s) is in a period already invoiced "
                    "(up to %(until)s).", order=name, day=format_date(self.env, day),
                    until=format_date(self.env, order.recurring_invoiced_until)))
            period = periods.period_on(day=day, **order._recurring_schedule().period_args()) \
                if periods.FIRST_DAY <= day <= periods.LAST_DAY else None
            if not period or period.start != day:
                raise ValidationError(self.env._(
                    "Change of %(order)s: the field 'Period Start' (%(day)s) must be the first day of one of "
                    "its periods.", order=name, day=format_date(self.env, day)))

    def _check_portal_rules(self):
        """What the subscriber may change (the plan's products marked *Subscriber May Change*, within
        their quantities) and until when (the plan's cut-off)."""
        for change in self.filtered(lambda c: c.requested_by == "portal" and c.state == "scheduled"):
            order, line = change.order_id, change.line_id
            rule = line._recurring_portal_rule()
            if not rule:
                raise UserError(self.env._(
                    "The plan of %(order)s does not let subscribers change '%(product)s'.",
                    order=order.name, product=line.product_id.display_name))
            low, high = rule.portal_min_quantity, rule.portal_max_quantity
            if change.quantity < low or (high and change.quantity > high) \
                    or change.quantity != int(change.quantity):
                raise UserError(self.env._(
                    "%(order)s, '%(product)s': choose a whole quantity from %(low)s to %(high)s.",
                    order=order.name, product=line.product_id.display_name, low=int(low),
                    high=int(high) if high else self.env._("any number")))
            if not order._recurring_before_cutoff(change.date):
                raise UserError(self.env._(
                    "Too late to change the box of %(day)s: changes closed on %(cutoff)s.",
                    day=format_date(self.env, change.date, date_format="long"),
                    cutoff=order._recurring_cutoff_text(change.date)))

    @api.model_create_multi
    def create(self, vals_list):
        changes = super().create(vals_list)
        changes._check_period()
        changes._check_portal_rules()
        changes.order_id._recurring_forget_failure()  # what it bills changed: a failed run tries again
        for change in changes:
            change.order_id.message_post(body=change._recurring_message(self.env._("Line change scheduled")))
        return changes

    def write(self, vals):
        self.check_access("write")
        locked = any(change.state != "scheduled" or change.requested_by == "portal" for change in self)
        if locked and set(vals) & {"order_id", "line_id", "date", "scope", "product_id", "quantity"} \
                and not self.env.context.get("recurring_line_change_flow"):
            raise UserError(self.env._(
                "Change of %(order)s: only a scheduled change made in the back office can be edited; cancel "
                "it and make a new one.", order=", ".join(self.order_id.mapped("name"))))
        result = super().write(vals)
        if set(vals) & {"order_id", "date", "scope", "state"}:
            self._check_period()
        return result

    def _recurring_message(self, title):
        self.ensure_one()
        scope = dict(self._fields["scope"]._description_selection(self.env))[self.scope]
        return self.env._(
            "%(title)s: %(line)s becomes %(quantity)s x %(product)s for the period starting %(day)s (%(scope)s).",
            title=title, line=self.line_id.name.splitlines()[0] if self.line_id.name else "",
            quantity=self.quantity, product=self.product_id.display_name,
            day=format_date(self.env, self.date), scope=scope.lower())

    def action_cancel(self):
        """Cancel scheduled changes: their period is billed with the line as it is."""
        for change in self:
            if change.state != "scheduled":
                raise UserError(self.env._(
                    "Change of %(order)s: only a scheduled change can be cancelled (this one is %(state)s).",
                    order=change.order_id.display_name,
                    state=dict(self._fields["state"]._description_selection(self.env))[change.state]))
        self.write({"state": "cancel"})
        for change in self:
            change.order_id.message_post(body=change._recurring_message(self.env._("Line change cancelled")))
        return True

    # -- what it bills -------------------------------------------------------

    def _recurring_price(self):
        """The unit price billed: the line's agreed price; for another variant, plus the difference of
        the two variants' extra prices (in the company's currency, converted)."""
        self.ensure_one()
        line = self.line_id
        if self.product_id == line.product_id:
            return line.price_unit
        order = line.order_id
        extra = self.product_id.price_extra - line.product_id.price_extra
        company = order.company_id or self.env.company
        if extra and company.currency_id != order.currency_id:
            extra = company.currency_id._convert(extra, order.currency_id, company,
                                                 order.date_order or fields.Date.today())
        return line.price_unit + extra

    def _recurring_engine_change(self):
        """This change as the engine bills it (``schedule.Change``)."""
        self.ensure_one()
        line, order = self.line_id, self.order_id
        price = self._recurring_price() * (1 - (line.discount or 0.0) / 100)
        taxes = line.tax_ids.compute_all(price, order.currency_id, self.quantity, self.product_id,
                                         order.partner_invoice_id)
        engine_line = self.env["sale.order.line"]._recurring_base_line(
            Decimal(str(taxes["total_excluded"])), Decimal(str(taxes["total_included"])), line.tax_ids, order,
            self.product_id)
        return schedule.Change(key=self.id, start=self.date, line=engine_line,
                               end=self.date if self.scope == "once" else None)

    def _recurring_invoice_line_overrides(self):
        """What the invoice line of a period this change bills takes instead of the line's own values
        (``sale.order.line._prepare_invoice_line`` options)."""
        self.ensure_one()
        values = {"quantity": self.quantity}
        line = self.line_id
        if self.product_id != line.product_id:
            lang = line.order_id.partner_id.lang or self.env.lang
            values.update(product_id=self.product_id.id, price_unit=self._recurring_price(),
                          name=self.product_id.with_context(lang=lang).get_product_multiline_description_sale())
        return values

    def _recurring_apply(self):
        """The periods of these scheduled changes are invoiced: each is *Applied*, and a change from then
        on becomes the subscription line itself (its quantity; another variant: a new line, the old one
        at 0, since Odoo keeps the product of an invoiced order line)."""
        for change in self.sorted(lambda c: (c.date, c.id)):
            if change.scope == "from":
                change._recurring_apply_to_line()
        self.write({"state": "applied"})

    def _recurring_apply_to_line(self):
        self.ensure_one()
        line = self.line_id
        if self.product_id == line.product_id:
            line.write({"product_uom_qty": self.quantity})
        else:
            overrides = self._recurring_invoice_line_overrides()
            new_line = self.env["sale.order.line"].create({
                "order_id": line.order_id.id, "product_id": self.product_id.id, "product_uom_qty": self.quantity,
                "product_uom_id": line.product_uom_id.id, "price_unit": overrides["price_unit"],
                "discount": line.discount, "tax_ids": [fields.Command.set(line.tax_ids.ids)],
                "sequence": line.sequence, "name": overrides["name"],
                "analytic_distribution": line.analytic_distribution,
            })
            line.write({"product_uom_qty": 0.0})
            # the later changes of the old line now change the new one
            later = line.recurring_change_ids.filtered(lambda c: c.state == "scheduled" and c != self)
            later.with_context(recurring_line_change_flow=True).write({"line_id": new_line.id})
        self.order_id.message_post(body=self._recurring_message(self.env._("Line changed")))

    # -- the portal ----------------------------------------------------------

    @api.model
    def _recurring_portal_change(self, order, line, product, quantity, day, scope):
        """The subscriber's change of ``line`` (of their own ``order``): a scheduled change of the same
        line, period and scope is replaced.  Every rule is the model's (``create``)."""
        existing = self.search([("line_id", "=", line.id), ("date", "=", day), ("scope", "=", scope),
                                ("state", "=", "scheduled")])
        existing.action_cancel()
        existing.flush_recordset(["state"])  # the unique index sees it cancelled before the new one
        return self.create({"order_id": order.id, "line_id": line.id, "product_id": product.id,
                            "quantity": quantity, "date": day, "scope": scope, "requested_by": "portal"})
