from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date

from ..models.sale_order_correction import EFFECTIVE_DATE


class SaleOrderRecurringChange(models.TransientModel):
    _name = "sale.order.recurring.change"
    _description = "Change a Subscription Line"

    order_id = fields.Many2one("sale.order", required=True, ondelete="cascade", readonly=True)
    currency_id = fields.Many2one(related="order_id.currency_id")
    line_id = fields.Many2one(
        "sale.order.line", required=True, ondelete="cascade",
        domain="[('order_id', '=', order_id), ('display_type', '=', False), ('recurring_one_off', '=', False)]",
        help="The subscription line to change.")
    product_id = fields.Many2one(
        "product.product", compute="_compute_from_line", store=True, readonly=False, precompute=True,
        required=True, help="The product from the effective date: another product replaces the line's.")
    quantity = fields.Float(
        compute="_compute_from_line", store=True, readonly=False, precompute=True, digits="Product Unit",
        help="The quantity from the effective date; 0 stops delivering the line without removing it.")
    price_unit = fields.Float(
        string="Unit Price", compute="_compute_from_line", store=True, readonly=False, precompute=True,
        digits="Product Price",
        help="The unit price from the effective date.")
    effective_date = fields.Date(
        required=True, default=lambda self: self._default_effective_date(),
        help="The first day the change applies to. Inside a period already invoiced, the plan decides: a "
             "prorated correction of the rest of the period, or the change from the next period only.")
    mid_period_changes = fields.Selection(related="order_id.recurring_plan_id.mid_period_changes")
    effect = fields.Char(
        compute="_compute_effect",
        help="What the change does to the invoices, as the plan says.")

    @api.model
    def _default_effective_date(self):
        order = self.env["sale.order"].browse(self.env.context.get("default_order_id"))
        return order._recurring_today() if order else fields.Date.context_today(self)

    @api.depends("line_id")
    def _compute_from_line(self):
        for wizard in self:
            line = wizard.line_id
            wizard.product_id = line.product_id
            wizard.quantity = line.product_uom_qty
            wizard.price_unit = line.price_unit

    @api.depends("order_id", "effective_date", "mid_period_changes")
    def _compute_effect(self):
        for wizard in self:
            order, day = wizard.order_id, wizard.effective_date
            until = order.recurring_invoiced_until
            if not order or not day:
                wizard.effect = False
            elif until and day <= until and wizard.mid_period_changes == "prorate":
                wizard.effect = self.env._(
                    "The days from %(day)s to %(until)s are invoiced already: they are corrected at once, "
                    "prorated by days (an invoice for an increase, a credit note for a decrease).",
                    day=format_date(self.env, day), until=format_date(self.env, until))
            elif until and day <= until:
                wizard.effect = self.env._(
                    "The days up to %(until)s stay as invoiced; the next invoice bills the new line.",
                    until=format_date(self.env, until))
            else:
                wizard.effect = self.env._("The next invoice bills the new line.")

    def _change_vals(self):
        """The values written on the line: only what changed (a new product keeps the price typed)."""
        self.ensure_one()
        line = self.line_id
        vals = {}
        if self.product_id != line.product_id:
            vals["product_id"] = self.product_id.id
            vals["price_unit"] = self.price_unit
        if self.order_id.currency_id.compare_amounts(self.price_unit, line.price_unit):
            vals["price_unit"] = self.price_unit
        if self.quantity != line.product_uom_qty:
            vals["product_uom_qty"] = self.quantity
        return vals

    def action_confirm(self):
        """Write the change on the line with its effective date: the line's ``write`` applies the plan's
        rule (``sale.order._recurring_correct``) and the same checks as an RPC write with the date."""
        self.ensure_one()
        if self.line_id.order_id != self.order_id:
            raise ValidationError(self.env._(
                "Subscription %(order)s: the field 'Line' must be a line of this subscription.",
                order=self.order_id.display_name))
        if self.quantity < 0:
            raise ValidationError(self.env._(
                "Subscription %(order)s: the field 'Quantity' cannot be negative.", order=self.order_id.display_name))
        vals = self._change_vals()
        if not vals:
            raise UserError(self.env._(
                "Subscription %(order)s: nothing changes on the line '%(line)s'.", order=self.order_id.display_name,
                line=self.line_id.name))
        order = self.order_id
        self.line_id.with_context(**{EFFECTIVE_DATE: self.effective_date}).write(vals)
        return order._recurring_form_action()
