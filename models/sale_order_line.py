from dataclasses import replace
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine import schedule


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    recurring_one_off = fields.Boolean(
        string="One-off", copy=True,
        help="Billed once, in full (quantity times price, never prorated), on the first subscription invoice made "
             "after the line is added: a set-up fee, a deposit, a first box. It is not part of the MRR nor of "
             "the expected revenue, and a pause gives none of it back.")
    recurring_one_off_invoiced = fields.Boolean(
        string="One-off Billed", compute="_compute_recurring_one_off_invoiced", store=True,
        help="A customer invoice that is not cancelled bills this one-off line: no later invoice bills it "
             "again. Cancel that invoice to have the next one bill it.")

    recurring_change_ids = fields.One2many(
        "sale.recurring.line.change", "line_id", string="Line Changes", copy=False)

    @api.depends("recurring_one_off", "invoice_lines.move_id.state", "invoice_lines.move_id.move_type")
    def _compute_recurring_one_off_invoiced(self):
        for line in self:
            line.recurring_one_off_invoiced = line.recurring_one_off and any(
                move.move_type == "out_invoice" and move.state != "cancel" for move in line.invoice_lines.move_id)

    @api.constrains("recurring_one_off")
    def _check_recurring_one_off(self):
        """A line a subscription invoice has billed already as a recurring line cannot become one-off: it
        would then count as billed and silently stop being billed."""
        for line in self.filtered(lambda line: line.recurring_one_off and line.order_id.recurring_plan_id):
            billed = line.invoice_lines.filtered(lambda aml: aml.recurring_period_start)
            if billed.filtered(lambda aml: aml.move_id.state != "cancel"):
                raise ValidationError(self.env._(
                    "Subscription %(order)s, line '%(line)s': the field 'One-off' cannot be set on a line "
                    "already billed for a period; remove the line and add a one-off line instead.",
                    order=line.order_id.display_name, line=line.name))

    def _recurring_is_billed_per_period(self):
        """Whether this line is part of the subscription's recurring amount (the schedule, the MRR, the
        expected revenue): every product line but a one-off one."""
        self.ensure_one()
        return not self.display_type and not self.recurring_one_off

    def _recurring_one_off_due(self):
        """The one-off lines of ``self`` that the next invoice made bills (not billed yet)."""
        return self.filtered(lambda line: line.recurring_one_off and not line.display_type
                             and not line.recurring_one_off_invoiced)

    @api.depends("order_id.recurring_plan_id")
    def _compute_qty_to_invoice(self):
        """Subscription lines are billed period by period by the billing run, never by the
        standard "Create Invoice" flow, which would bill the whole order once more."""
        recurring = self.filtered(lambda line: line.order_id.recurring_plan_id)
        recurring.qty_to_invoice = 0.0
        return super(SaleOrderLine, self - recurring)._compute_qty_to_invoice()

    # -- the agreed price of a running subscription ---------------------------

    def _recurring_agreed_lines(self):
        """Lines of running subscriptions that keep their agreed price and discount: a change of quantity
        does not re-price them from the pricelist (Odoo's sale does, for a quotation).  Only the user
        typing a price, a new product or unit, or an explicit *Update Prices* changes them."""
        if self.env.context.get("force_price_recomputation") or self.env.context.get("recurring_update_prices"):
            return self.browse()
        return self.filtered(lambda line: line._origin.id and line.order_id.recurring_plan_id
                             and line.order_id.state == "sale"
                             and line.product_id == line._origin.product_id
                             and line.product_uom_id == line._origin.product_uom_id)

    def _compute_price_unit(self):
        return super(SaleOrderLine, self - self._recurring_agreed_lines())._compute_price_unit()

    def _compute_discount(self):
        return super(SaleOrderLine, self - self._recurring_agreed_lines())._compute_discount()

    # -- a change of what is billed: a failed subscription is tried again -------

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.order_id._recurring_forget_failure()
        return lines

    def write(self, vals):
        self.order_id._recurring_forget_failure()
        return super().write(vals)

    def unlink(self):
        self.order_id._recurring_forget_failure()
        return super().unlink()

    # -- the base amount of a line: decided here, once --------------------------

    @api.model
    def _recurring_base_line(self, untaxed, total, taxes, order, product=None):
        """The engine's view of an invoice or order line: its untaxed amount and the amount a
        prorated period prorates, which is the taxed total when the price includes a tax (the
        prorated price unit then still includes it), else the untaxed amount."""
        if not taxes.filtered("price_include"):
            return schedule.Line(untaxed=Decimal(str(untaxed)))
        currency, partner = order.currency_id, order.partner_invoice_id

        def to_untaxed(amount):
            return Decimal(str(taxes.compute_all(float(amount), currency, 1.0, product, partner)["total_excluded"]))
        return schedule.Line(untaxed=Decimal(str(untaxed)), base=Decimal(str(total)), to_untaxed=to_untaxed)

    def _recurring_engine_line(self):
        """This subscription line as the engine bills it (see ``_recurring_base_line``), with its
        scheduled changes (``sale.recurring.line.change``)."""
        self.ensure_one()
        taxes = self.tax_ids
        if not taxes or not any(tax.price_include for tax in taxes):
            line = schedule.Line(untaxed=Decimal(str(self.price_subtotal)))
        else:
            line = self._recurring_base_line(self.price_subtotal, self.price_total, taxes, self.order_id,
                                             self.product_id)
        changes = self._recurring_scheduled_changes()
        return replace(line, changes=tuple(change._recurring_engine_change() for change in changes)) \
            if changes else line

    def _recurring_scheduled_changes(self):
        """This line's changes not yet billed."""
        return self.recurring_change_ids.filtered(lambda change: change.state == "scheduled")

    def _recurring_change_for(self, period):
        """The change (``sale.recurring.line.change``) that bills this line for ``period``, or none: the
        engine decides (``schedule.change_in_force``)."""
        self.ensure_one()
        Change = self.env["sale.recurring.line.change"]
        if not self._recurring_scheduled_changes():
            return Change
        found = schedule.change_in_force(self._recurring_engine_line(), period)
        return Change.browse(found.key) if found else Change

    def _recurring_portal_rule(self):
        """The plan's product line that lets the subscriber change this line (*Subscriber May Change*, for
        this product or another variant of it), or none."""
        self.ensure_one()
        template = self.product_id.product_tmpl_id
        return self.order_id.recurring_plan_id.line_ids.filtered(
            lambda rule: rule.portal_changeable and rule.product_id.product_tmpl_id == template)[:1]

    @api.model
    def _recurring_untaxed(self, price_unit, tax_commands, order):
        """Untaxed amount of a one-unit line at ``price_unit`` with the taxes of ``tax_commands``
        (a stored ``Command.set``): the price itself, unless a tax is included in it."""
        taxes = self.env["account.tax"].browse(tax_commands[0][2] if tax_commands else [])
        line = self._recurring_base_line(price_unit, price_unit, taxes, order)
        if line.to_untaxed is None:
            return Decimal(str(price_unit))
        return line.to_untaxed(Decimal(str(price_unit)))

    # -- the invoice line of one period -----------------------------------------

    def _prepare_recurring_invoice_line_vals(self, period, label):
        """Invoice line of this subscription line for one period.

        Built by Odoo's own ``_prepare_invoice_line`` (so the link to the order line and every
        add-on's extension of it come along), with the period on top.  A full period bills the
        line's quantity at its price.  A prorated period bills one unit at the prorated amount
        (rounded to the currency), so the invoice matches the schedule to the cent; the label
        says how many days of the period it covers.
        """
        self.ensure_one()
        change = self._recurring_change_for(period)
        options = {"quantity": self.product_uom_qty, "name": self.name}
        if change:  # a change of the next box: its quantity, another variant
            options.update(change._recurring_invoice_line_overrides())
        description = options["name"]
        vals = self._prepare_invoice_line(**{**options, "name": f"{description}\n{label}"})
        vals.update(recurring_period_start=period.start, recurring_period_end=period.end)
        if self.analytic_distribution:
            vals["analytic_distribution"] = self.analytic_distribution
        if period.is_prorated:
            amount = schedule.line_base(self._recurring_engine_line(), period, self.order_id.currency_id.rounding)
            partner_env = self.with_context(lang=self.order_id.partner_id.lang or self.env.lang).env
            vals.update(
                quantity=1.0, price_unit=float(amount), discount=0.0,
                name=partner_env._(
                    "%(description)s\n%(label)s (%(days)s of %(full)s days, prorated)",
                    description=description, label=label, days=period.days, full=period.full_days))
        return vals

    def _recurring_quantity_for(self, period):
        """The quantity this line bills for ``period``: its own, or its change's."""
        self.ensure_one()
        change = self._recurring_change_for(period)
        return change.quantity if change else self.product_uom_qty

    def _prepare_recurring_one_off_invoice_line_vals(self):
        """Invoice line of this one-off line: its full quantity at its price, with no period (never
        prorated, and a pause credits none of it), linked to the order line so that it is billed once."""
        self.ensure_one()
        vals = self._prepare_invoice_line(quantity=self.product_uom_qty)
        if self.analytic_distribution:
            vals["analytic_distribution"] = self.analytic_distribution
        return vals
