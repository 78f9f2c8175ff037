from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import format_amount

from ..engine import periods


class SaleRecurringPauseWizard(models.TransientModel):
    _name = "sale.recurring.pause.wizard"
    _description = "Pause a Subscription"

    order_id = fields.Many2one("sale.order", required=True, ondelete="cascade", readonly=True)
    currency_id = fields.Many2one(related="order_id.currency_id")
    start_mode = fields.Selection(
        [("next_period", "At the next period"), ("date", "On a date")],
        string="Start", required=True, default="next_period",
        help="At the next period: from the first period boundary from today, so no amount "
             "changes.\nOn a date: from any day; paid days from then on are given back as the "
             "plan says.")
    start_date = fields.Date(
        string="First Day Paused", compute="_compute_start_date", store=True, readonly=False, required=True,
        precompute=True)
    weeks = fields.Integer(default=1, required=True, help="Length of the pause in whole weeks.")
    end_date = fields.Date(string="Last Day Paused", compute="_compute_end_date")
    reason_id = fields.Many2one("sale.recurring.pause.reason")
    comment = fields.Text()
    given_back = fields.Monetary(
        string="Paid Days Given Back", compute="_compute_effect",
        help="Untaxed amount of the days already invoiced from the first day paused: credited "
             "or deducted from the next invoice, as the plan says.")
    effect_html = fields.Html(string="Effect on the Invoices", compute="_compute_effect", sanitize=False)

    @api.depends("order_id", "start_mode")
    def _compute_start_date(self):
        for wizard in self:
            order = wizard.order_id
            if not order or not order.recurring_plan_id:
                wizard.start_date = False
                continue
            if wizard.start_mode == "next_period" or not wizard.start_date:
                wizard.start_date = order._recurring_next_boundary()

    @api.depends("start_date", "weeks")
    def _compute_end_date(self):
        for wizard in self:
            ok = wizard.start_date and wizard.weeks and 0 < wizard.weeks <= periods.MAX_PAUSE_WEEKS
            wizard.end_date = ok and periods.pause_end(wizard.start_date, wizard.weeks)

    def _given_back(self):
        """Untaxed amount of the paid days from the first day paused, as the pause will give back."""
        return self.env["sale.recurring.pause"]._given_back_amount(self.order_id, self.start_date, self.weeks)

    @api.depends("order_id", "start_date", "weeks")
    def _compute_effect(self):
        Pause = self.env["sale.recurring.pause"]
        for wizard in self:
            wizard.given_back = 0.0
            wizard.effect_html = False
            if not (wizard.order_id and wizard.start_date and wizard.end_date):
                continue
            order = wizard.order_id
            html = Pause._effect_table(Pause._effect_rows(order, wizard.start_date, wizard.end_date))
            wizard.given_back = wizard._given_back()
            if wizard.given_back:
                amount = format_amount(self.env, wizard.given_back, order.currency_id)
                if order.recurring_plan_id.pause_unused_days == "credit":
                    text = self.env._("%(amount)s (untaxed) of paid days will be credited on a credit note.",
                                      amount=amount)
                else:
                    text = self.env._("%(amount)s (untaxed) of paid days will be deducted from the first "
                                      "invoice after the pause.", amount=amount)
                html += Markup('<p class="text-warning">%s</p>') % escape(text)
            wizard.effect_html = html

    def action_confirm(self):
        self.ensure_one()
        self.env["sale.recurring.pause"].create({
            "order_id": self.order_id.id,
            "start_date": self.start_date,
            "weeks": self.weeks,
            "reason_id": self.reason_id.id,
            "comment": self.comment,
            "requested_by": "user",
        })
        # back on the subscription the dialog was opened from, which reloads: opening it again
        # would stack a second breadcrumb of the same subscription
        return {"type": "ir.actions.act_window_close"}
