import logging
import random
import time
from collections import defaultdict
from datetime import datetime, timedelta

import pytz
from babel.dates import get_month_names
from psycopg2.extensions import TransactionRollbackError

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tools import SQL, format_date
from odoo.tools.misc import babel_locale_parse

from ..engine import periods
from .sale_recurring_plan import WEEKDAYS

_logger = logging.getLogger(__name__)

RUNNING_STATES = ("progress", "to_renew", "paused")
# A closed subscription still bills the periods it was in service but not yet invoiced
# (e.g. its last period in arrears).
# A paused one too: the period cut before its pause may be billed in arrears during
# it, the one after it in advance; the schedule itself never bills a paused day.
BILLABLE_STATES = ("progress", "to_renew", "paused", "closed")
BATCH_SIZE = 100
MAX_CONFLICTS = 50
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
        help="Last day of service after a close. A last period not yet invoiced is billed "
             "prorated by days; one already invoiced in advance is not credited automatically.")
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
    recurring_invoice_ids = fields.One2many(
        "account.move", "recurring_order_id", string="Subscription Invoices", readonly=True)
    recurring_invoice_count = fields.Integer(compute="_compute_recurring_invoice_count")
    recurring_pause_ids = fields.One2many(
        "sale.recurring.pause", "order_id", string="Pauses", copy=False)
    recurring_pause_count = fields.Integer(compute="_compute_recurring_pause_count")
    recurring_resume_date = fields.Date(
        string="Resumes On", compute="_compute_recurring_pause_dates", store=True,
        help="While paused: the first day of service after the running pause.")
    recurring_next_pause_date = fields.Date(
        string="Next Pause", compute="_compute_recurring_pause_dates", store=True,
        help="First day of the next scheduled pause.")
    recurring_mandate_id = fields.Many2one(
        "sale.recurring.mandate", string="Direct Debit Mandate", copy=False, check_company=True, tracking=True,
        domain="[('state', 'in', ('draft', 'active'))]",
        help="The SEPA mandate the invoices of this subscription are collected with: each invoice carries "
             "it and its payment method is SEPA direct debit.")
    recurring_billing_error = fields.Text(
        string="Billing Error", copy=False, readonly=True,
        help="Why the billing run could not invoice this subscription last time. It is tried "
             "again on every run, and the error clears once an invoice is made.")

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
        """The plan's day on a quotation; a running subscription keeps its subscriber's day."""
        for order in self:
            if order.recurring_plan_id and (not order.recurring_send_weekday or order.state in ("draft", "sent")):
                order.recurring_send_weekday = order.recurring_plan_id.send_weekday

    def _compute_recurring_invoice_count(self):
        counts = dict(self.env["account.move"]._read_group(
            [("recurring_order_id", "in", self.ids)], ["recurring_order_id"], ["__count"]))
        for order in self:
            order.recurring_invoice_count = counts.get(order, 0)

    def _compute_recurring_pause_count(self):
        counts = dict(self.env["sale.recurring.pause"]._read_group(
            [("order_id", "in", self.ids)], ["order_id"], ["__count"]))
        for order in self:
            order.recurring_pause_count = counts.get(order, 0)

    @api.depends("recurring_pause_ids.state", "recurring_pause_ids.start_date", "recurring_pause_ids.end_date")
    def _compute_recurring_pause_dates(self):
        for order in self:
            running = order.recurring_pause_ids.filtered(lambda p: p.state == "running")[:1]
            scheduled = order.recurring_pause_ids.filtered(lambda p: p.state == "scheduled").sorted("start_date")[:1]
            order.recurring_resume_date = running.resume_date
            order.recurring_next_pause_date = scheduled.start_date

    def _recurring_next_boundary(self, day=None):
        """Where a pause starts by default: the first period boundary from ``day`` (today)
        that is not already invoiced, so that no amount changes."""
        self.ensure_one()
        day = day or self._recurring_today()
        if self.recurring_invoiced_until and self.recurring_invoiced_until >= day:
            day = self.recurring_invoiced_until + timedelta(days=1)
        args = self._recurring_schedule_args()
        args.pop("end")
        return periods.next_boundary(day=day, **args)

    def _recurring_pauses(self):
        """The engine's view of the pauses that hold (scheduled, running or done)."""
        return tuple(periods.Pause(pause.start_date, pause.end_date)
                     for pause in self.recurring_pause_ids
                     if pause.state != "cancel" and pause.start_date and pause.end_date)

    @api.depends("recurring_next_invoice_date", "recurring_state")
    def _compute_invoice_status(self):
        """A subscription is 'to invoice' while a period is due, 'invoiced' otherwise."""
        recurring = self.filtered(lambda o: o.recurring_plan_id and o.state == "sale")
        result = super(SaleOrder, self - recurring)._compute_invoice_status()
        for order in recurring:
            today = order._recurring_today()
            if order.recurring_next_invoice_date and order.recurring_next_invoice_date <= today \
                    and order.recurring_state in BILLABLE_STATES:
                order.invoice_status = "to invoice"
            elif order.recurring_invoiced_until:
                order.invoice_status = "invoiced"
            else:
                order.invoice_status = "no"
        return result

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
            "pauses": self._recurring_pauses(),
        }

    @api.depends(
        "recurring_plan_id.billing_unit", "recurring_plan_id.billing_interval",
        "recurring_plan_id.billing_timing", "recurring_plan_id.anchoring",
        "recurring_send_weekday", "recurring_start_date", "recurring_schedule_start",
        "recurring_invoiced_until", "recurring_last_date", "recurring_state",
        "recurring_pause_ids.state", "recurring_pause_ids.start_date", "recurring_pause_ids.end_date")
    def _compute_recurring_schedule(self):
        for order in self:
            period = None
            if order.recurring_plan_id and order.recurring_start_date \
                    and order.recurring_state != "cancel":
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
        if "recurring_plan_id" in vals:
            self._recurring_check_plan_change(vals["recurring_plan_id"])
        if "recurring_plan_id" in vals or "recurring_send_weekday" in vals:
            for order in self.filtered(lambda o: o.recurring_state in RUNNING_STATES):
                changed = ("recurring_plan_id" in vals and order.recurring_plan_id.id != vals["recurring_plan_id"]) \
                    or ("recurring_send_weekday" in vals
                        and order.recurring_send_weekday != vals["recurring_send_weekday"])
                if changed and order.recurring_next_period_start:
                    reanchor[order] = order.recurring_next_period_start
        result = super().write(vals)
        for order, day in reanchor.items():
            if order.recurring_schedule_start != day:
                super(SaleOrder, order).write({"recurring_schedule_start": day})
            order.message_post(body=self.env._(
                "The new plan and send day apply from the period starting %(day)s.",
                day=format_date(self.env, day)))
        return result

    def _recurring_check_plan_change(self, plan_id):
        """A confirmed order cannot become a subscription, nor stop being one, by an edit."""
        for order in self.filtered(lambda o: o.state == "sale"):
            if bool(order.recurring_plan_id) != bool(plan_id):
                raise UserError(self.env._(
                    "Order %(order)s is confirmed: the field 'Subscription Plan' can be changed to "
                    "another plan, but not added or removed. Close the subscription, or create a new "
                    "one.", order=order.display_name))

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
        later = self.recurring_pause_ids.filtered(lambda p: p.state == "scheduled" and p.start_date > close_date)
        later.action_cancel()
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
        for order in self:
            order._recurring_reopen()
        self._recurring_update_renewals()
        return True

    def _recurring_reopen(self):
        """Reopen.  When the last day of service has passed and every period up to it is
        invoiced, billing resumes today: the days it was closed are not billed."""
        self.ensure_one()
        today = self._recurring_today()
        last = self.recurring_last_date
        vals = {
            "recurring_state": "progress",
            "recurring_close_date": False,
            "recurring_close_reason_id": False,
            "recurring_close_comment": False,
        }
        resumes = last and last < today and not self.recurring_next_invoice_date
        if resumes:
            vals.update(recurring_schedule_start=today, recurring_invoiced_until=today - timedelta(days=1))
        self.write(vals)
        if resumes:
            self.message_post(body=self.env._(
                "Subscription reopened: billing resumes on %(day)s; the days since %(last)s are not billed.",
                day=format_date(self.env, today), last=format_date(self.env, last)))
        else:
            self.message_post(body=self.env._("Subscription reopened."))

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
            args = order._recurring_schedule_args()
            new_end = periods.extend_term(args["rhythm"], args["segment_start"], old_end, plan.renewal_periods,
                                          pauses=args["pauses"])
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
        args = self._recurring_schedule_args()
        upcoming = periods.shifted_invoice_dates(
            invoiced_until=self.recurring_invoiced_until or None, count=count, **args)
        return [{
            "invoice_date": period.invoice_date,
            "invoice_date_unpaused": before if args["pauses"] and before != period.invoice_date else False,
            "period_start": period.start,
            "period_end": period.end,
            "label": self._recurring_period_label(period.start, period.end),
            "is_prorated": period.is_prorated,
            "amount_untaxed": self._recurring_period_amount(period),
        } for period, before in upcoming]

    def _recurring_period_amount(self, period):
        """Untaxed amount the order bills for ``period``, prorated and rounded per line."""
        self.ensure_one()
        rounding = self.currency_id.rounding
        return float(sum(
            periods.period_amount(line.price_subtotal, period, rounding)
            for line in self.order_line if not line.display_type))

    def _recurring_next_invoice_total(self):
        """Total with taxes of the next invoice, as the billing run will compute it; 0 when none."""
        self.ensure_one()
        if not self.recurring_next_period_start:
            return 0.0
        period = periods.next_period(invoiced_until=self.recurring_invoiced_until or None,
                                     **self._recurring_schedule_args())
        total = 0.0
        for line in self.order_line.filtered(lambda line: not line.display_type):
            vals = line._prepare_recurring_invoice_line_vals(period, "")
            price = vals["price_unit"] * (1 - (vals["discount"] or 0.0) / 100)
            taxes = line.tax_ids.compute_all(price, self.currency_id, vals["quantity"], line.product_id,
                                             self.partner_invoice_id)
            total += taxes["total_included"]
        for pause in self._recurring_deducting_pauses(period):
            for vals in pause.carry_over_lines:
                taxes = self.env["account.tax"].browse(vals["tax_ids"][0][2]).compute_all(
                    vals["price_unit"], self.currency_id, 1.0, partner=self.partner_invoice_id)
                total += taxes["total_included"]
        return self.currency_id.round(max(total, 0.0))

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
        for order in self:
            today = order._recurring_today()
            plan = order.recurring_plan_id
            if order.recurring_state not in ("progress", "to_renew", "paused") or order.recurring_close_date \
                    or not order.recurring_end_date or plan.renewal_type == "none":
                continue
            due = order.recurring_end_date - timedelta(weeks=plan.renewal_notice_weeks)
            if due > today:
                continue
            if plan.renewal_type == "auto":
                order._recurring_renew()
            elif order.recurring_state == "progress":
                # a paused one is asked for once it resumes
                order.recurring_state = "to_renew"
                order.activity_schedule(
                    "mail.mail_activity_data_todo",
                    date_deadline=min(due + timedelta(days=7), order.recurring_end_date),
                    summary=self.env._("Renew the subscription"),
                    note=self.env._("The term of %(order)s ends on %(end)s.",
                                    order=order.display_name,
                                    end=format_date(self.env, order.recurring_end_date)),
                    user_id=order.user_id.id or self.env.uid)

    def _recurring_close_ended(self):
        """Close the subscriptions whose last day of service has passed.

        A closed subscription still bills the periods it was in service for (its
        last period in arrears, say): the billing run includes closed ones.
        """
        ended = self.filtered(lambda o: o.recurring_state in ("progress", "to_renew", "paused")
                              and o.recurring_last_date and o.recurring_last_date < o._recurring_today())
        end_of_term = self.env.ref("sale_weekly_subscription.close_reason_end_of_term", raise_if_not_found=False)
        (ended - ended.filtered("recurring_close_reason_id")).recurring_close_reason_id = end_of_term
        ended.write({"recurring_state": "closed"})
        ended.activity_unlink(["mail.mail_activity_data_todo"])
        # deductions waiting for an invoice that will never come are credited
        ended.filtered(lambda o: not o.recurring_next_invoice_date).recurring_pause_ids._credit_carry_over()
        for order in ended:
            order.message_post(body=self.env._(
                "Subscription closed: its last day of service was %(day)s.",
                day=format_date(self.env, order.recurring_last_date)))

    @api.model
    def _cron_recurring_terms(self):
        """Daily: renew what is due, then close what has ended."""
        base = [("state", "=", "sale"), ("recurring_plan_id", "!=", False),
                ("recurring_state", "in", ("progress", "to_renew", "paused"))]
        renewing = self.search([
            *base, ("recurring_end_date", "!=", False), ("recurring_close_date", "=", False),
            ("recurring_plan_id.renewal_type", "!=", "none")])
        renewing._recurring_update_renewals()
        ended = self.search([*base, ("recurring_last_date", "<", fields.Date.context_today(self))])
        ended._recurring_close_ended()
        # the stored invoice status does not see the days go by: refresh the ones now due
        self.search([*self._recurring_due_domain(), ("invoice_status", "!=", "to invoice")]
                    )._compute_invoice_status()

    # -- billing run ---------------------------------------------------------

    def _recurring_now(self):
        """Now in the subscription company's time zone (the company address's), else the user's."""
        company = self.company_id or self.env.company
        tz = company.partner_id.tz or self.env.user.tz or "UTC"
        return datetime.now(pytz.timezone(tz))

    def _recurring_today(self):
        return self._recurring_now().date()

    @api.model
    def _recurring_company_todays(self):
        companies = self.env["res.company"].browse(
            company.id for [company] in self.sudo()._read_group(
                [("state", "=", "sale"), ("recurring_plan_id", "!=", False)], ["company_id"]))
        return {company.id: self.with_company(company).browse()._recurring_billing_day() for company in companies}

    def _recurring_billing_day(self):
        """The day the billing run bills up to: today in the company's time zone, or yesterday
        before the company's billing hour (invoices go out from that hour on)."""
        now = self._recurring_now()
        early = now.hour < (self.company_id or self.env.company).recurring_billing_hour
        return now.date() - timedelta(days=1) if early else now.date()

    @api.model
    def default_get(self, fields_list):
        """New subscriptions, from the subscriptions' menu, start with the company's default plan."""
        values = super().default_get(fields_list)
        plan = self.env.company.recurring_default_plan_id
        if self.env.context.get("recurring_subscription") and plan and "recurring_plan_id" in fields_list \
                and not values.get("recurring_plan_id"):
            values["recurring_plan_id"] = plan.id
        return values

    @api.model
    def _recurring_lock_due(self, limit=BATCH_SIZE, order_ids=None, skip_ids=(), todays=None):
        """Lock up to ``limit`` due subscriptions that no other worker holds, and return them.

        ``FOR UPDATE SKIP LOCKED`` lets parallel workers share the work: each one
        takes rows the others have not locked, and the lock lasts until its batch
        is committed with the invoices and the new "Invoiced Until".
        """
        todays = todays or self._recurring_company_todays()
        query = SQL(
            """
            SELECT so.id
              FROM sale_order so
              JOIN unnest(%(companies)s::int[], %(days)s::date[]) AS t(company_id, today)
                ON t.company_id = so.company_id
             WHERE so.state = 'sale'
               AND so.recurring_plan_id IS NOT NULL
               AND so.recurring_state IN %(states)s
               AND so.recurring_next_invoice_date <= t.today
               %(only)s
               AND NOT (so.id = ANY(%(skip)s::int[]))
          ORDER BY so.recurring_next_invoice_date, so.id
             LIMIT %(limit)s
               FOR UPDATE OF so SKIP LOCKED
            """,
            companies=list(todays), days=list(todays.values()), states=BILLABLE_STATES,
            only=SQL("AND so.id IN %s", tuple(order_ids)) if order_ids else SQL(), skip=list(skip_ids),
            limit=limit)
        self.env.cr.execute(query)
        ids = [row[0] for row in self.env.cr.fetchall()]
        orders = self.browse(ids)
        # another worker may have billed them since this transaction read them
        orders.invalidate_recordset()
        return orders

    @api.model
    def _cron_recurring_billing(self, batch_size=BATCH_SIZE):
        """Scheduled billing run: invoice every due period exactly once, batch by batch."""
        cron = self.env["ir.cron"]
        done = 0
        todays = self._recurring_company_todays()
        skipped = set()  # failed or not billed: still due, so taken once per run only
        conflicts = 0
        cron._commit_progress(remaining=self.search_count(self._recurring_due_domain()))
        while conflicts <= MAX_CONFLICTS:
            orders = self.browse()
            try:
                orders = self._recurring_lock_due(batch_size, skip_ids=skipped, todays=todays)
                if not orders:
                    break
                billed = orders._recurring_bill_due(todays).recurring_order_id
                self.env.flush_all()
            except TransactionRollbackError:
                # Another worker committed a row this transaction also changes (the
                # customer's rank, a sequence): roll back and take the batch again.
                self.env.cr.rollback()
                conflicts += 1
                time.sleep(random.uniform(0.01, 0.1) * min(conflicts, 10))
                continue
            except Exception:  # isolated below, one subscription at a time
                self.env.cr.rollback()
                if not orders:
                    raise
                _logger.info("Billing batch of %s subscriptions failed; retrying one by one", len(orders))
                billed = orders._recurring_bill_one_by_one(todays)
            skipped.update((orders - billed).ids)
            done += len(orders)
            conflicts = 0  # only conflicts in a row end the run
            if not cron._commit_progress(len(orders)):
                break
        return done

    def _recurring_bill_one_by_one(self, todays):
        """After a failed batch: each subscription in its own transaction, failures recorded.

        A conflict with another worker is no failure: that subscription is left for
        the next run.  Returns the subscriptions billed.
        """
        cron = self.env["ir.cron"]
        billed = []
        for order_id in self.ids:
            try:
                order = self._recurring_lock_due(1, order_ids=[order_id], todays=todays)
                if order and order._recurring_bill_due(todays):
                    billed.append(order_id)
                self.env.flush_all()
            except TransactionRollbackError:
                self.env.cr.rollback()
            except Exception as error:  # stored on the subscription, retried next run
                self.env.cr.rollback()
                message = self._recurring_error_text(error)
                try:
                    # still due and not taken by another worker in the meantime
                    order = self._recurring_lock_due(1, order_ids=[order_id], todays=todays)
                    order._recurring_set_billing_errors({order: message} if order else {})
                    self.env.flush_all()
                except TransactionRollbackError:
                    self.env.cr.rollback()
            cron._commit_progress(0)
        return self.browse(billed)

    @api.model
    def _recurring_due_domain(self):
        return [("state", "=", "sale"), ("recurring_plan_id", "!=", False),
                ("recurring_state", "in", BILLABLE_STATES),
                ("recurring_next_invoice_date", "<=", fields.Date.context_today(self))]

    def _recurring_due_periods(self, today):
        """The periods of this subscription whose invoice date has come."""
        self.ensure_one()
        due = []
        for period in periods.periods_after(invoiced_until=self.recurring_invoiced_until or None,
                                            **self._recurring_schedule_args()):
            if period.invoice_date > today:
                break
            due.append(period)
        return due

    def _recurring_bill_due(self, todays):
        """Invoice every due period of these (locked) subscriptions; post and send per plan.

        ``todays`` maps each company id to its today (``_recurring_company_todays``).
        """
        orders = self.with_context(recurring_journals={})  # one journal look-up per company
        work = {}
        for order in orders:
            due = order._recurring_due_periods(todays[order.company_id.id])
            if due:
                work[order] = due
        return orders._recurring_make_invoices(work, todays)

    def _recurring_make_invoices(self, work, todays, invoice_date=None):
        """Create, post and send the invoices of ``work`` ({order: [periods]}) in batched calls.

        ``invoice_date`` forces the date of every invoice (the "Invoice Now" button).
        """
        errors = {}
        vals_list, owners = [], []
        carried = set()  # pauses deducted by an invoice of this call already
        for order, due in work.items():
            problem = order._recurring_check_invoiceable()
            if problem:
                errors[order] = problem
                continue
            for period in due:
                vals = order._prepare_recurring_invoice_vals(period, todays[order.company_id.id], carried)
                if invoice_date:
                    vals["invoice_date"] = invoice_date
                vals_list.append(vals)
                owners.append((order, period))
        Move = self.env["account.move"].with_context(
            tracking_disable=True, mail_create_nolog=True, mail_notrack=True, mail_auto_subscribe_no_notify=True)
        moves = Move.create(vals_list) if vals_list else Move
        billed = self.browse(list(dict.fromkeys(order.id for order, _period in owners)))
        to_post = moves.filtered(lambda move: move.recurring_order_id.recurring_plan_id.auto_post)
        if to_post:
            to_post._post(soft=False)
        self._recurring_set_invoiced_until(owners)
        self._recurring_set_billing_errors(errors)
        billed._recurring_clear_billing_errors()
        to_post._recurring_send()
        billed._recurring_close_ended()
        return moves

    def _recurring_check_invoiceable(self):
        """Why an invoice of this subscription cannot be made (a translated message), or None."""
        self.ensure_one()
        company = self.company_id
        partner = self.partner_invoice_id
        if not partner:
            return self.env._("Subscription %(order)s: the field 'Invoice Address' is empty.",
                              order=self.name)
        journal = self._recurring_journal()
        if not journal:
            return self.env._("Subscription %(order)s: no sales journal in company %(company)s.",
                              order=self.name, company=company.name)
        allowed_companies = company.parent_ids
        for line in self.order_line.filtered(lambda line: not line.display_type):
            product = line.product_id
            if not product.active:
                return self.env._(
                    "Subscription %(order)s: the product '%(product)s' is archived; replace it on "
                    "the line or restore it.", order=self.name, product=product.display_name)
            accounts = product.product_tmpl_id.with_company(company)._get_product_accounts()
            if not (accounts.get("income") or journal.default_account_id):
                return self.env._(
                    "Subscription %(order)s: the product '%(product)s' has no income account "
                    "(field 'Income Account' of the product or its category).",
                    order=self.name, product=product.display_name)
            foreign = line.tax_ids.filtered(lambda tax: tax.company_id not in allowed_companies)
            if foreign:
                return self.env._(
                    "Subscription %(order)s: the tax '%(tax)s' on '%(product)s' belongs to "
                    "another company (field 'Taxes' of the line).",
                    order=self.name, tax=foreign[0].display_name, product=product.display_name)
        return None

    def _recurring_journal(self):
        """The plan's sales journal when it belongs to the subscription's company, else the
        company's first sales journal (looked up once per company in a run)."""
        self.ensure_one()
        company = self.company_id
        journal = self.recurring_plan_id.journal_id
        if journal and journal.company_id in company.parent_ids:
            return journal
        cache = self.env.context.get("recurring_journals")
        if cache is not None and company.id in cache:
            return self.env["account.journal"].browse(cache[company.id])
        journal = self.env["account.journal"].search([
            *self.env["account.journal"]._check_company_domain(company), ("type", "=", "sale")], limit=1)
        if cache is not None:
            cache[company.id] = journal.id
        return journal

    def _recurring_deducting_pauses(self, period, carried=()):
        """The pauses whose carried-over paid days the invoice of ``period`` deducts, oldest first,
        as long as the invoice stays at or above zero (what does not fit waits for the next one);
        ``carried``: ids of pauses already deducted in the same billing batch."""
        self.ensure_one()
        pending = self.recurring_pause_ids.filtered(
            lambda pause: pause.carry_over_lines and not pause.carry_over_move_id and pause.state != "cancel"
            and pause.end_date < period.start and pause.id not in carried).sorted("start_date")
        deducting = self.recurring_pause_ids.browse()
        if not pending:
            return deducting
        room = self._recurring_period_amount(period)
        for pause in pending:
            if pause.carry_over_amount <= room:
                deducting |= pause
                room -= pause.carry_over_amount
        return deducting

    def _prepare_recurring_invoice_vals(self, period, today, carried=None):
        """Values of the customer invoice of one period.

        The first invoice after a pause whose unused paid days are carried over
        deducts them; ``carried`` collects the pauses deducted in the same batch.
        """
        self.ensure_one()
        carried = set() if carried is None else carried
        deducting = self._recurring_deducting_pauses(period, carried)
        carried.update(deducting.ids)
        label = self._recurring_period_label(period.start, period.end)
        policy = self.company_id.recurring_invoice_date_policy
        return {
            "move_type": "out_invoice",
            "company_id": self.company_id.id,
            "journal_id": self._recurring_journal().id,
            "partner_id": self.partner_invoice_id.id,
            "partner_shipping_id": self.partner_shipping_id.id,
            "currency_id": self.currency_id.id,
            "invoice_date": today if policy == "run" else period.invoice_date,
            "invoice_payment_term_id": self.payment_term_id.id,
            "fiscal_position_id": self.fiscal_position_id.id,
            "invoice_user_id": self.user_id.id,
            "team_id": self.team_id.id,
            "invoice_origin": self.name,
            "ref": self.client_order_ref or False,
            "narration": self.note,
            "recurring_order_id": self.id,
            "recurring_period_start": period.start,
            "recurring_period_end": period.end,
            "invoice_line_ids": [
                Command.create(line._prepare_recurring_invoice_line_vals(period, label))
                for line in self.order_line if not line.display_type
            ] + [
                Command.create({**vals, "sequence": 1000})
                for pause in deducting for vals in pause.carry_over_lines
            ],
            "recurring_carry_over_pause_ids": [Command.link(pause.id) for pause in deducting],
        } | self._recurring_sepa_vals()

    def _recurring_sepa_vals(self):
        """An invoice collected by direct debit carries the active mandate, and has the SEPA payment
        method as preferred one."""
        if self.recurring_mandate_id.state != "active":
            return {}
        cache = self.env.context.get("recurring_journals")
        key = ("sepa", self.company_id.id)
        if cache is not None and key in cache:
            line_id = cache[key]
        else:
            line_id = self.env["account.payment.method.line"].search([
                ("code", "=", "sepa_direct_debit"), ("journal_id.type", "=", "bank"),
                ("journal_id.company_id", "=", self.company_id.id)], limit=1).id
            if cache is not None:
                cache[key] = line_id
        return {"sepa_mandate_id": self.recurring_mandate_id.id} | (
            {"preferred_payment_method_line_id": line_id} if line_id else {})

    def _recurring_set_invoiced_until(self, owners):
        """Move "Invoiced Until" to the end of the last period billed, in one write per date."""
        last = {}
        for order, period in owners:
            if order not in last or period.end > last[order]:
                last[order] = period.end
        by_day = defaultdict(list)
        for order, day in last.items():
            by_day[day].append(order.id)
        for day, ids in by_day.items():
            self.browse(ids).write({"recurring_invoiced_until": day})

    @api.model
    def _recurring_error_text(self, error):
        if isinstance(error, UserError):
            return str(error.args[0]) if error.args else str(error)
        return self.env._("Unexpected error: %(error)s", error=str(error) or repr(error))

    def _recurring_set_billing_errors(self, errors):
        """Store each error on its subscription; the first time, an activity tells the salesperson."""
        activity_type = self.env.ref("sale_weekly_subscription.mail_activity_type_billing_error")
        if errors:
            # still due: "to invoice", whatever the status said before the due date came
            self.browse([order.id for order in errors])._compute_invoice_status()
        for order, message in errors.items():
            is_new = not order.recurring_billing_error
            order.recurring_billing_error = message
            if is_new:
                order.activity_schedule(
                    activity_type_id=activity_type.id, summary=self.env._("Subscription not billed"),
                    note=message, user_id=order.user_id.id or self.env.uid)

    def _recurring_clear_billing_errors(self):
        failed = self.filtered("recurring_billing_error")
        if failed:
            failed.recurring_billing_error = False
            failed.activity_unlink(["sale_weekly_subscription.mail_activity_type_billing_error"])

    def action_recurring_invoice_now(self):
        """Invoice the next period not yet invoiced, today, whatever its scheduled date."""
        self.ensure_one()
        self._recurring_check_running()
        if self.recurring_state not in BILLABLE_STATES:
            state = dict(self._fields["recurring_state"]._description_selection(self.env))[self.recurring_state]
            raise UserError(self.env._("Subscription %(order)s is %(state)s: it cannot be invoiced now.",
                                       order=self.name, state=state))
        period = periods.next_period(invoiced_until=self.recurring_invoiced_until or None,
                                     **self._recurring_schedule_args())
        if not period:
            raise UserError(self.env._("Subscription %(order)s has no period left to invoice.",
                                       order=self.name))
        locked = self._recurring_lock_rows()
        if locked != self or self.recurring_next_period_start != period.start:
            raise UserError(self.env._(
                "Subscription %(order)s is being billed right now; try again in a moment.", order=self.name))
        problem = self._recurring_check_invoiceable()
        if problem:
            raise UserError(problem)
        today = self._recurring_today()
        self._recurring_make_invoices({self: [period]}, {self.company_id.id: today}, invoice_date=today)
        return self.action_view_recurring_invoices()

    def _recurring_lock_rows(self):
        self.env.cr.execute(SQL("SELECT id FROM sale_order WHERE id IN %s FOR UPDATE SKIP LOCKED",
                                tuple(self.ids)))
        locked = self.browse([row[0] for row in self.env.cr.fetchall()])
        locked.invalidate_recordset()
        return locked

    def _recurring_form_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "sale.order",
            "res_id": self.id,
            "view_mode": "form",
            "views": [(self.env.ref("sale_weekly_subscription.sale_order_subscription_view_form").id, "form")],
        }

    def action_recurring_pause(self):
        self.ensure_one()
        self.env["sale.recurring.pause"]._check_order_pausable(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Pause Subscription"),
            "res_model": "sale.recurring.pause.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_view_recurring_pauses(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale_weekly_subscription.sale_recurring_pause_action")
        action["domain"] = [("order_id", "=", self.id)]
        action["context"] = {"default_order_id": self.id, "search_default_filter_not_cancelled": 1}
        return action

    def action_view_recurring_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("account.action_move_out_invoice_type")
        action["domain"] = [("recurring_order_id", "=", self.id)]
        action["context"] = {"default_move_type": "out_invoice", "create": False}
        return action
