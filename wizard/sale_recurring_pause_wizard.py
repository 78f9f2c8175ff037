from datetime import timedelta
from itertools import islice

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import format_amount, format_date

from ..engine import periods

ROWS = 4


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

    def _schedules(self):
        """(now, with the pause) lists of upcoming periods, and the untaxed amount given back."""
        order = self.order_id
        sched = order._recurring_schedule()
        args = sched.period_args()
        until = order.recurring_invoiced_until or None

        def upcoming(until, args):  # the periods of the next invoices, a merged or free lead-in as billed
            bills = periods.bills(periods.periods_after(invoiced_until=until, **args), sched.lead_in,
                                  sched.subscription_start)
            return [bill.span for bill in islice(bills, ROWS + 1) if bill.periods][:ROWS]
        now = upcoming(until, args)
        pause = periods.Pause(self.start_date, self.end_date)
        given_back = 0.0
        if until and until >= self.start_date:
            dummy = self.env["sale.recurring.pause"].new({"order_id": order.id, "start_date": self.start_date,
                                                          "weeks": self.weeks})
            given_back = sum(vals["price_unit"] for invoice in dummy._paid_invoices(until)
                             for vals in dummy._unused_line_vals(invoice, until))
            until = self.start_date - timedelta(days=1)
        plan = order.recurring_plan_id
        if args["end"] and plan.pause_extends_term and plan.duration_type == "fixed" \
                and not order.recurring_close_date:
            args["end"] += timedelta(days=pause.days)
        args["pauses"] = (*args["pauses"], pause)
        after = upcoming(until, args)
        return now, after, given_back

    @api.depends("order_id", "start_date", "weeks")
    def _compute_effect(self):
        for wizard in self:
            wizard.given_back = 0.0
            wizard.effect_html = False
            if not (wizard.order_id and wizard.start_date and wizard.end_date):
                continue
            now, after, wizard.given_back = wizard._schedules()
            order = wizard.order_id

            def cell(value):
                return Markup("<td>%s</td>") % value

            rows = []
            for index in range(max(len(now), len(after))):
                before = now[index] if index < len(now) else None
                later = after[index] if index < len(after) else None
                rows.append(Markup("<tr>%s%s%s%s</tr>") % (
                    cell(index + 1),
                    cell(format_date(self.env, before.invoice_date) if before else "-"),
                    cell(Markup("<strong>%s</strong>") % format_date(self.env, later.invoice_date) if later else "-"),
                    cell(order._recurring_period_label(later.start, later.end) if later else "-")))
            head = Markup("<tr><th>#</th><th>%s</th><th>%s</th><th>%s</th></tr>") % (
                self.env._("Invoice Date Now"), self.env._("With This Pause"), self.env._("Period With This Pause"))
            html = Markup('<table class="table table-sm o_recurring_pause_effect"><thead>%s</thead>'
                          "<tbody>%s</tbody></table>") % (head, Markup("").join(rows))
            if wizard.given_back:
                mode = order.recurring_plan_id.pause_unused_days
                text = self.env._(
                    "%(amount)s (untaxed) of paid days will be credited on a credit note.",
                    amount=format_amount(self.env, wizard.given_back, order.currency_id)) if mode == "credit" else \
                    self.env._("%(amount)s (untaxed) of paid days will be deducted from the first invoice after "
                               "the pause.", amount=format_amount(self.env, wizard.given_back, order.currency_id))
                html += Markup('<p class="text-warning">%s</p>') % escape(text)
            wizard.effect_html = html

    def action_confirm(self):
        self.ensure_one()
        pause = self.env["sale.recurring.pause"].create({
            "order_id": self.order_id.id,
            "start_date": self.start_date,
            "weeks": self.weeks,
            "reason_id": self.reason_id.id,
            "comment": self.comment,
            "requested_by": "user",
        })
        return pause.order_id._recurring_form_action() if pause else True
