from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import format_amount, format_date

from ..engine import periods

# send days shown in the dialog, as on the portal
SEND_DAYS = 8


class SaleRecurringSkipWizard(models.TransientModel):
    _name = "sale.recurring.skip.wizard"
    _description = "Skip a Delivery"

    order_id = fields.Many2one("sale.order", required=True, ondelete="cascade", readonly=True)
    currency_id = fields.Many2one(related="order_id.currency_id")
    start_date = fields.Date(
        string="Send Day Skipped", compute="_compute_start_date", store=True, readonly=False, required=True,
        precompute=True,
        help="The first day of the period whose delivery is skipped: that whole period is neither delivered "
             "nor billed. Accountants are not bound by the plan's cut-off; the plan's limit of skips applies.")
    end_date = fields.Date(string="Last Day Skipped", compute="_compute_end_date")
    comment = fields.Text()
    deliveries_html = fields.Html(string="Next Deliveries", compute="_compute_deliveries_html", sanitize=False)
    given_back = fields.Monetary(
        string="Paid Days Given Back", compute="_compute_effect",
        help="Untaxed amount of the period already invoiced: credited or deducted from the next invoice, as "
             "the plan says for pauses.")
    effect_html = fields.Html(string="Effect on the Invoices", compute="_compute_effect", sanitize=False)

    @api.depends("order_id")
    def _compute_start_date(self):
        """The first send day from today that can be skipped and is not skipped yet."""
        for wizard in self:
            rows = wizard.order_id._recurring_deliveries(SEND_DAYS) if wizard.order_id else []
            free = [row["start"] for row in rows if row["skippable"] and not row["skip"]]
            if not wizard.start_date:
                wizard.start_date = free[0] if free else False

    @api.depends("order_id", "start_date")
    def _compute_end_date(self):
        for wizard in self:
            period = wizard._period()
            wizard.end_date = period and period[1]

    def _period(self):
        """(start, end) of the period whose send day is the day chosen, or None."""
        self.ensure_one()
        order = self.order_id
        if not (order and self.start_date and order.recurring_plan_id.billing_unit == "week"):
            return None
        for row in order._recurring_deliveries(SEND_DAYS):
            if row["start"] == self.start_date:
                return row["start"], row["end"]
        period = periods.period_on(day=self.start_date, **order._recurring_schedule().period_args())
        return (period.start, period.end) if period and period.start == self.start_date else None

    @api.depends("order_id", "start_date")
    def _compute_deliveries_html(self):
        for wizard in self:
            order = wizard.order_id
            if not order:
                wizard.deliveries_html = False
                continue
            rows = Markup("").join(Markup(
                '<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>') % (
                "fw-bold" if row["start"] == wizard.start_date else "",
                format_date(self.env, row["start"], date_format="full"),
                order._recurring_period_label(row["start"], row["end"], lang=self.env.lang),
                order._recurring_cutoff_text(row["start"]) + ("" if row["open"] else " \u2013 " + self.env._("passed")),
                self.env._("Skipped") if row["skip"] else self.env._("To deliver") if row["skippable"]
                else self.env._("Cannot be skipped (a partial period)"))
                for row in order._recurring_deliveries(SEND_DAYS))
            head = Markup("<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>") % (
                self.env._("Send Day"), self.env._("Period"), self.env._("Portal Cut-off"), self.env._("Status"))
            wizard.deliveries_html = Markup(
                '<table class="table table-sm o_recurring_skip_deliveries"><thead>%s</thead><tbody>%s</tbody>'
                "</table>") % (head, rows)

    @api.depends("order_id", "start_date")
    def _compute_effect(self):
        Pause = self.env["sale.recurring.pause"]
        for wizard in self:
            wizard.given_back = 0.0
            wizard.effect_html = False
            period = wizard._period()
            if not (wizard.order_id and period):
                continue
            order = wizard.order_id
            weeks = order.recurring_plan_id.billing_interval
            html = Pause._effect_table(Pause._effect_rows(order, period[0], period[1]),
                                       with_label=self.env._("With This Skip"),
                                       period_label=self.env._("Period With This Skip"))
            wizard.given_back = Pause._given_back_amount(order, period[0], weeks)
            if wizard.given_back:
                amount = format_amount(self.env, wizard.given_back, order.currency_id)
                if order.recurring_plan_id.pause_unused_days == "credit":
                    text = self.env._("%(amount)s (untaxed) of paid days will be credited on a credit note.",
                                      amount=amount)
                else:
                    text = self.env._("%(amount)s (untaxed) of paid days will be deducted from the next invoice.",
                                      amount=amount)
                html += Markup('<p class="text-warning">%s</p>') % escape(text)
            wizard.effect_html = html

    def action_confirm(self):
        self.ensure_one()
        self.order_id._recurring_skip(self.start_date, requested_by="user", comment=self.comment)
        return {"type": "ir.actions.act_window_close"}
