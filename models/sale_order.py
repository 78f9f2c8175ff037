import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from itertools import islice

from babel.dates import get_month_names

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import format_date
from odoo.tools.misc import babel_locale_parse

from odoo.addons.account.tools import format_structured_reference_iso

from ..engine import periods, schedule
from .sale_recurring_plan import WEEKDAYS

_logger = logging.getLogger(__name__)

RUNNING_STATES = ("progress", "to_renew", "paused")
# A closed subscription still bills the periods it was in service but not yet invoiced
# (e.g. its last period in arrears).
# A paused one too: the period cut before its pause may be billed in arrears during
# it, the one after it in advance; the schedule itself never bills a paused day.
# A suspended one too (for non-payment): the schedule bills nothing from its first day suspended, but
# a period served before it (in arrears) is billed on its usual day.
BILLABLE_STATES = ("progress", "to_renew", "paused", "suspended", "closed")
MANAGER_GROUP = "sale_weekly_subscription.group_subscription_manager"
ALLOWED_ACTIONS = ("pause", "close", "reopen", "renew", "invoice_now", "resume")
# kept by the add-on's own flows; see _recurring_check_protected
PROTECTED_FIELDS = (
    "recurring_state", "recurring_invoiced_until", "recurring_schedule_start", "recurring_close_date",
    "recurring_close_reason_id", "recurring_close_comment", "recurring_commitment_end_date",
    "recurring_billing_error", "recurring_billing_failed_on", "recurring_catch_up_approved",
    "recurring_catch_up_behind", "recurring_pending_fees", "recurring_catch_up_on",
)
# what a subscription bills: a change to one of them makes the billing run try a failed one again
BILLED_FIELDS = ("order_line", "partner_invoice_id", "partner_id", "pricelist_id", "fiscal_position_id",
                 "journal_id", "recurring_plan_id", "recurring_send_weekday", "recurring_mandate_id",
                 "company_id", "currency_id", "payment_term_id")


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
         ("paused", "Paused"), ("suspended", "Suspended for Non-payment"), ("closed", "Closed"),
         ("cancel", "Cancelled")],
        string="Subscription Status", compute="_compute_recurring_state", store=True,
        readonly=False, index=True, tracking=True, copy=False,
        help="Suspended for Non-payment: a direct debit failed more often than the company re-presents it, and the "
             "plan suspends deliveries then (After Failed Collections). Nothing is billed from the first day "
             "suspended; it resumes once the unpaid invoices are paid, or by hand. Not counted as churn.")
    recurring_start_date = fields.Date(
        string="Start Date", default=lambda self: self.env.company._recurring_today(), tracking=True, copy=False,
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
    recurring_payment_reference = fields.Char(
        string="Payment Reference", compute="_compute_recurring_payment_reference",
        help="The reference every invoice of this subscription carries, with the company's 'One Payment Reference "
             "per Subscription': give it to the customer for a standing order.")
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
    recurring_closing_label = fields.Char(
        string="Closing", compute="_compute_recurring_closing_label",
        help="A running or paused subscription with a close date still to come: 'Closing on' that date.")
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
    recurring_line_change_ids = fields.One2many(
        "sale.recurring.line.change", "order_id", string="Line Changes", copy=False,
        help="Changes of a line for a period not yet invoiced (another quantity or variant), for that period "
             "only or from it on: made by the subscriber on the portal or here.")
    recurring_skip_count = fields.Integer(string="Skips", compute="_compute_recurring_pause_count")
    recurring_skip_allowed = fields.Boolean(related="recurring_plan_id.skip_allowed")
    recurring_resume_date = fields.Date(
        string="Resumes On", compute="_compute_recurring_pause_dates", store=True,
        help="While paused: the first day of service after the running pause.")
    recurring_next_pause_date = fields.Date(
        string="Next Pause", compute="_compute_recurring_pause_dates", store=True,
        help="First day of the next scheduled pause.")
    recurring_pause_banner = fields.Char(
        string="Paused Banner", compute="_compute_recurring_pause_banner",
        help="While paused: until when, and the day billing resumes, in one sentence.")
    recurring_suspension_ids = fields.One2many(
        "sale.recurring.suspension", "order_id", string="Suspensions", readonly=True, copy=False,
        help="The times this subscription was suspended for non-payment.")
    recurring_suspended_from = fields.Date(
        string="Suspended From", compute="_compute_recurring_suspended_from", store=True,
        help="While suspended for non-payment: the first day not delivered nor billed.")
    recurring_suspension_banner = fields.Char(
        string="Suspended Banner", compute="_compute_recurring_suspension_banner",
        help="While suspended for non-payment: since when, and what resumes it, in one sentence.")
    recurring_mandate_id = fields.Many2one(
        "sale.recurring.mandate", string="Direct Debit Mandate", copy=False, check_company=True, tracking=True,
        domain="[('state', 'in', ('draft', 'active'))]",
        help="The SEPA mandate the invoices of this subscription are collected with: each invoice carries "
             "it and its payment method is SEPA direct debit.")
    # what the subscription allows now: one decision table (_recurring_allowed_actions), read by
    # the form's buttons, the portal and the methods themselves
    recurring_can_pause = fields.Boolean(string="Can Be Paused", compute="_compute_recurring_allowed")
    recurring_can_close = fields.Boolean(string="Can Be Closed", compute="_compute_recurring_allowed")
    recurring_can_reopen = fields.Boolean(string="Can Be Reopened", compute="_compute_recurring_allowed")
    recurring_can_renew = fields.Boolean(string="Can Be Renewed", compute="_compute_recurring_allowed")
    recurring_can_invoice_now = fields.Boolean(string="Can Be Invoiced Now", compute="_compute_recurring_allowed")
    recurring_can_resume = fields.Boolean(string="Can Be Resumed", compute="_compute_recurring_allowed")
    recurring_billing_error = fields.Text(
        string="Billing Error", copy=False, readonly=True,
        help="Why the billing run could not invoice this subscription last time. The run tries it "
             "again the next day, or as soon as the subscription, its lines, plan or products change; the "
             "error clears once an invoice is made.")
    recurring_billing_failed_on = fields.Date(
        string="Billing Failed On", copy=False, readonly=True, index="btree_not_null",
        help="The day the billing run last failed to invoice this subscription. The run leaves it alone "
             "for the rest of that day, so that one broken subscription does not slow the others.")
    recurring_pending_fees = fields.Monetary(
        string="Return Fees to Bill", copy=False, readonly=True,
        help="The bank's charges on returned direct debits, billed on the next invoice as a line of its own "
             "(plan option 'Charge Return Fees').")
    recurring_catch_up_behind = fields.Integer(
        string="Invoices Held Back", copy=False, readonly=True,
        help="Due invoices the billing run held back: it makes at most the company's 'Catch-up Limit' per "
             "subscription and day, and the rest on the next days, unless the catch-up is approved.")
    recurring_catch_up_on = fields.Date(
        string="Held Back On", copy=False, readonly=True,
        help="The day the billing run last held invoices of this subscription back: the later runs of that day "
             "leave it alone.")
    recurring_catch_up_approved = fields.Boolean(
        string="Catch-up Approved", copy=False, readonly=True,
        help="The next billing run makes every due invoice of this subscription at once, however many; "
             "set when the catch-up is approved, cleared once it is caught up.")

    # -- computes ------------------------------------------------------------

    @api.depends("state", "recurring_plan_id", "recurring_state", "recurring_close_date", "recurring_end_date",
                 "recurring_next_period_start")
    def _compute_recurring_allowed(self):
        for order in self:
            allowed = order._recurring_allowed_actions()
            for action in ALLOWED_ACTIONS:
                order[f"recurring_can_{action}"] = allowed[action] is None

    def _recurring_allowed_actions(self):
        """The decision table of what this subscription allows now.

        Returns {action: None when allowed, else the translated reason}, for the actions
        ``pause``, ``close``, ``reopen``, ``renew``, ``invoice_now`` and ``resume`` (a subscription
        suspended for non-payment).  The form's buttons, the
        portal and the methods all read it (``_recurring_check_allowed``).
        """
        self.ensure_one()
        name = self.display_name
        if self.state != "sale" or not self.recurring_plan_id:
            reason = self.env._("%(order)s is not a confirmed subscription.", order=name)
            return dict.fromkeys(ALLOWED_ACTIONS, reason)
        state = self.recurring_state
        closing = self.recurring_close_date
        label = dict(self._fields["recurring_state"]._description_selection(self.env)).get(state, state)
        being_closed = closing and self.env._(
            "Subscription %(order)s is being closed on %(day)s.", order=name, day=format_date(self.env, closing))
        not_running = self.env._("Subscription %(order)s is not running (%(state)s).", order=name, state=label)
        running = state in RUNNING_STATES
        # suspended for non-payment: it can be closed (or resumed), not paused
        closable = running or state == "suspended"
        return {
            "pause": (not running and not_running) or being_closed or None,
            "close": (not closable and not_running) or being_closed or None,
            "reopen": None if state == "closed" or closing else self.env._(
                "Subscription %(order)s is not closed.", order=name),
            "renew": (state not in ("progress", "to_renew") and not_running)
            or (not self.recurring_end_date and self.env._(
                "Subscription %(order)s has no term end to renew.", order=name))
            or (being_closed and self.env._(
                "Subscription %(order)s is being closed: reopen it before renewing.", order=name)) or None,
            "invoice_now": (state not in ("progress", "to_renew", "closed") and not_running)
            or (not self.recurring_next_period_start and self.env._(
                "Subscription %(order)s has no period left to invoice.", order=name)) or None,
            "resume": None if state == "suspended" else self.env._(
                "Subscription %(order)s is not suspended for non-payment.", order=name),
        }

    def _recurring_check_allowed(self, action):
        """Raise the reason why ``action`` is not allowed now, for each subscription of ``self``."""
        for order in self:
            reason = order._recurring_allowed_actions()[action]
            if reason:
                raise UserError(reason)

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
        """Pauses and skipped deliveries, each counted on its own smart button."""
        counts = {(order, skip): count for order, skip, count in self.env["sale.recurring.pause"]._read_group(
            [("order_id", "in", self.ids)], ["order_id", "is_skip"], ["__count"])}
        for order in self:
            order.recurring_pause_count = counts.get((order, False), 0)
            order.recurring_skip_count = counts.get((order, True), 0)

    @api.depends("recurring_pause_ids.state", "recurring_pause_ids.start_date", "recurring_pause_ids.end_date")
    def _compute_recurring_pause_dates(self):
        for order in self:
            running = order.recurring_pause_ids.filtered(lambda p: p.state == "running")[:1]
            scheduled = order.recurring_pause_ids.filtered(lambda p: p.state == "scheduled").sorted("start_date")[:1]
            order.recurring_resume_date = running.resume_date
            order.recurring_next_pause_date = scheduled.start_date

    @api.depends("recurring_state", "recurring_pause_ids.state", "recurring_pause_ids.end_date")
    @api.depends_context("lang")
    def _compute_recurring_pause_banner(self):
        for order in self:
            running = order.recurring_pause_ids.filtered(lambda p: p.state == "running").sorted("end_date")[-1:]
            if order.recurring_state != "paused" or not running:
                order.recurring_pause_banner = False
                continue
            if running.is_skip:
                order.recurring_pause_banner = self.env._(
                    "Delivery of %(period)s skipped; billing resumes on %(resume)s.",
                    period=running._skip_period_label(),
                    resume=format_date(self.env, running.resume_date, date_format="medium"))
                continue
            order.recurring_pause_banner = self.env._(
                "Paused until %(end)s; billing resumes on %(resume)s.",
                end=format_date(self.env, running.end_date, date_format="medium"),
                resume=format_date(self.env, running.resume_date, date_format="medium"))

    def _recurring_pause_earliest_start(self, portal=False):
        """The first day a pause of this subscription can start: today, or, asked for on the portal
        (``portal``), today plus the plan's portal notice; never before the subscription starts.

        The one rule of the earliest start: the pause's own check, the portal's form (its first
        allowed and proposed day) and the portal's server all read it.
        """
        self.ensure_one()
        day = self._recurring_today()
        if portal:
            day += timedelta(days=self.recurring_plan_id.pause_notice_days)
        return max(day, self.recurring_start_date) if self.recurring_start_date else day

    def _recurring_deliveries(self, count=8):
        """The next ``count`` send days from today (the first day of each period), skipped ones
        included: what the portal's "Next deliveries" and the back office's "Skip a Delivery" show.

        Returns [{"start", "end", "skip" (the skip, or an empty recordset), "skippable" (a whole
        period, on a plan that allows skips), "cutoff" (aware, in the company's time zone),
        "open" (before the cut-off)}].
        """
        self.ensure_one()
        if not self.recurring_plan_id or self.recurring_billing_unit != "week" or not self.recurring_start_date:
            return []
        sched = self._recurring_schedule()
        skips = self.recurring_pause_ids.filtered(lambda p: p.is_skip and p.state != "cancel")
        allowed = self.recurring_plan_id.skip_allowed
        rows = []
        for period, skipped in periods.deliveries(first_day=self._recurring_today(), count=count, skips=sched.skips,
                                                  **sched.period_args()):
            rows.append({
                "start": period.start,
                "end": period.end,
                "skip": skips.filtered(lambda p, day=period.start: p.start_date == day)[:1] if skipped else skips[:0],
                "skippable": allowed and not period.is_prorated,
                "cutoff": self._recurring_cutoff(period.start),
                "open": self._recurring_before_cutoff(period.start),
            })
        return rows

    def _recurring_skip(self, day, requested_by="user", comment=False):
        """Skip the delivery of the period starting on ``day``: a pause of that one whole period
        (``sale.recurring.pause`` with ``is_skip``), checked by the pause's rules and the plan's skip
        rules (``_check_skip``); from the portal (``requested_by``) before the cut-off too."""
        self.ensure_one()
        plan = self.recurring_plan_id
        return self.env["sale.recurring.pause"].create({
            "order_id": self.id,
            "start_date": day,
            # a whole period of N weeks; other plans are refused by the skip's own check
            "weeks": plan.billing_interval if plan.billing_unit == "week" else 1,
            "is_skip": True,
            "requested_by": requested_by,
            "comment": comment,
        })

    def _recurring_next_boundary(self, day=None):
        """Where a pause starts by default: the first period boundary from ``day`` (today)
        that is not already invoiced, so that no amount changes."""
        self.ensure_one()
        day = day or self._recurring_today()
        if self.recurring_invoiced_until and self.recurring_invoiced_until >= day:
            day = self.recurring_invoiced_until + timedelta(days=1)
        args = self._recurring_schedule().period_args()
        args.pop("end")
        return periods.next_boundary(day=day, **args)

    def _recurring_pauses(self):
        """The engine's view of the pauses that hold (scheduled, running or done), skips included, and of
        the suspensions for non-payment (``sale.recurring.suspension._engine_pause``): the schedule bills
        none of them."""
        return tuple(periods.Pause(pause.start_date, pause.end_date)
                     for pause in self.recurring_pause_ids
                     if pause.state != "cancel" and pause.start_date and pause.end_date) + \
            self._recurring_suspension_pauses()

    def _recurring_suspension_pauses(self):
        """The suspensions for non-payment that hold (running, or ended after some days), as engine pauses."""
        return tuple(suspension._engine_pause() for suspension in self.recurring_suspension_ids
                     if suspension.state in ("running", "done", "closed"))

    def _recurring_running_suspension(self):
        """The suspension for non-payment running now, if any."""
        return self.recurring_suspension_ids.filtered(lambda s: s.state == "running")[:1]

    @api.depends("recurring_suspension_ids.state", "recurring_suspension_ids.start_date")
    def _compute_recurring_suspended_from(self):
        for order in self:
            order.recurring_suspended_from = order._recurring_running_suspension().start_date

    @api.depends("recurring_state", "recurring_suspended_from")
    @api.depends_context("lang")
    def _compute_recurring_suspension_banner(self):
        for order in self:
            if order.recurring_state != "suspended" or not order.recurring_suspended_from:
                order.recurring_suspension_banner = False
                continue
            order.recurring_suspension_banner = self.env._(
                "Suspended for non-payment from %(day)s: no delivery and no invoice until the invoices whose direct "
                "debit failed are paid (it then resumes on its own), or until it is resumed by hand.",
                day=format_date(self.env, order.recurring_suspended_from, date_format="medium"))

    def _recurring_skips(self):
        """The engine's view of the skipped deliveries that hold: those of ``_recurring_pauses`` that
        skip one whole period."""
        return tuple(periods.Pause(pause.start_date, pause.end_date)
                     for pause in self.recurring_pause_ids
                     if pause.is_skip and pause.state != "cancel" and pause.start_date and pause.end_date)

    @api.depends("recurring_next_invoice_date", "recurring_state")
    def _compute_invoice_status(self):
        """A subscription is 'to invoice' while a period is due, 'invoiced' otherwise."""
        recurring = self.filtered(lambda o: o.recurring_plan_id and o.state == "sale")
        result = super(SaleOrder, self - recurring)._compute_invoice_status()
        due = recurring.filtered_domain(self._recurring_due_domain(
            {company.id: company._recurring_billing_day() for company in recurring.company_id}))
        for order in recurring:
            if order in due:
                order.invoice_status = "to invoice"
            elif order.recurring_invoiced_until:
                order.invoice_status = "invoiced"
            else:
                order.invoice_status = "no"
        return result

    @api.depends("recurring_state", "recurring_close_date")
    @api.depends_context("lang")
    def _compute_recurring_closing_label(self):
        for order in self:
            closing = order.recurring_close_date and order.recurring_state in (
                "progress", "to_renew", "paused", "suspended")
            order.recurring_closing_label = closing and self.env._(
                "Closing on %(day)s", day=format_date(self.env, order.recurring_close_date))

    @api.depends("recurring_end_date", "recurring_close_date")
    def _compute_recurring_last_date(self):
        for order in self:
            ends = [day for day in (order.recurring_end_date, order.recurring_close_date) if day]
            order.recurring_last_date = min(ends) if ends else False

    def _recurring_schedule(self):
        """The engine's inputs for this subscription, in one value: rhythm, anchors, the lines with
        their base amounts, the pauses with the paid days they carry over, the close and term dates.

        This is the one seam between a subscription and the engine: the billing run, the
        "Upcoming Invoices" preview, the portal, the expected revenue and the MRR all read it, so
        an override here changes them all alike.
        """
        self.ensure_one()
        plan = self.recurring_plan_id
        weekday = self.recurring_send_weekday
        # a bulk reader (forecast, MRR) passes a cache: one rhythm per plan and send day
        rhythms = self.env.context.get("recurring_rhythms")
        rhythm = rhythms.get((plan.id, weekday)) if rhythms is not None else None
        if rhythm is None:
            rhythm = plan._rhythm(weekday)
            if rhythms is not None:
                rhythms[(plan.id, weekday)] = rhythm
        start = self.recurring_start_date
        has_pauses = bool(self.recurring_pause_ids)
        return schedule.Schedule(
            rhythm=rhythm,
            segment_start=self.recurring_schedule_start or start,
            subscription_start=start,
            invoiced_until=self.recurring_invoiced_until or None,
            end=self.recurring_last_date or None,
            pauses=self._recurring_pauses() if has_pauses or self.recurring_suspension_ids else (),
            skips=self._recurring_skips() if has_pauses else (),
            # a one-off line is billed once, beside the schedule (_recurring_one_off_due)
            lines=tuple(line._recurring_engine_line() for line in self.order_line
                        if line._recurring_is_billed_per_period()),
            deductions=self._recurring_deductions() if has_pauses else (),
            rounding=str(self.currency_id.rounding),
            renewal_periods=plan.renewal_periods
            if plan.renewal_type == "auto" and not self.recurring_close_date else 0,
            lead_in=plan._recurring_lead_in(),
        )

    def _recurring_prefetch_schedules(self):
        """Load, in a few queries, exactly the fields ``_recurring_schedule`` reads, for every
        subscription of ``self``: a bulk reader (forecast, MRR) calls it first, so that the ORM
        does not fetch every column of orders and lines to build the schedules."""
        self.fetch(["recurring_plan_id", "recurring_send_weekday", "recurring_start_date",
                    "recurring_schedule_start", "recurring_invoiced_until", "recurring_last_date",
                    "recurring_close_date", "recurring_pause_ids", "recurring_suspension_ids", "order_line",
                    "currency_id"])
        self.order_line.fetch(["display_type", "recurring_one_off", "price_subtotal", "tax_ids",
                               "recurring_change_ids"])
        self.recurring_pause_ids.fetch(["state", "start_date", "end_date", "is_skip", "carry_over_lines",
                                        "carry_over_move_id"])
        self.recurring_suspension_ids.fetch(["state", "start_date", "end_date"])
        self.currency_id.fetch(["rounding"])
        return self

    def _recurring_deductions(self):
        """The paid days of pauses carried over and not yet deducted, as the engine sees them."""
        self.ensure_one()
        Line = self.env["sale.order.line"]
        result = []
        for pause in self.recurring_pause_ids:
            if not pause.carry_over_lines or pause.carry_over_move_id or pause.state == "cancel":
                continue
            amount = sum((Line._recurring_untaxed(-vals["price_unit"], vals["tax_ids"], self)
                          for vals in pause.carry_over_lines), Decimal(0))
            result.append(schedule.Deduction(key=pause.id, after=pause.end_date, amount=amount))
        return tuple(result)

    def _recurring_invoices(self, count=None):
        """The next ``count`` invoices to come (engine ``schedule.Invoice``), all when None."""
        self.ensure_one()
        walk = schedule.invoices(self._recurring_schedule())
        return list(islice(walk, count)) if count is not None else walk

    @api.depends(
        "recurring_plan_id.billing_unit", "recurring_plan_id.billing_interval",
        "recurring_plan_id.billing_timing", "recurring_plan_id.anchoring",
        "recurring_plan_id.lead_in_policy", "recurring_plan_id.lead_in_merge_days",
        "recurring_send_weekday", "recurring_start_date", "recurring_schedule_start",
        "recurring_invoiced_until", "recurring_last_date", "recurring_state",
        "recurring_pause_ids.state", "recurring_pause_ids.start_date", "recurring_pause_ids.end_date",
        "recurring_suspension_ids.state", "recurring_suspension_ids.start_date", "recurring_suspension_ids.end_date")
    def _compute_recurring_schedule(self):
        """The next bill (``schedule.Schedule.bills``): the days it settles, a merged or free lead-in
        included, and the date of its invoice.  None after the first day of a running suspension for
        non-payment: nothing is billed until it ends."""
        for order in self:
            bill = None
            if order.recurring_plan_id and order.recurring_start_date \
                    and periods.FIRST_DAY <= order.recurring_start_date <= periods.LAST_DAY \
                    and order.recurring_state != "cancel":
                bill = next(order._recurring_schedule().bills(), None)
                suspended = order._recurring_running_suspension()
                if bill and suspended and bill.start >= suspended.start_date:
                    bill = None
            order.recurring_next_period_start = bill and bill.start
            order.recurring_next_period_end = bill and bill.end
            order.recurring_next_invoice_date = bill and bill.invoice_date

    @api.depends("recurring_next_period_start")
    def _compute_recurring_current_period(self):
        for order in self:
            today = order._recurring_today()
            period = None
            if order.recurring_plan_id and order.recurring_start_date:
                period = periods.period_on(day=today, **order._recurring_schedule().period_args())
            order.recurring_current_period_start = period and period.start
            order.recurring_current_period_end = period and period.end

    # -- constraints ---------------------------------------------------------

    @api.constrains("recurring_mandate_id", "partner_id")
    def _check_recurring_mandate_debtor(self):
        for order in self.filtered("recurring_mandate_id"):
            debtor = order.recurring_mandate_id.partner_id.commercial_partner_id
            if debtor != order.partner_id.commercial_partner_id:
                raise ValidationError(self.env._(
                    "Subscription %(order)s: the field 'Direct Debit Mandate' (%(mandate)s) is the mandate of "
                    "%(debtor)s; a subscription is collected only with its own customer's mandate.",
                    order=order.display_name, mandate=order.recurring_mandate_id.display_name,
                    debtor=debtor.display_name))

    @api.constrains("recurring_plan_id", "recurring_start_date")
    def _check_recurring_start_date(self):
        for order in self.filtered("recurring_plan_id"):
            if not order.recurring_start_date:
                raise ValidationError(self.env._(
                    "Subscription %(order)s: the field 'Start Date' is required.",
                    order=order.display_name))
            if not periods.FIRST_DAY <= order.recurring_start_date <= periods.LAST_DAY:
                raise ValidationError(self.env._(
                    "Subscription %(order)s: the field 'Start Date' (%(day)s) must lie between %(first)s and "
                    "%(last)s.", order=order.display_name, day=format_date(self.env, order.recurring_start_date),
                    first=format_date(self.env, periods.FIRST_DAY), last=format_date(self.env, periods.LAST_DAY)))

    # -- write: plan and send-day changes apply from the next period ---------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._recurring_check_protected({name: value for name, value in vals.items() if value})
        return super().create(vals_list)

    def _recurring_check_protected(self, vals):
        """The fields the subscription's own flows keep (billing, close, pause, renewal) change only
        through those flows (``_recurring_flow_write``) or by a subscription manager, whatever the
        form shows: a JSON-RPC write of one of them by anyone else is refused."""
        touched = [name for name in PROTECTED_FIELDS if name in vals]
        if touched and not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._(
                "%(order)s: the field '%(field)s' changes only through the subscription's own actions "
                "(billing, close, reopen, pause, renew), or by a subscription manager.",
                order=", ".join(self.mapped("display_name")) or self._description,
                field=self._fields[touched[0]]._description_string(self.env)))

    def _recurring_flow_write(self, vals):
        """Write fields of ``PROTECTED_FIELDS`` from one of the add-on's own flows, which have
        checked what the user may do already."""
        return self.sudo().write(vals)

    def write(self, vals):
        self._recurring_check_protected(vals)
        if any(name in vals for name in BILLED_FIELDS):
            self._recurring_forget_failure()
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

    def _recurring_forget_failure(self):
        """What the subscription bills changed: the billing run may try it again today."""
        failed = self.filtered("recurring_billing_failed_on")
        if failed:
            failed._recurring_flow_write({"recurring_billing_failed_on": False})

    @api.model
    def _recurring_forget_failures(self, domain):
        """Something the failed subscriptions of ``domain`` bill changed (a plan, a product)."""
        self.sudo().with_context(active_test=False).search(
            Domain("recurring_billing_failed_on", "!=", False) & Domain(domain))._recurring_forget_failure()

    def _recurring_check_plan_change(self, plan_id):
        """A confirmed order cannot become a subscription, nor stop being one, by an edit."""
        for order in self.filtered(lambda o: o.state == "sale"):
            if bool(order.recurring_plan_id) != bool(plan_id):
                raise UserError(self.env._(
                    "Order %(order)s is confirmed: the field 'Subscription Plan' can be changed to "
                    "another plan, but not added or removed. Close the subscription, or create a new "
                    "one.", order=order.display_name))

    # -- schedule helpers ----------------------------------------------------

    def _recurring_preview_vals(self, count=6):
        """The next ``count`` invoices: date, period, label and untaxed amount (after the paid days
        of a pause it deducts), as the billing run will make them; a merged lead-in is on the
        invoice of the first full period, a free one on none."""
        self.ensure_one()
        if not self.recurring_plan_id or not self.recurring_start_date:
            return []
        sched = self._recurring_schedule()
        # a running suspension for non-payment bills nothing from its first day: no invoice to show after it
        suspended = self._recurring_running_suspension().start_date
        upcoming = [invoice for invoice in self._recurring_invoices(count + 1) if invoice.is_invoiced
                    and not (suspended and invoice.period.start >= suspended)][:count]
        # the one-off lines not billed yet go on the next invoice only
        one_off = self._recurring_one_off_untaxed()
        # the date the same-ranked invoice would have without the pauses (a skipped period is no
        # invoice at all: the invoices around it keep their dates)
        unpaused = [bill.invoice_date for bill in islice(
            (bill for bill in replace(sched, pauses=sched.skips).bills() if bill.periods), count)] \
            if len(sched.pauses) > len(sched.skips) else []
        rows = [{
            "invoice_date": invoice.period.invoice_date,
            "invoice_date_unpaused": unpaused[index]
            if index < len(unpaused) and unpaused[index] != invoice.period.invoice_date else False,
            "period_start": invoice.period.start,
            "period_end": invoice.period.end,
            "label": self._recurring_period_label(invoice.period.start, invoice.period.end),
            "is_prorated": invoice.is_prorated,
            "amount_untaxed": float(invoice.untaxed + (one_off if index == 0 else 0)),
            "is_skipped": False,
        } for index, invoice in enumerate(upcoming)]
        # the skipped periods among them (or after them, when fewer invoices are to come), at no amount
        last = upcoming[-1].period.end if len(upcoming) == count else None
        rows += [{
            "invoice_date": period.invoice_date,
            "invoice_date_unpaused": False,
            "period_start": period.start,
            "period_end": period.end,
            "label": self.env._("Skipped: %(period)s", period=self._recurring_period_label(period.start, period.end)),
            "is_prorated": False,
            "amount_untaxed": 0.0,
            "is_skipped": True,
        } for period in sched.skipped() if last is None or period.start <= last]
        return sorted(rows, key=lambda row: (row["invoice_date"], row["period_start"]))

    def _recurring_one_off_untaxed(self):
        """Untaxed amount (``Decimal``) of the one-off lines the next invoice bills."""
        self.ensure_one()
        return sum((Decimal(str(line.price_subtotal)) for line in self.order_line._recurring_one_off_due()),
                   Decimal(0))

    def _recurring_period_amount(self, period):
        """Untaxed amount the order bills for ``period``, prorated and rounded per line, before any
        deduction."""
        self.ensure_one()
        return float(schedule.period_untaxed(self._recurring_schedule(), period))

    def _recurring_next_invoice_total(self):
        """Total with taxes of the next invoice, as the billing run will compute it; 0 when none."""
        self.ensure_one()
        if not self.recurring_next_period_start:
            return 0.0
        return self.currency_id.round(max(sum(
            (row["total"] for row in self._recurring_next_invoice_lines()), 0.0), 0.0))

    def _recurring_next_invoice_lines(self):
        """The lines of the next invoice as the billing run will make them, its line changes included:
        [{"name", "quantity", "subtotal", "total"}] (untaxed and taxed amounts, in the currency)."""
        self.ensure_one()
        if not self.recurring_next_period_start:
            return []
        invoice = self._recurring_invoices(1)[0]
        currency, partner = self.currency_id, self.partner_invoice_id
        rows = []
        for line, vals in self._recurring_invoice_line_pairs(invoice):
            price = vals["price_unit"] * (1 - (vals["discount"] or 0.0) / 100)
            taxes = line.tax_ids.compute_all(price, currency, vals["quantity"], line.product_id, partner)
            rows.append({"name": vals["name"], "quantity": vals["quantity"],
                         "subtotal": taxes["total_excluded"], "total": taxes["total_included"]})
        for line in self.order_line._recurring_one_off_due():
            rows.append({"name": line.name, "quantity": line.product_uom_qty,
                         "subtotal": line.price_subtotal, "total": line.price_total})
        for pause in self.recurring_pause_ids.browse([d.key for d in invoice.deductions]):
            for vals in pause.carry_over_lines:
                taxes = self.env["account.tax"].browse(vals["tax_ids"][0][2]).compute_all(
                    vals["price_unit"], currency, 1.0, partner=partner)
                rows.append({"name": vals["name"], "quantity": 1.0,
                             "subtotal": taxes["total_excluded"], "total": taxes["total_included"]})
        return rows

    def _recurring_period_label(self, start, end, lang=None):
        """'weeks 49–50 2026, 30 Nov – 13 Dec 2026' in ``lang``, by default the partner's language
        (``periods.period_label``)."""
        lang = lang or self.partner_id.lang or self.env.lang or "en_US"
        env = self.with_context(lang=lang).env
        names = get_month_names("abbreviated", locale=babel_locale_parse(lang))
        months = tuple(names[number] for number in range(1, 13))
        return periods.period_label(
            start, end, unit=self.recurring_plan_id.billing_unit, months=months,
            weeks=self._recurring_week_words(env))

    @api.model
    def _recurring_week_words(self, env):
        """The week templates of a period label in ``env``'s language (``periods.WeekWords``):
        %(week)s, %(first)s and %(last)s are ISO week numbers, the others ISO years.

        A language whose translation of a template is still missing keeps its own word for
        'week' (translated since the first release) in the English template, rather than
        an English word in its label."""
        translated = periods.WeekWords(
            one=env._("week %(week)s %(year)s"),
            several=env._("weeks %(first)s\u2013%(last)s %(year)s"),
            across=env._("week %(first)s %(first_year)s \u2013 week %(last)s %(last_year)s"))
        if (env.lang or "en_US").startswith("en"):
            return translated
        word = env._("week").replace("%", "%%")
        fallback = periods.WeekWords(
            one=f"{word} %(week)s %(year)s",
            several=f"{word} %(first)s\u2013%(last)s %(year)s",
            across=f"{word} %(first)s %(first_year)s \u2013 {word} %(last)s %(last_year)s")
        return periods.WeekWords(**{
            key: text if text != getattr(periods.EN_WEEKS, key) else getattr(fallback, key)
            for key, text in vars(translated).items()})

    # -- plan lines ----------------------------------------------------------

    @api.onchange("recurring_plan_id")
    def _onchange_recurring_plan_id(self):
        """A new subscription gets the plan's products."""
        if self.recurring_plan_id and self.state in ("draft", "sent") \
                and not self.order_line.filtered(lambda line: not line.display_type):
            self.order_line = [fields.Command.create(line._prepare_order_line_vals(self))
                               for line in self.recurring_plan_id.line_ids]

    def _recurring_mail_customer(self, record, template_xmlid):
        """Mail this subscription's customer (``record.partner_id``) the template ``template_xmlid``
        rendered on ``record`` (a pause, a cancellation request), in the customer's language, logged on
        ``record`` and signed by the salesperson, else the company."""
        self.ensure_one()
        template = self.env.ref(template_xmlid, raise_if_not_found=False)
        if not template or not record.partner_id.email:
            return
        sender = self.user_id.partner_id or self.company_id.partner_id
        # to the customer only (a comment would add the suggested recipients: the salesperson), and
        # to them too when their own portal user is the one posting (``notify_author_mention``)
        record.sudo().message_post_with_source(
            template, message_type="comment", subtype_xmlid="mail.mt_comment", author_id=sender.id,
            partner_ids=[fields.Command.set(record.partner_id.ids)], notify_author_mention=True,
            email_layout_xmlid="mail.mail_notification_light")

    def _recompute_prices(self):
        """*Update Prices* is the explicit request that re-prices a running subscription's lines, which
        otherwise keep their agreed price and discount (``sale.order.line._recurring_agreed_lines``)."""
        return super(SaleOrder, self.with_context(recurring_update_prices=True))._recompute_prices()

    # -- billing run ---------------------------------------------------------

    def _recurring_now(self):
        """Now in the subscription company's time zone (``res.company._recurring_now``)."""
        return (self.company_id or self.env.company)._recurring_now()

    def _recurring_today(self):
        """Today in the subscription company's time zone: the add-on's one "today"."""
        return (self.company_id or self.env.company)._recurring_today()

    def _recurring_cutoff(self, day):
        """The cut-off of the period starting on ``day`` (its send day), in the company's time zone
        (aware datetime): up to the end of that minute the subscriber may skip the period or change
        its box (plan: *Cut-off*)."""
        self.ensure_one()
        plan = self.recurring_plan_id
        local = periods.cutoff(day, plan.cutoff_days, plan._cutoff_minutes())
        return (self.company_id or self.env.company)._recurring_tz().localize(local)

    def _recurring_cutoff_text(self, day):
        """The cut-off of the period starting on ``day`` as a subscriber reads it, in the language of the
        context: "1 December 2026 at 23:59 (Europe/Brussels)"."""
        self.ensure_one()
        moment = self._recurring_cutoff(day)
        return self.env._("%(day)s at %(time)s (%(zone)s)",
                          day=format_date(self.env, moment.date(), date_format="long"),
                          time=moment.strftime("%H:%M"), zone=moment.tzinfo.zone)

    def _recurring_before_cutoff(self, day):
        """True while the period starting on ``day`` may still be skipped or changed by the
        subscriber, now, in the company's time zone."""
        self.ensure_one()
        plan = self.recurring_plan_id
        now = self._recurring_now()
        return periods.is_before_cutoff(now.replace(tzinfo=None), day, plan.cutoff_days, plan._cutoff_minutes())

    @api.model
    def _recurring_company_todays(self):
        """{company id: the day the billing run bills up to} for every company with subscriptions."""
        companies = self.env["res.company"].browse(
            company.id for [company] in self.sudo()._read_group(
                [("state", "=", "sale"), ("recurring_plan_id", "!=", False)], ["company_id"]))
        return {company.id: company._recurring_billing_day() for company in companies}

    @api.model
    def _recurring_per_company(self, field, operator, days):
        """A domain comparing ``field`` with each company's own day (``days``: {company id: date})."""
        return Domain.OR(Domain("company_id", "=", company_id) & Domain(field, operator, day)
                         for company_id, day in days.items()) if days else Domain.FALSE

    @api.model
    def _recurring_due_domain(self, todays=None):
        """What is due: the one definition, read by the billing run's lock, its progress count and
        the invoice status.  A period is due once its invoice date has come in its company's
        time zone and billing hour."""
        todays = self._recurring_company_todays() if todays is None else todays
        return Domain([("state", "=", "sale"), ("recurring_plan_id", "!=", False),
                       ("recurring_state", "in", BILLABLE_STATES)]) & \
            self._recurring_per_company("recurring_next_invoice_date", "<=", todays)

    @api.model
    def default_get(self, fields_list):
        """New subscriptions, from the subscriptions' menu, start with the company's default plan."""
        values = super().default_get(fields_list)
        plan = self.env.company.recurring_default_plan_id
        if self.env.context.get("recurring_subscription") and plan and "recurring_plan_id" in fields_list \
                and not values.get("recurring_plan_id"):
            values["recurring_plan_id"] = plan.id
        return values

    def _recurring_form_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "sale.order",
            "res_id": self.id,
            "view_mode": "form",
            "views": [(self.env.ref("sale_weekly_subscription.sale_order_subscription_view_form").id, "form")],
        }

    def action_view_recurring_pauses(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale_weekly_subscription.sale_recurring_pause_action")
        action["domain"] = [("order_id", "=", self.id)]
        action["context"] = {"default_order_id": self.id, "search_default_filter_not_cancelled": 1,
                             "search_default_filter_pauses": 1}
        return action

    def action_view_recurring_skips(self):
        self.ensure_one()
        action = self.action_view_recurring_pauses()
        action["name"] = self.env._("Skipped Deliveries")
        action["context"] = {"default_order_id": self.id, "search_default_filter_not_cancelled": 1,
                             "search_default_filter_skips": 1}
        return action

    def action_view_recurring_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("account.action_move_out_invoice_type")
        action["domain"] = [("recurring_order_id", "=", self.id)]
        action["context"] = {"default_move_type": "out_invoice", "create": False}
        return action

    @api.depends("company_id.recurring_stable_payment_reference", "journal_id.invoice_reference_model")
    def _compute_recurring_payment_reference(self):
        journals = {}
        for order in self:
            company = order.company_id
            if not (order.id and order.recurring_plan_id and company.recurring_stable_payment_reference):
                order.recurring_payment_reference = False
                continue
            if company.id not in journals:
                journals[company.id] = self.env["account.journal"].search(
                    [*self.env["account.journal"]._check_company_domain(company), ("type", "=", "sale")], limit=1)
            order.recurring_payment_reference = order._recurring_payment_reference(
                order.journal_id or journals[company.id]) or False

    def _recurring_payment_reference(self, journal):
        """This subscription's own payment reference, in ``journal``'s communication standard (Belgian,
        RF, number or Odoo's; None for another), the same for all its invoices.  Its digits are 9 and
        the subscription's id on 9 digits, so that it never equals a reference Odoo makes from an
        invoice's id."""
        self.ensure_one()
        digits = f"9{self.id:09d}"[-10:]
        model = journal.invoice_reference_model
        if model == "be":  # Belgian structured communication (OGM-VCS): 10 digits and their modulo 97
            check = int(digits) % 97 or 97
            return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}{check:02d}+++"
        if model == "euro":  # ISO 11649 creditor reference
            code = journal.code if journal.code and journal.code.isascii() and journal.code.isalnum() else ""
            return format_structured_reference_iso(f"{code}{digits}")
        if model == "number":
            return digits
        if model == "odoo":
            return self.name
        return None  # a standard of its own (a country's): each invoice keeps Odoo's reference
