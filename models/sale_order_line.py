from odoo import api, models
from odoo.fields import Command

from ..engine import periods


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.depends("order_id.recurring_plan_id")
    def _compute_qty_to_invoice(self):
        """Subscription lines are billed period by period by the billing run, never by the
        standard "Create Invoice" flow, which would bill the whole order once more."""
        recurring = self.filtered(lambda line: line.order_id.recurring_plan_id)
        recurring.qty_to_invoice = 0.0
        return super(SaleOrderLine, self - recurring)._compute_qty_to_invoice()

    def _prepare_recurring_invoice_line_vals(self, period, label):
        """Invoice line of this subscription line for one period.

        A full period copies the line.  A prorated period bills one unit at the
        prorated amount (rounded to the currency), so the invoice matches the
        schedule to the cent; the label says how many days of the period it covers.
        """
        self.ensure_one()
        vals = {
            "display_type": "product",
            "sequence": self.sequence,
            "product_id": self.product_id.id,
            "product_uom_id": self.product_uom_id.id,
            "quantity": self.product_uom_qty,
            "price_unit": self.price_unit,
            "discount": self.discount,
            "tax_ids": [Command.set(self.tax_ids.ids)],
            "analytic_distribution": self.analytic_distribution,
            "name": f"{self.name}\n{label}",
        }
        if period.is_prorated:
            base = self.price_total if self.tax_ids.filtered("price_include") else self.price_subtotal
            amount = periods.period_amount(base, period, self.order_id.currency_id.rounding)
            partner_env = self.with_context(lang=self.order_id.partner_id.lang or self.env.lang).env
            vals.update(
                quantity=1.0, price_unit=float(amount), discount=0.0,
                name=partner_env._(
                    "%(description)s\n%(label)s (%(days)s of %(full)s days, prorated)",
                    description=self.name, label=label, days=period.days, full=period.full_days))
        return vals
