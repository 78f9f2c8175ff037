from datetime import timedelta

from babel.dates import get_month_names

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date
from odoo.tools.misc import babel_locale_parse

from ..engine import periods
from .sale_recurring_plan import WEEKDAYS

RUNNING_STATES = ("progress", "to_renew", "paused")
MANAGER_GROUP = "sale_weekly_subscription.group_subscription_manager"


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # Field names carry the ``recurring_`` prefix: Odoo Enterprise's
    # sale_subscription and OCA's subscription modules extend sale.order too.
    recurring_plan_id = fields.Many2one(
        "sale.recurring.plan", string="Subscription Plan", index="btree_not_null",
        tracking=True, check_company=True,
        help="Makes this order a subscription billed at the plan's rhythm. A change on a "
             "running subscription applies from its next period not yet invoiced.")
    recurring_state = fields.Selection(
        [("draft", "Quotation"), ("progress", "In Progress"), ("to_renew", "To Renew"),
         ("paused", "Paused"), ("closed", "Closed"), ("cancel", "Cancelled")],
        string="Subscription Status", compute="_compute_recurring_state", store=True,
        readonly=False, index=True, tracking=True, copy=False)
    recurring_start_date = fields.Date(
        string="Start Date", default=fields.Date.context_today, tracking=True, copy=False,
        help="First day of service. The first period starts here; no invoice is dated "
             "before it.")
    recurring_send_weekday = fields.Selection(
        WEEKDAYS, string="Send Day", compute="_compute_recurring_send_weekday", store=True,
        readonly=False, tracking=True,
        help="Weekday on which this subscriber's invoices are dated and sent (week-based "
             "plans). A change applies from the next period not yet invoiced.")
    recurring_schedule_start = fields.Date(
        string="Schedule From", copy=False, readonly=True,
        help="Day from which the current plan and send day apply: the start date, or the "
             "first period not yet invoiced when the plan or send day last changed.")
    recurring_invoiced_until = fields.Date(
        string="Invoiced Until", copy=False, readonly=True,
        help="Last day covered by the subscription's invoices. The next period to invoice "
             "starts the day after.")
    recurring_end_date = fields.Date(
        string="Term End", copy=False, tracking=True,
        help="Last day of the current fixed term; empty for an open-ended subscription. "
             "A renewal extends it.")
    recurring_commitment_end_date = fields.Date(
        string="Committed Until", copy=False, readonly=True,
        help="The subscription cannot be closed before this day (minimum commitment).")
    recurring_close_date = fields.Date(
        string="Close Date", copy=False, tracking=True, readonly=True,
        help="Last day of service after a close. The last period is prorated by days.")
    recurring_close_reason_id = fields.Many2one(
        "sale.recurring.close.reason", string="Close Reason", copy=False, tracking=True,
        readonly=True)
    recurring_close_comment = fields.Text(string="Close Comment", copy=False, readonly=True)
    recurring_last_date = fields.Date(
        string="End Date", compute="_compute_recurring_last_date", store=True,
        help="Last day of service: the close date, else the term end.")

    recurring_next_period_start = fields.Date(
        string="Next Period Start", compute="_compute_recurring_schedule", store=True,
        help="First day of the next period not yet invoiced.")
    recurring_next_period_end = fields.Date(
        string="Next Period End", compute="_compute_recurring_schedule", store=True)
    recurring_next_invoice_date = fields.Date(
        string="Next Invoice", compute="_compute_recurring_schedule", store=True, index=True,
        help="Date of the next invoice: the send day of the next period not yet invoiced. "
             "Empty once every period up to the end has been invoiced.")
    recurring_current_period_start = fields.Date(
        string="Current Period Start", compute="_compute_recurring_current_period")
    recurring_current_period_end = fields.Date(
        string="Current Period End", compute="_compute_recurring_current_period")
    recurring_billing_unit = fields.Selection(related="recurring_plan_id.billing_unit")

    # -- computes ------------------------------------------------------------

    @api.depends("recurring_plan_id", "state")
    def _compute_recurring_state(self):
        for order in self:
            if not order.recurring_plan_id:
                order.recurring_state = False
            elif order.state in ("draft", "sent"):
                order.recurring_state = "draft"
            elif order.state == "cancel":
                order.recurring_state = "cancel"
            elif order.recurring_state in (False, "draft", "cancel"):
                order.recurring_state = "progress"

    @api.depends("recurring_plan_id")
    def _compute_recurring_send_weekday(self):
        for order in self:
            if order.recurring_plan_id:
                order.recurring_send_weekday = order.recurring_plan_id.send_weekday

    @api.depends("recurring_end_date", "recurring_close_date")
    def _compute_recurring_last_date(self):
        for order in self:
            ends = [day for day in (order.recurring_end_date, order.recurring_close_date) if day]
            order.recurring_last_date = min(ends) if ends else False

    def _recurring_schedule_args(self):
        """Arguments of the engine's schedule functions for this subscription."""
        self.ensure_one()
        return {
            "rhythm": self.recurring_plan_id._rhythm(self.recurring_send_weekday),
            "segment_start": self.recurring_schedule_start or self.recurring_start_date,
            "end": self.recurring_last_date or None,
            "subscription_start": self.recurring_start_date,
        }

    @api.depends(
        "recurring_plan_id.billing_unit", "recurring_plan_id.billing_interval",
        "recurring_plan_id.billing_timing", "recurring_plan_id.anchoring",
        "recurring_send_weekday", "recurring_start_date", "recurring_schedule_start",
        "recurring_invoiced_until", "recurring_last_date", "recurring_state")
    def _compute_recurring_schedule(self):
        for order in self:
            period = None
            if order.recurring_plan_id and order.recurring_start_date \
                    and order.recurring_state not in ("closed", "cancel"):
                period = periods.next_period(
                    invoiced_until=order.recurring_invoiced_until or None,
                    **order._recurring_schedule_args())
            order.recurring_next_period_start = period and period.start
            order.recurring_next_period_end = period and period.end
            order.recurring_next_invoice_date = period and period.invoice_date

    @api.depends_context("tz")
    @api.depends("recurring_next_period_start")
    def _compute_recurring_current_period(self):
        today = fields.Date.context_today(self)
        for order in self:
            period = None
            if order.recurring_plan_id and order.recurring_start_date:
                period = periods.period_on(day=today, **order._recurring_schedule_args())
            order.recurring_current_period_start = period and period.start
            order.recurring_current_period_end = period and period.end

    # -- constraints ---------------------------------------------------------

    @api.constrains("recurring_plan_id", "recurring_start_date")
    def _check_recurring_start_date(self):
        for order in self.filtered("recurring_plan_id"):
            if not order.recurring_start_date:
                raise ValidationError(self.env._(
                    "Subscription %(order)s: the field 'Start Date' is required.",
                    order=order.display_name))

    # -- write: plan and send-day changes apply from the next period ---------

    def write(self, vals):
        reanchor = {}
        if "recurring_plan_id" in vals or "recurring_send_weekday" in vals:
            for order in self.filtered(lambda o: o.recurring_state in RUNNING_STATES):
                if order.recurring_next_period_start:
                    reanchor[order] = order.recurring_next_period_start
        result = super().write(vals)
        for order, day in reanchor.items():
            if order.recurring_schedule_start != day:
                super(SaleOrder, order).write({"recurring_schedule_start": day})
            order.message_post(body=self.env._(
                "The new plan and send day apply from the period starting %(day)s.",
                day=format_date(self.env, day)))
        return result

    # -- life cycle ----------------------------------------------------------

    def _action_confirm(self):
        result = super()._action_confirm()
        self.filtered("recurring_plan_id")._recurring_start()
        return result

    def _recurring_start(self):
        """Set the terms of subscriptions being confirmed."""
        for order in self:
            if not order.order_line.filtered(lambda line: not line.display_type):
                raise UserError(self.env._(
                    "Subscription %(order)s has no product lines: add what it bills every "
                    "period.", order=order.display_name))
            plan = order.recurring_plan_id
            rhythm = plan._rhythm(order.recurring_send_weekday)
            vals = {"recurring_schedule_start": order.recurring_start_date}
            if plan.duration_type == "fixed":
                vals["recurring_end_date"] = periods.term_end(
                    rhythm, order.recurring_start_date, plan.duration_periods)
            elif plan.duration_type == "commitment":
                vals["recurring_commitment_end_date"] = periods.term_end(
                    rhythm, order.recurring_start_date, plan.duration_periods)
            order.write(vals)

    def _recurring_check_running(self):
        for order in self:
            if order.state != "sale" or not order.recurring_plan_id:
                raise UserError(self.env._(
                    "%(order)s is not a confirmed subscription.", order=order.display_name))

    def _recurring_earliest_close_date(self):
        """First day the customer may end the service: notice, commitment and start allowing."""
        self.ensure_one()
        plan = self.recurring_plan_id
        today = fields.Date.context_today(self)
        earliest = periods.add_notice(today, plan.notice_quantity, plan.notice_unit)
        for day in (self.recurring_commitment_end_date, self.recurring_start_date):
            if day and day > earliest:
                earliest = day
        return earliest

    def _recurring_close(self, close_date, reason, comment=False):
        """Close on ``close_date`` (last day of service); now when that day has come."""
        self._recurring_check_running()
        today = fields.Date.context_today(self)
        vals = {
            "recurring_close_date": close_date,
            "recurring_close_reason_id": reason.id,
            "recurring_close_comment": comment,
        }
        if close_date <= today:
            vals["recurring_state"] = "closed"
        self.write(vals)
        self.activity_unlink(["mail.mail_activity_data_todo"])

    def action_recurring_close(self):
        self.ensure_one()
        self._recurring_check_running()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Close Subscription"),
            "res_model": "sale.order.recurring.close",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_recurring_reopen(self):
        for order in self:
            if order.recurring_state != "closed" and not order.recurring_close_date:
                raise UserError(self.env._(
                    "Subscription %(order)s is not closed.", order=order.display_name))
        self._recurring_check_running()
        self.write({
            "recurring_state": "progress",
            "recurring_close_date": False,
            "recurring_close_reason_id": False,
            "recurring_close_comment": False,
        })
        for order in self:
            order.message_post(body=self.env._("Subscription reopened."))
        self._recurring_update_renewals()
        return True

    def action_recurring_renew(self):
        """Extend a fixed term by the plan's renewal length (manual renewal)."""
        self._recurring_check_running()
        for order in self:
            if not order.recurring_end_date:
                raise UserError(self.env._(
                    "Subscription %(order)s has no term end to renew.", order=order.display_name))
            if order.recurring_close_date:
                raise UserError(self.env._(
                    "Subscription %(order)s is being closed: reopen it before renewing.",
                    order=order.display_name))
        self._recurring_renew()
        return True

    def _recurring_renew(self):
        for order in self:
            plan = order.recurring_plan_id
            old_end = order.recurring_end_date
            rhythm = plan._rhythm(order.recurring_send_weekday)
            extension = periods.Rhythm(rhythm.unit, rhythm.interval, rhythm.timing,
                                       rhythm.send_weekday, periods.FROM_START)
            new_end = periods.term_end(extension, old_end + periods.ONE_DAY, plan.renewal_periods)
            vals = {"recurring_end_date": new_end}
            if order.recurring_state == "to_renew":
                vals["recurring_state"] = "progress"
            order.write(vals)
            order.activity_feedback(["mail.mail_activity_data_todo"])
            order.message_post(body=self.env._(
                "Renewed: the term now ends on %(new)s instead of %(old)s.",
                new=format_date(self.env, new_end), old=format_date(self.env, old_end)))

    def action_recurring_preview(self):
        self.ensure_one()
        if not self.recurring_plan_id:
            raise UserError(self.env._("%(order)s has no subscription plan.", order=self.display_name))
        preview = self.env["sale.order.recurring.preview"].create({"order_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Upcoming Invoices"),
            "res_model": "sale.order.recurring.preview",
            "res_id": preview.id,
            "view_mode": "form",
            "target": "new",
        }

    # -- schedule helpers ----------------------------------------------------

    def _recurring_preview_vals(self, count=6):
        """The next ``count`` invoices: date, period, label and untaxed amount."""
        self.ensure_one()
        if not self.recurring_plan_id or not self.recurring_start_date:
            return []
        upcoming = periods.periods_after(
            invoiced_until=self.recurring_invoiced_until or None, limit=count,
            **self._recurring_schedule_args())
        return [{
            "invoice_date": period.invoice_date,
            "period_start": period.start,
            "period_end": period.end,
            "label": self._recurring_period_label(period.start, period.end),
            "is_prorated": period.is_prorated,
            "amount_untaxed": self._recurring_period_amount(period),
        } for period in upcoming]

    def _recurring_period_amount(self, period):
        """Untaxed amount the order bills for ``period``, prorated and rounded per line."""
        self.ensure_one()
        rounding = self.currency_id.rounding
        return float(sum(
            periods.period_amount(line.price_subtotal, period, rounding)
            for line in self.order_line if not line.display_type))

    def _recurring_period_label(self, start, end):
        """'week 49–50, 30 Nov – 13 Dec 2026' in the partner's language."""
        lang = self.partner_id.lang or self.env.lang or "en_US"
        env = self.with_context(lang=lang).env
        names = get_month_names("abbreviated", locale=babel_locale_parse(lang))
        months = tuple(names[number] for number in range(1, 13))
        return periods.period_label(
            start, end, unit=self.recurring_plan_id.billing_unit, months=months,
            week_word=env._("week"))

    # -- plan lines ----------------------------------------------------------

    @api.onchange("recurring_plan_id")
    def _onchange_recurring_plan_id(self):
        """A new subscription gets the plan's products."""
        if self.recurring_plan_id and self.state in ("draft", "sent") \
                and not self.order_line.filtered(lambda line: not line.display_type):
            self.order_line = [fields.Command.create(line._prepare_order_line_vals())
                               for line in self.recurring_plan_id.line_ids]

    # -- scheduled work ------------------------------------------------------

    def _recurring_update_renewals(self):
        """Renewals that are due: automatic ones extend, manual ones wait for the salesperson."""
        today = fields.Date.context_today(self)
        for order in self:
            plan = order.recurring_plan_id
            if order.recurring_state not in ("progress", "to_renew") or order.recurring_close_date \
                    or not order.recurring_end_date or plan.renewal_type == "none":
                continue
            due = order.recurring_end_date - timedelta(weeks=plan.renewal_notice_weeks)
            if due > today:
                continue
            if plan.renewal_type == "auto":
                order._recurring_renew()
            elif order.recurring_state == "progress":
                order.recurring_state = "to_renew"
                order.activity_schedule(
                    "mail.mail_activity_data_todo",
                    date_deadline=min(due + timedelta(days=7), order.recurring_end_date),
                    summary=self.env._("Renew the subscription"),
                    note=self.env._("The term of %(order)s ends on %(end)s.",
                                    order=order.display_name,
                                    end=format_date(self.env, order.recurring_end_date)),
                    user_id=order.user_id.id or self.env.uid)

    def _recurring_close_due(self):
        """Subscriptions whose close date has passed are closed."""
        today = fields.Date.context_today(self)
        ended = self.filtered(lambda o: o.recurring_close_date and o.recurring_close_date < today)
        ended.write({"recurring_state": "closed"})

    @api.model
    def _cron_recurring_terms(self):
        """Daily: close what has ended, renew what is due."""
        base = [("state", "=", "sale"), ("recurring_plan_id", "!=", False)]
        today = fields.Date.context_today(self)
        closing = self.search([
            *base, ("recurring_state", "in", RUNNING_STATES), ("recurring_close_date", "<", today)])
        closing._recurring_close_due()
        renewing = self.search([
            *base, ("recurring_state", "in", ("progress", "to_renew")), ("recurring_end_date", "!=", False),
            ("recurring_close_date", "=", False), ("recurring_plan_id.renewal_type", "!=", "none")])
        renewing._recurring_update_renewals()
