from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import format_date


class SaleOrderRecurringCatchUp(models.TransientModel):
    """Asked when a subscription is confirmed with more due invoices than the company's catch-up
    limit (a start date in the past): bill them all in the next run, or a few a day."""

    _name = "sale.order.recurring.catch.up"
    _description = "Confirm a Subscription Starting in the Past"

    order_ids = fields.Many2many("sale.order", string="Subscriptions", required=True)
    summary = fields.Html(compute="_compute_summary", sanitize=False,
                          help="Per subscription: how many invoices are due now, and for which days.")
    invoice_count = fields.Integer(compute="_compute_summary", string="Invoices Due",
                                   help="How many invoices the next billing run makes when the catch-up is approved.")
    limit = fields.Integer(compute="_compute_summary", string="Catch-up Limit",
                           help="The most invoices one subscription gets a day without approval.")

    @api.model
    def _action_open(self, orders, behind):
        wizard = self.create({"order_ids": [fields.Command.set(orders.ids)]})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Confirm a Subscription Starting in the Past"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
            "context": {"validate_analytic": self.env.context.get("validate_analytic", False)},
        }

    @api.depends("order_ids")
    def _compute_summary(self):
        for wizard in self:
            behind = wizard.order_ids._recurring_catch_up_due()
            rows = []
            for order, due in behind.items():
                rows.append(Markup("<li>%s</li>") % self.env._(
                    "%(order)s (%(partner)s), starting %(start)s: %(count)s invoices are due now, for the periods "
                    "from %(first)s to %(last)s.", order=order.name, partner=order.partner_id.display_name,
                    start=format_date(self.env, order.recurring_start_date), count=len(due),
                    first=format_date(self.env, due[0].period.start), last=format_date(self.env, due[-1].period.end)))
            wizard.summary = Markup("<ul>%s</ul>") % Markup().join(rows) if rows else escape("")
            wizard.invoice_count = sum(len(due) for due in behind.values())
            wizard.limit = min((order.company_id.recurring_catch_up_limit for order in behind), default=0)

    def _confirm(self):
        return self.order_ids.with_context(recurring_catch_up_check=False).action_confirm()

    def action_confirm_all(self):
        """Confirm, and let the next billing run make every due invoice."""
        self.ensure_one()
        self.order_ids.action_recurring_approve_catch_up()
        return self._confirm()

    def action_confirm_limited(self):
        """Confirm; the billing run makes at most the catch-up limit a day and flags them."""
        self.ensure_one()
        return self._confirm()
