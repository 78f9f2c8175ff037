from datetime import timedelta
from decimal import Decimal
from itertools import islice

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tools import format_date, formatLang

from ..engine import periods

ONE_DAY = timedelta(days=1)
# invoices shown in the "now / with this pause" table of the pause form and of the Pause dialog
EFFECT_ROWS = 4


class SaleRecurringPauseReason(models.Model):
    _name = "sale.recurring.pause.reason"
    _description = "Subscription Pause Reason"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    portal = fields.Boolean(
        string="Offered on the Portal", default=True,
        help="Subscribers can pick this reason when they pause from their portal.")


class SaleRecurringPause(models.Model):
    _name = "sale.recurring.pause"
    _description = "Subscription Pause"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "start_date desc, id desc"
    _check_company_auto = True

    order_id = fields.Many2one(
        "sale.order", string="Subscription", required=True, index=True, ondelete="cascade",
        check_company=True, domain="[('recurring_plan_id', '!=', False), ('state', '=', 'sale')]",
        tracking=True)
    company_id = fields.Many2one(related="order_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="order_id.partner_id", store=True, index=True, string="Customer")
    plan_id = fields.Many2one(related="order_id.recurring_plan_id", string="Plan")
    currency_id = fields.Many2one(related="order_id.currency_id")
    user_id = fields.Many2one(related="order_id.user_id", string="Salesperson")
    start_date = fields.Date(
        string="First Day Paused", required=True, tracking=True,
        help="No service and no billing from this day. The period it falls in ends the day "
             "before; a pause starting on a period boundary changes no amount.")
    weeks = fields.Integer(
        required=True, default=1, tracking=True,
        help="Length of the pause in whole weeks, within the plan's limits.")
    end_date = fields.Date(
        string="Last Day Paused", compute="_compute_end_date", store=True, readonly=False,
        tracking=True, help="Start plus the weeks, or the day before an early end.")
    resume_date = fields.Date(
        string="Resumes On", compute="_compute_resume_date", store=True,
        help="First day of service after the pause: the next period starts here, with the "
             "same rhythm and send day.")
    weeks_paused = fields.Float(
        string="Length (Weeks)", compute="_compute_weeks_paused", store=True, digits=(16, 1),
        aggregator="sum",
        help="Weeks from the first to the last day paused: the weeks asked for, or fewer once the "
             "pause was ended early.")
    reason_id = fields.Many2one("sale.recurring.pause.reason", tracking=True)
    comment = fields.Text()
    effect_html = fields.Html(
        string="Effect on the Invoices", compute="_compute_effect_html", sanitize=False,
        help="The next invoice dates without this pause and with it, as the billing run makes them.")
    requested_by = fields.Selection(
        [("user", "Back office"), ("portal", "Customer, on the portal")],
        required=True, default="user", readonly=True,
        help="Pauses asked for on the portal must respect the plan's notice; the customer "
             "can cancel them until they start.")
    state = fields.Selection(
        [("scheduled", "Scheduled"), ("running", "Running"), ("done", "Done"), ("cancel", "Cancelled")],
        required=True, default="scheduled", readonly=True, copy=False, index=True, tracking=True)
    is_skip = fields.Boolean(
        string="Skip", readonly=True, index=True,
        help="A skipped delivery: one whole period of the schedule without delivery and without invoice. "
             "It follows the plan's skip limits and cut-off, not its pause limits and notice; cancelling it "
             "(Unskip) delivers and bills the period as usual.")
    skip_cutoff_label = fields.Char(
        string="Cut-off", compute="_compute_skip_cutoff_label",
        help="Until when the subscriber may unskip this delivery on the portal, in the company's time zone.")
    term_extension_days = fields.Integer(
        string="Term Extended By (Days)", readonly=True, copy=False,
        help="Days the fixed term of the subscription was pushed back for this pause.")
    invoiced_until_before = fields.Date(
        readonly=True, copy=False,
        help="The subscription's 'Invoiced Until' before this pause gave back paid days.")
    refund_ids = fields.One2many(
        "account.move", "recurring_pause_id", string="Credit Notes", readonly=True,
        help="Credit notes of the paid days this pause left unused.")
    outcome = fields.Selection(
        [("pending", "Not over yet"), ("resumed", "Resumed"), ("closed", "Closed within 8 weeks")],
        compute="_compute_outcome", store=True,
        help="What the subscription did after the pause: closed within 8 weeks of its end, or resumed.")
    carry_over_lines = fields.Json(readonly=True, copy=False)
    carry_over_amount = fields.Monetary(
        string="Carried Over", readonly=True, copy=False,
        help="Paid days this pause left unused, deducted (untaxed) from the first invoice after it.")
    carry_over_move_id = fields.Many2one(
        "account.move", string="Deducted On", readonly=True, copy=False, index="btree_not_null",
        help="The invoice that deducted the carried-over amount.")

    # -- computes ------------------------------------------------------------

    @api.depends("start_date", "weeks")
    def _compute_end_date(self):
        for pause in self:
            if pause.start_date and pause.weeks and 0 < pause.weeks <= periods.MAX_PAUSE_WEEKS:
                pause.end_date = periods.pause_end(pause.start_date, pause.weeks)
            else:
                pause.end_date = pause.start_date

    @api.depends("start_date", "end_date")
    def _compute_weeks_paused(self):
        for pause in self:
            days = (pause.end_date - pause.start_date).days + 1 if pause.start_date and pause.end_date else 0
            pause.weeks_paused = round(days / 7, 1)

    @api.depends("order_id", "state", "start_date", "end_date", "term_extension_days", "invoiced_until_before",
                 "is_skip")
    def _compute_effect_html(self):
        for pause in self:
            if pause.state in ("scheduled", "running") and pause.start_date and pause.end_date and pause.is_skip:
                pause.effect_html = self._effect_table(
                    self._effect_rows(pause.order_id, pause.start_date, pause.end_date, exclude=pause),
                    now_label=self.env._("Without This Skip"), with_label=self.env._("With This Skip"),
                    period_label=self.env._("Period With This Skip"))
            elif pause.state in ("scheduled", "running") and pause.start_date and pause.end_date:
                pause.effect_html = self._effect_table(
                    self._effect_rows(pause.order_id, pause.start_date, pause.end_date, exclude=pause),
                    now_label=self.env._("Without This Pause"))
            else:
                pause.effect_html = False

    @api.depends("end_date")
    def _compute_resume_date(self):
        for pause in self:
            pause.resume_date = pause.end_date and pause.end_date + ONE_DAY

    @api.depends("state", "end_date", "order_id.recurring_last_date")
    def _compute_outcome(self):
        for pause in self:
            last = pause.order_id.recurring_last_date
            if pause.state in ("scheduled", "running") or not pause.end_date:
                pause.outcome = "pending" if pause.state != "cancel" else False
            elif pause.state == "cancel":
                pause.outcome = False
            elif last and last <= pause.end_date + timedelta(weeks=8):
                pause.outcome = "closed"
            else:
                pause.outcome = "resumed"

    def _weeks_text(self):
        """The weeks paused as shown: "3", or "1.4" for a pause ended early, in the user's language."""
        self.ensure_one()
        whole = float(self.weeks_paused).is_integer()
        return formatLang(self.env, self.weeks_paused, digits=0 if whole else 1)

    @api.depends("order_id", "start_date", "end_date", "weeks_paused", "is_skip")
    def _compute_display_name(self):
        for pause in self:
            if pause.is_skip and pause.start_date and pause.end_date:
                pause.display_name = self.env._(
                    "%(order)s: skipped %(period)s", order=pause.order_id.name or "",
                    period=pause._skip_period_label())
            elif pause.start_date:
                pause.display_name = self.env._(
                    "%(order)s: %(weeks)s week(s) from %(start)s", order=pause.order_id.name or "",
                    weeks=pause._weeks_text(), start=format_date(self.env, pause.start_date))
            else:
                pause.display_name = pause.order_id.name or self.env._("New Pause")

    def _skip_period_label(self, lang=None):
        """The skipped period as an invoice line names it ("week 53 2026, 28 Dec 2026 – 3 Jan 2027"),
        in ``lang``, by default the reader's."""
        self.ensure_one()
        return self.order_id._recurring_period_label(self.start_date, self.end_date, lang=lang or self.env.lang)

    @api.depends("is_skip", "start_date", "order_id.recurring_plan_id.cutoff_days",
                 "order_id.recurring_plan_id.cutoff_time")
    @api.depends_context("lang")
    def _compute_skip_cutoff_label(self):
        for pause in self:
            pause.skip_cutoff_label = pause.is_skip and pause.start_date and pause.order_id.recurring_plan_id \
                and pause.order_id._recurring_cutoff_text(pause.start_date)

    # -- the effect of a pause on the invoices ------------------------------

    @api.model
    def _extends_term(self, order):
        """Whether a pause of ``order`` pushes its fixed term back by the days paused."""
        plan = order.recurring_plan_id
        return bool(plan.pause_extends_term and plan.duration_type == "fixed" and order.recurring_end_date)

    @api.model
    def _effect_rows(self, order, start, end, exclude=None, count=EFFECT_ROWS):
        """The next ``count`` invoices of ``order`` now and with a pause from ``start`` to ``end``,
        from the schedule the billing run reads (``sale.order._recurring_schedule``).

        ``exclude`` is a pause of ``order`` already in its schedule: "now" is then the schedule
        without it (its pushed-back term and given-back paid days undone), so that a pause's form
        compares the invoices with and without it, as the Pause dialog did before it was made.

        Returns [{"number", "date_now", "date_with", "period_with"}]; a date is False where one
        schedule has fewer invoices than the other (a term that ends).
        """
        sched = order._recurring_schedule()
        args = sched.period_args()
        until = order.recurring_invoiced_until or None

        def upcoming(until, args):  # the spans of the next invoices, a merged or free lead-in as billed
            bills = periods.bills(periods.periods_after(invoiced_until=until, **args), sched.lead_in,
                                  sched.subscription_start)
            return [bill.span for bill in islice(bills, count + 1) if bill.periods][:count]
        if exclude:
            mine = periods.Pause(exclude.start_date, exclude.end_date)
            args["pauses"] = tuple(span for span in args["pauses"] if span != mine)
            if args["end"] and exclude.term_extension_days and not order.recurring_close_date:
                args["end"] -= timedelta(days=exclude.term_extension_days)
            if exclude.invoiced_until_before and until == exclude.start_date - ONE_DAY:
                until = exclude.invoiced_until_before
        now = upcoming(until, args)
        pause = periods.Pause(start, end)
        if until and until >= start:
            until = start - ONE_DAY  # the paid days from the pause on are given back
        if args["end"] and self._extends_term(order) and not order.recurring_close_date:
            args["end"] += timedelta(days=pause.days)
        args["pauses"] = (*args["pauses"], pause)
        after = upcoming(until, args)
        rows = []
        for index in range(max(len(now), len(after))):
            before = now[index] if index < len(now) else None
            later = after[index] if index < len(after) else None
            rows.append({
                "number": index + 1,
                "date_now": before.invoice_date if before else False,
                "date_with": later.invoice_date if later else False,
                "period_with": order._recurring_period_label(later.start, later.end) if later else False,
            })
        return rows

    @api.model
    def _given_back_amount(self, order, start, weeks):
        """What a pause of ``order`` from ``start`` for ``weeks`` would give back of the days already
        invoiced (the prices of its credit lines), before it is made: the Pause and Skip dialogs show it."""
        until = order.recurring_invoiced_until
        if not until or until < start:
            return 0.0
        dummy = self.new({"order_id": order.id, "start_date": start, "weeks": weeks})
        return sum(vals["price_unit"] for invoice in dummy._paid_invoices(until)
                   for vals in dummy._unused_line_vals(invoice, until))

    @api.model
    def _effect_table(self, rows, now_label=None, with_label=None, period_label=None):
        """The rows of ``_effect_rows`` as the HTML table of the pause form and the Pause dialog;
        ``now_label`` heads the dates without the pause (default "Invoice Date Now"), ``with_label``
        and ``period_label`` those with it (the Skip dialog names a skip)."""
        def cell(value, strong=False):
            value = value or "-"
            return Markup("<td><strong>%s</strong></td>") % value if strong else Markup("<td>%s</td>") % value

        body = Markup("").join(Markup("<tr>%s%s%s%s</tr>") % (
            cell(row["number"]),
            cell(row["date_now"] and format_date(self.env, row["date_now"])),
            cell(row["date_with"] and format_date(self.env, row["date_with"]), strong=True),
            cell(row["period_with"])) for row in rows)
        head = Markup("<tr><th>#</th><th>%s</th><th>%s</th><th>%s</th></tr>") % (
            now_label or self.env._("Invoice Date Now"), with_label or self.env._("With This Pause"),
            period_label or self.env._("Period With This Pause"))
        return Markup('<table class="table table-sm o_recurring_pause_effect"><thead>%s</thead>'
                      "<tbody>%s</tbody></table>") % (head, body)

    # -- rules ---------------------------------------------------------------

    def _describe(self):
        if self.is_skip:
            return self.env._("Skip of %(order)s", order=self.order_id.display_name)
        return self.env._("Pause of %(order)s", order=self.order_id.display_name)

    def _refuse(self, back_office, customer):
        """Refuse this pause: in the back office's words, naming the pause and the field, or in
        the customer's own (``customer``) when they ask for it on the portal."""
        raise ValidationError(customer if self.requested_by == "portal" else back_office)

    def _long_date(self, day):
        """``day`` as a customer reads it: "17 December 2026", in the language of the context."""
        return format_date(self.env, day, date_format="long")

    def _refuse_before_start(self):
        order = self.order_id
        self._refuse(
            self.env._("%(pause)s: the field 'First Day Paused' (%(day)s) is before the subscription starts "
                       "(%(start)s).", pause=self._describe(), day=format_date(self.env, self.start_date),
                       start=format_date(self.env, order.recurring_start_date)),
            self.env._("Your subscription starts on %(start)s: a pause cannot start before then.",
                       start=self._long_date(order.recurring_start_date)))

    @api.constrains("weeks", "start_date", "end_date", "order_id")
    def _check_dates(self):
        for pause in self.filtered(lambda p: p.state != "cancel"):
            order = pause.order_id
            if not 1 <= pause.weeks <= periods.MAX_PAUSE_WEEKS:
                pause._refuse(
                    self.env._("%(pause)s: the field 'Weeks' must be at least 1 and at most %(max)s.",
                               pause=pause._describe(), max=periods.MAX_PAUSE_WEEKS),
                    self.env._("A pause lasts from 1 to %(max)s weeks.", max=periods.MAX_PAUSE_WEEKS))
            if pause.start_date < order.recurring_start_date:
                pause._refuse_before_start()
            last = order.recurring_close_date or (order.recurring_end_date - timedelta(
                days=pause.term_extension_days) if order.recurring_end_date else False)
            if last and pause.start_date > last:
                pause._refuse(
                    self.env._("%(pause)s: the field 'First Day Paused' (%(day)s) is after the subscription "
                               "ends (%(end)s).", pause=pause._describe(),
                               day=format_date(self.env, pause.start_date), end=format_date(self.env, last)),
                    self.env._("Your subscription ends on %(end)s: a pause must start by then.",
                               end=pause._long_date(last)))
            overlap = self.search([
                ("order_id", "=", order.id), ("id", "!=", pause.id), ("state", "!=", "cancel"),
                ("start_date", "<=", pause.end_date), ("end_date", ">=", pause.start_date)], limit=1)
            if overlap:
                pause._refuse(
                    self.env._("%(pause)s overlaps the pause from %(start)s to %(end)s: pick other dates.",
                               pause=pause._describe(), start=format_date(self.env, overlap.start_date),
                               end=format_date(self.env, overlap.end_date)),
                    pause._overlap_in_customer_words(overlap))

    def _overlap_in_customer_words(self, overlap):
        """Why this pause or skip cannot be had on the portal: it overlaps ``overlap``."""
        if self.is_skip and overlap.is_skip:
            return self.env._("The delivery of %(day)s is skipped already.", day=self._long_date(overlap.start_date))
        if self.is_skip:
            return self.env._("Your subscription is paused from %(start)s to %(end)s: there is no delivery to skip "
                              "then.", start=self._long_date(overlap.start_date),
                              end=self._long_date(overlap.end_date))
        if overlap.is_skip:
            return self.env._("You skipped the delivery of %(day)s: unskip it first, or pick other dates.",
                              day=self._long_date(overlap.start_date))
        return self.env._("You already have a pause from %(start)s to %(end)s: please pick other dates.",
                          start=self._long_date(overlap.start_date), end=self._long_date(overlap.end_date))

    @api.constrains("weeks", "start_date")
    def _check_plan_limits(self):
        """The plan's limits when a pause is asked for; a later change of the plan's limits
        or an early end does not undo pauses already agreed.  Skips have limits of their own
        (``_check_skip``) and count against none of these."""
        for pause in self.filtered(lambda p: p.state != "cancel" and not p.is_skip):
            order = pause.order_id
            plan = order.recurring_plan_id
            if plan.pause_max_weeks and pause.weeks > plan.pause_max_weeks:
                pause._refuse(
                    self.env._("%(pause)s: the field 'Weeks' (%(weeks)s) exceeds the plan's limit of %(limit)s "
                               "weeks per pause.", pause=pause._describe(), weeks=pause.weeks,
                               limit=plan.pause_max_weeks),
                    self.env._("A pause lasts at most %(limit)s weeks.", limit=plan.pause_max_weeks))
            if plan.pause_max_weeks_year:
                spans = [periods.Pause(p.start_date, p.end_date) for p in order.recurring_pause_ids
                         if p.state != "cancel" and not p.is_skip]
                worst = periods.max_paused_days_in_a_year(spans)
                if worst > plan.pause_max_weeks_year * 7:
                    pause._refuse(
                        self.env._("%(pause)s: with the field 'Weeks' at %(weeks)s, the subscription would be "
                                   "paused %(days)s days within 12 months; the plan allows %(limit)s weeks.",
                                   pause=pause._describe(), weeks=pause.weeks, days=worst,
                                   limit=plan.pause_max_weeks_year),
                        self.env._("With this pause, your subscription would be paused %(days)s days within 12 "
                                   "months; at most %(limit)s weeks are possible. Please choose a shorter pause.",
                                   days=worst, limit=plan.pause_max_weeks_year))

    @api.constrains("start_date", "requested_by", "weeks")
    def _check_start(self):
        """Checked when a pause is asked for, not when it later runs or ends: the earliest start is
        ``sale.order._recurring_pause_earliest_start``, the portal's limits ``_check_portal``."""
        for pause in self.filtered(lambda p: p.state == "scheduled"):
            order = pause.order_id
            portal = pause.requested_by == "portal"
            if pause.is_skip:
                pause._check_skip_start()
                continue
            if portal:
                pause._check_portal()
            earliest = order._recurring_pause_earliest_start(portal=portal)
            if pause.start_date >= earliest:
                continue
            if portal:
                raise ValidationError(self.env._(
                    "Your pause can start on %(earliest)s at the earliest.", earliest=pause._long_date(earliest)))
            if pause.start_date < order._recurring_today():
                raise ValidationError(self.env._(
                    "%(pause)s: the field 'First Day Paused' cannot be in the past.", pause=pause._describe()))
            pause._refuse_before_start()

    def _check_portal(self):
        """What the plan allows a customer who pauses on the portal, in their words."""
        plan = self.order_id.recurring_plan_id
        if not plan.pause_portal:
            raise ValidationError(self.env._(
                "Your subscription cannot be paused online. Please contact us to pause it."))
        limit = plan._portal_max_pause_weeks()
        if self.weeks > limit:
            raise ValidationError(self.env._("A pause lasts at most %(limit)s weeks.", limit=limit))

    def _check_order_pausable(self, order, skip=False):
        reason = order._recurring_allowed_actions()["pause"]
        if reason and skip:
            raise ValidationError(self.env._("%(reason)s No delivery of it can be skipped.", reason=reason))
        if reason:
            raise ValidationError(self.env._("%(reason)s It cannot be paused.", reason=reason))

    # -- skips: one whole period without delivery ---------------------------

    def _check_skip_start(self):
        """When a skip is asked for: from the portal, before the plan's cut-off of its send day
        (``sale.order._recurring_before_cutoff``); from the back office, any day not past."""
        self.ensure_one()
        order = self.order_id
        if self.requested_by == "portal":
            if not order._recurring_before_cutoff(self.start_date):
                raise ValidationError(self.env._(
                    "The delivery of %(day)s can no longer be skipped: changes closed on %(cutoff)s.",
                    day=self._long_date(self.start_date), cutoff=order._recurring_cutoff_text(self.start_date)))
        elif self.start_date < order._recurring_today():
            raise ValidationError(self.env._(
                "%(pause)s: the field 'First Day Paused' cannot be in the past.", pause=self._describe()))

    @api.constrains("is_skip", "start_date", "end_date", "order_id")
    def _check_skip(self):
        """A skip is one whole period of a weekly plan that allows skips, within its limit of skips in
        any rolling 12 weeks, on the portal and in the back office alike.  Checked when the skip is
        asked for: a later change of the plan does not undo skips already agreed."""
        for skip in self.filtered(lambda p: p.is_skip and p.state == "scheduled"):
            order = skip.order_id
            plan = order.recurring_plan_id
            if plan.billing_unit != "week" or not plan.skip_allowed:
                skip._refuse(
                    self.env._("%(skip)s: the plan %(plan)s allows no skips (field 'Skips Allowed', plans billed "
                               "every N weeks).", skip=skip._describe(), plan=plan.display_name),
                    self.env._("Deliveries of your subscription cannot be skipped. Please contact us."))
            period = skip._skipped_period()
            if not period or period.start != skip.start_date or period.end != skip.end_date or period.is_prorated:
                skip._refuse(
                    self.env._("%(skip)s: %(day)s is not the send day of a whole period of the schedule; a skip "
                               "covers one whole period, from its send day.", skip=skip._describe(),
                               day=format_date(self.env, skip.start_date)),
                    self.env._("There is no delivery to skip on %(day)s.", day=skip._long_date(skip.start_date)))
            if plan.skip_max_12_weeks:
                days = [p.start_date for p in order.recurring_pause_ids if p.is_skip and p.state != "cancel"]
                count = periods.skips_around(days, skip.start_date)
                if count > plan.skip_max_12_weeks:
                    skip._refuse(
                        self.env._("%(skip)s: the subscription would skip %(count)s deliveries within 12 weeks; the "
                                   "plan allows %(limit)s (field 'Max Skips per 12 Weeks').", skip=skip._describe(),
                                   count=count, limit=plan.skip_max_12_weeks),
                        self.env._("You have reached the limit of skipped deliveries: %(limit)s in any 12 weeks.",
                                   limit=plan.skip_max_12_weeks))

    def _skipped_period(self):
        """The period of the schedule (without this skip) that starts on the skip's first day, or None."""
        self.ensure_one()
        args = self.order_id._recurring_schedule().period_args()
        mine = periods.Pause(self.start_date, self.end_date)
        args["pauses"] = tuple(span for span in args["pauses"] if span != mine)
        return periods.period_on(day=self.start_date, **args)

    # -- life cycle ----------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        orders = self.env["sale.order"].browse({vals.get("order_id") for vals in vals_list})
        for vals in vals_list:
            self._check_order_pausable(orders.browse(vals.get("order_id")), skip=vals.get("is_skip"))
        # a billing run holding the subscription would race with the paid days given back
        if orders._recurring_lock_rows() != orders:
            raise UserError(self.env._(
                "Subscription %(order)s is being billed right now; try again in a moment.",
                order=orders[0].display_name))
        pauses = super().create(vals_list)
        for pause in pauses:
            pause._apply()
        return pauses

    def _apply(self):
        """A new pause: push the term back, give back paid days, start when due, tell people."""
        self.ensure_one()
        order = self.order_id
        if self._extends_term(order):
            self.term_extension_days = (self.end_date - self.start_date).days + 1
            order.recurring_end_date += timedelta(days=self.term_extension_days)
        self._give_back_paid_days()
        if self.is_skip:
            self._announce_skip()
            if self.start_date <= order._recurring_today():
                self._start()
            return
        resume = format_date(self.env, self.resume_date)
        body = self.env._(
            "Paused for %(weeks)s week(s), from %(start)s; billing resumes on %(resume)s.",
            weeks=self.weeks, start=format_date(self.env, self.start_date), resume=resume)
        if self.reason_id:
            body = self.env._("%(body)s Reason: %(reason)s.", body=body, reason=self.reason_id.name)
        # followers hear of it: the customer and the salesperson
        if self.requested_by == "portal":
            order.message_subscribe(partner_ids=order.partner_id.ids)
        order.message_post(body=body, subtype_xmlid="mail.mt_comment" if self.requested_by == "portal"
                           else "mail.mt_note")
        if self.requested_by == "portal":
            self._send_to_customer("sale_weekly_subscription.mail_template_pause_confirmed")
        if self.start_date <= order._recurring_today():
            self._start()

    def _announce_skip(self):
        """The subscription's chatter says which delivery is skipped, and who asked."""
        self.ensure_one()
        period = self._skip_period_label()
        if self.requested_by == "portal":
            body = self.env._("Delivery of %(period)s skipped by the customer on the portal: not delivered, not "
                              "billed.", period=period)
        else:
            body = self.env._("Delivery of %(period)s skipped: not delivered, not billed.", period=period)
        if self.refund_ids:
            body = self.env._("%(body)s Its paid days are credited (%(refunds)s).", body=body,
                              refunds=", ".join(self.refund_ids.mapped("name")))
        elif self.carry_over_amount:
            body = self.env._("%(body)s Its paid days are deducted from the next invoice.", body=body)
        self.order_id.message_post(body=body, subtype_xmlid="mail.mt_note")

    def _give_back_paid_days(self):
        """The pause starts in a period already invoiced: give back the paid days from its
        start up to "Invoiced Until" (days an earlier pause gave back are not paid any more)."""
        order = self.order_id
        until = order.recurring_invoiced_until
        if not until or until < self.start_date:
            return
        invoices = self._paid_invoices(until)
        mode = order.recurring_plan_id.pause_unused_days
        lines = [vals for invoice in invoices for vals in self._unused_line_vals(invoice, until)]
        # untaxed, as the engine deducts it (a price with an included tax counts without it)
        amount = float(sum(self.env["sale.order.line"]._recurring_untaxed(vals["price_unit"], vals["tax_ids"], order)
                           for vals in lines))
        self.write({"invoiced_until_before": until})
        order._recurring_flow_write({"recurring_invoiced_until": self.start_date - ONE_DAY})
        if not lines:
            return
        if mode == "carry_over" and amount > self._first_amount_after():
            mode = "credit"  # the next invoice is too small to absorb it
            order.message_post(body=self.env._(
                "The unused paid days are credited: the first invoice after the pause is smaller than "
                "their amount."))
        if mode == "credit":
            # a correction's days are given back on the credit note of the invoice it corrects
            for invoice in invoices.filtered(lambda move: not move.recurring_correction):
                corrections = invoices.filtered(
                    lambda move, invoice=invoice: move.recurring_corrected_move_id == invoice)
                self._make_refund(invoice, self._unused_line_vals(invoice, until) + [
                    vals for correction in corrections for vals in self._unused_line_vals(correction, until)])
        else:
            self.write({
                "carry_over_lines": [{**vals, "price_unit": -vals["price_unit"]} for vals in lines],
                "carry_over_amount": amount,
            })

    def _paid_invoices(self, until):
        """The subscription's invoices with paid days from the pause start to ``until``, and the
        corrections of a change inside their periods (an invoice or a credit note)."""
        return self.order_id.recurring_invoice_ids.filtered(
            lambda move: (move.move_type == "out_invoice" or move.recurring_correction) and move.state != "cancel"
            and move.recurring_period_end and move.recurring_period_end >= self.start_date
            and move.recurring_period_start <= until).sorted("recurring_period_start")

    def _first_amount_after(self):
        """Untaxed amount of the first invoice after this pause (already in the schedule)."""
        order = self.order_id
        first = periods.next_period(invoiced_until=self.start_date - ONE_DAY,
                                    **order._recurring_schedule().period_args())
        return (first and order._recurring_period_amount(first)) or 0.0

    def _unused_line_vals(self, invoice, until):
        """Credit-note line values of the paid days of ``invoice`` from the pause start up to
        ``until``, prorated per line."""
        rounding = invoice.currency_id.rounding
        partner_env = self.with_context(lang=invoice.partner_id.lang or self.env.lang).env
        first = max(self.start_date, invoice.recurring_period_start)
        label = self.order_id._recurring_period_label(first, min(until, invoice.recurring_period_end))
        result = []
        # a one-off line is not billed per day: a pause gives none of it back
        for line in invoice.invoice_line_ids.filtered(
                lambda line: line.display_type == "product" and not line.sale_line_ids.filtered("recurring_one_off")):
            # a line bills its own period when the invoice bills two (a lead-in merged with its full period)
            start = line.recurring_period_start or invoice.recurring_period_start
            end = line.recurring_period_end or invoice.recurring_period_end
            if invoice.recurring_correction:
                # a correction's days, from the change on, at the difference of the two period amounts
                # (negative for a decrease): with the invoice's, the days at the price charged for them
                amount = periods.correction_amount(
                    line.recurring_base_before, line.recurring_base_after, start, end,
                    max(self.start_date, invoice.recurring_period_start), rounding,
                    paid_until=min(until, invoice.recurring_period_end))
            else:
                base = self.env["sale.order.line"]._recurring_base_line(
                    line.price_subtotal, line.price_total, line.tax_ids, self.order_id, line.product_id).prorated_base
                amount = periods.unused_amount(base, start, end, self.start_date, rounding, paid_until=until)
            if not amount:
                continue
            result.append({
                "sale_line_ids": [Command.set(line.sale_line_ids.ids)],
                "product_id": line.product_id.id,
                "product_uom_id": line.product_uom_id.id,
                "quantity": 1.0,
                "price_unit": float(amount),
                "tax_ids": [Command.set(line.tax_ids.ids)],
                "analytic_distribution": line.analytic_distribution,
                "name": partner_env._(
                    "Skipped: %(label)s, paid on %(invoice)s", label=label, invoice=invoice.name or "")
                if self.is_skip else partner_env._(
                    "Paused: %(label)s, paid on %(invoice)s", label=label, invoice=invoice.name or ""),
            })
        return result

    def _make_refund(self, invoice, lines):
        """A credit note of ``lines`` for ``invoice``, posted and matched with it while unpaid.

        Made as superuser once the pause is accepted: a salesperson may pause a
        subscription without the right to post credit notes.
        """
        # after a decrease to nothing, the days are given back by the correction already
        if not lines or sum((Decimal(str(vals["price_unit"])) for vals in lines), Decimal(0)) <= 0:
            return self.env["account.move"]
        order = self.order_id
        vals = order.sudo().with_company(invoice.company_id)._prepare_invoice()
        vals.pop("transaction_ids", None)  # a payment belongs to the invoice, not to its credit note
        vals.update({
            "move_type": "out_refund",
            # Odoo would take the customer's first bank account, the one the mandate debits: its full
            # IBAN would then show (and be tracked) on a credit note that salespeople read.  Days given
            # back reduce what the customer owes; an accountant sets an account if money goes back.
            "partner_bank_id": False,
            "company_id": invoice.company_id.id,
            "journal_id": invoice.journal_id.id,
            "partner_id": invoice.partner_id.id,
            "currency_id": invoice.currency_id.id,
            "invoice_date": order._recurring_today(),
            "fiscal_position_id": invoice.fiscal_position_id.id,
            "invoice_payment_term_id": invoice.invoice_payment_term_id.id,
            "invoice_origin": invoice.name,
            "reversed_entry_id": invoice.id,
            "ref": self.env._("Skipped delivery of %(start)s", start=format_date(self.env, self.start_date))
            if self.is_skip else self.env._("Pause from %(start)s", start=format_date(self.env, self.start_date)),
            "recurring_order_id": order.id,
            "recurring_pause_id": self.id,
            "recurring_period_start": max(self.start_date, invoice.recurring_period_start),
            "recurring_period_end": invoice.recurring_period_end,
            "invoice_line_ids": [Command.create(vals) for vals in lines],
        })
        refund = self.env["account.move"].sudo().with_company(invoice.company_id).create(vals)
        if invoice.state == "posted":
            refund._post(soft=False)
            open_lines = (invoice.sudo() + refund).line_ids.filtered(
                lambda line: line.account_id.account_type == "asset_receivable" and not line.reconciled)
            if invoice.payment_state not in ("paid", "in_payment") and len(open_lines) > 1:
                open_lines.reconcile()
            refund._recurring_send()
        return refund

    def _credit_carry_over(self):
        """No invoice is left to deduct from (closed, term ended): credit what is pending."""
        for pause in self.filtered(lambda p: p.carry_over_lines and not p.carry_over_move_id):
            invoice = pause._paid_invoices(pause.invoiced_until_before).filtered(
                lambda move: not move.recurring_correction)[:1]
            lines = [{**vals, "price_unit": -vals["price_unit"]} for vals in pause.carry_over_lines]
            if invoice:
                refund = pause._make_refund(invoice, lines)
                pause.carry_over_move_id = refund.id

    def _send_to_customer(self, template_xmlid):
        """Mail the customer ``template_xmlid`` about this pause (``sale.order._recurring_mail_customer``)."""
        self.ensure_one()
        self.order_id._recurring_mail_customer(self, template_xmlid)

    def _start(self):
        for pause in self:
            pause.state = "running"
            if pause.order_id.recurring_state in ("progress", "to_renew"):
                pause.order_id._recurring_flow_write({"recurring_state": "paused"})

    def _finish(self):
        """The pause is over: the subscription runs again, and says so."""
        for pause in self:
            pause.state = "done"
            order = pause.order_id
            if order.recurring_state == "paused" and "running" not in order.recurring_pause_ids.mapped("state"):
                order._recurring_flow_write({"recurring_state": "progress"})
                order._recurring_update_renewals()
            if pause.is_skip:
                continue  # announced when it was asked for: a skipped week passes without a word
            order.message_post(body=self.env._(
                "The pause has ended: the subscription runs again from %(day)s; next invoice on %(next)s.",
                day=format_date(self.env, pause.resume_date),
                next=format_date(self.env, order.recurring_next_invoice_date) if order.recurring_next_invoice_date
                else "-"))

    def _undo_term_extension(self, days):
        order = self.order_id
        if days and order.recurring_end_date:
            order.recurring_end_date -= timedelta(days=days)

    def action_cancel(self):
        """Cancel a pause that has not started, or unskip a skip: everything goes back as it was.

        A portal user unskips only until the plan's cut-off of the skipped send day; the back
        office also while the skipped week runs (delivered after all).  A pause or skip whose paid
        days were credited already cannot be cancelled: its period's invoice was credited, and
        billing the period again would need a second invoice of that period."""
        portal = self.env.user._is_portal()
        for pause in self:
            if pause.is_skip:
                pause._check_unskip(portal)
            if pause.state != "scheduled" and not (pause.is_skip and pause.state == "running"):
                raise UserError(self.env._(
                    "%(pause)s is %(state)s: only a scheduled pause can be cancelled.",
                    pause=pause.display_name, state=dict(pause._fields["state"]._description_selection(
                        self.env))[pause.state]))
            order = pause.order_id
            if pause.refund_ids or (pause.carry_over_lines
                                    and order.recurring_invoiced_until != pause.start_date - ONE_DAY):
                if pause.is_skip and portal:
                    raise UserError(self.env._(
                        "This delivery can no longer be unskipped online: it was already credited to you. Please "
                        "contact us."))
                if pause.is_skip:
                    raise UserError(self.env._(
                        "%(pause)s gave back paid days already (credit note, or another pause since): it cannot be "
                        "unskipped any more. Invoice the delivery by hand if it is made after all.",
                        pause=pause.display_name))
                if self.env.user._is_portal():
                    raise UserError(self.env._(
                        "This pause can no longer be cancelled online: the days it pauses were already "
                        "credited to you. Please contact us."))
                raise UserError(self.env._(
                    "%(pause)s gave back paid days already (credit note, or another pause since): it "
                    "cannot be cancelled any more. Let it start, then end it early.", pause=pause.display_name))
            pause._undo_term_extension(pause.term_extension_days)
            if pause.carry_over_lines:
                # the paid days were not given back yet: they are simply paid again
                order._recurring_flow_write({"recurring_invoiced_until": pause.invoiced_until_before})
            running = pause.state == "running"
            pause.write({"state": "cancel", "term_extension_days": 0, "carry_over_lines": False,
                         "carry_over_amount": 0.0})
            if running and order.recurring_state == "paused" \
                    and "running" not in order.recurring_pause_ids.mapped("state"):
                order._recurring_flow_write({"recurring_state": "progress"})
                order._recurring_update_renewals()
            if pause.is_skip:
                order.message_post(body=self.env._(
                    "Delivery of %(period)s unskipped by the customer on the portal: delivered and billed as usual.",
                    period=pause._skip_period_label()) if portal else self.env._(
                    "Delivery of %(period)s unskipped: delivered and billed as usual.",
                    period=pause._skip_period_label()), subtype_xmlid="mail.mt_note")
                continue
            order.message_post(
                body=self.env._("The pause from %(start)s is cancelled.",
                                start=format_date(self.env, pause.start_date)),
                subtype_xmlid="mail.mt_comment" if self.env.user._is_portal() else "mail.mt_note")
            if self.env.user._is_portal():
                pause._send_to_customer("sale_weekly_subscription.mail_template_pause_cancelled")
        return True

    def _check_unskip(self, portal):
        """Whether this skip may be cancelled now: while it is to come, or in the back office while its
        week runs; on the portal, a skip the customer asked for there, until the cut-off of its send day."""
        self.ensure_one()
        order = self.order_id
        if portal and (self.requested_by != "portal" or self.state != "scheduled"
                       or not order._recurring_before_cutoff(self.start_date)):
            raise UserError(self.env._(
                "The delivery of %(day)s can no longer be changed online: changes closed on %(cutoff)s. Please "
                "contact us.", day=self._long_date(self.start_date),
                cutoff=order._recurring_cutoff_text(self.start_date))
                if self.requested_by == "portal" else self.env._(
                "We skipped the delivery of %(day)s for you: please contact us to change it.",
                day=self._long_date(self.start_date)))
        if self.state not in ("scheduled", "running"):
            raise UserError(self.env._(
                "%(pause)s is over: only a skip still to come or under way can be unskipped.",
                pause=self.display_name))

    def action_unskip(self):
        """Unskip: the skipped delivery is made and billed as usual (``action_cancel``)."""
        if self.filtered(lambda pause: not pause.is_skip):
            raise UserError(self.env._("Only a skipped delivery can be unskipped."))
        return self.action_cancel()

    def action_end_early(self, last_day=None):
        """End a running pause: the last paused day is yesterday (or ``last_day``)."""
        for pause in self:
            if pause.is_skip:
                raise UserError(self.env._(
                    "%(pause)s is one skipped delivery: it cannot be ended early.", pause=pause.display_name))
            if pause.state != "running":
                raise UserError(self.env._(
                    "%(pause)s is not running: only a running pause can be ended early.", pause=pause.display_name))
            order = pause.order_id
            new_end = last_day or order._recurring_today() - ONE_DAY
            if new_end >= pause.end_date:
                raise UserError(self.env._(
                    "%(pause)s already ends on %(end)s.", pause=pause.display_name,
                    end=format_date(self.env, pause.end_date)))
            # a running pause keeps at least its first day: the days it gave back stay given back
            new_end = max(new_end, pause.start_date)
            shortened = (pause.end_date - new_end).days
            if pause.term_extension_days:
                pause._undo_term_extension(min(shortened, pause.term_extension_days))
                pause.term_extension_days = max(0, pause.term_extension_days - shortened)
            pause.end_date = new_end
            order.message_post(body=self.env._("The pause was ended early; its last day is %(day)s.",
                                               day=format_date(self.env, new_end)))
            pause._finish()
        return True

    @api.model
    def _cron_recurring_pauses(self):
        """Hourly: start the pauses whose first day has come, end those whose last day has passed."""
        # started first: a pause whose days all went by since the last run starts and ends;
        # then one that follows another without a gap keeps the subscription paused
        due = self.search([("state", "=", "scheduled")])
        due.filtered(lambda p: p.start_date <= p.order_id._recurring_today())._start()
        over = self.search([("state", "=", "running")])
        over.filtered(lambda p: p.end_date < p.order_id._recurring_today())._finish()

    def action_view_order(self):
        self.ensure_one()
        return self.order_id._recurring_form_action()
