import re
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.http import request, route
from odoo.tools import format_date

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from ..models.sale_order import RUNNING_STATES

# what the pause form may send: nothing looser is read
STRICT_WEEKS = re.compile(r"[0-9]{1,3}")
STRICT_ID = re.compile(r"[0-9]{1,9}")
STRICT_QUANTITY = re.compile(r"[0-9]{1,4}")
CHANGE_PERIODS = 6  # the next box, and the few after it, can be changed on the portal
STRICT_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# send days listed in "Next deliveries", each with Skip or Unskip until its cut-off
DELIVERIES = 8


def strict_date(value):
    """A whole ISO date from the browser, or None."""
    try:
        return fields.Date.to_date(value) if isinstance(value, str) and STRICT_DATE.fullmatch(value) else None
    except (TypeError, ValueError, OverflowError):
        return None


class SubscriptionPortal(CustomerPortal):
    """Subscribers' own subscriptions at /my/subscriptions: see them, pause them.

    Every route looks the subscription up among the logged-in user's commercial
    partner's own; anything else is a 404, whatever the id in the URL or the
    form.  Records are read and changed with sudo only after that check.
    """

    def _subscription_domain(self):
        partner = request.env.user.partner_id.commercial_partner_id
        return [("recurring_plan_id", "!=", False), ("state", "=", "sale"),
                ("recurring_state", "not in", ("draft", "cancel")),
                ("partner_id", "child_of", partner.id)]

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "subscription_count" in counters:
            values["subscription_count"] = request.env["sale.order"].sudo().search_count(
                self._subscription_domain()) if not request.env.user._is_public() else 0
        return values

    def _own_subscription(self, order_id):
        """The user's own subscription ``order_id`` (sudo), or None."""
        if request.env.user._is_public():
            return None
        order = request.env["sale.order"].sudo().search(
            [("id", "=", int(order_id)), *self._subscription_domain()], limit=1)
        return order or None

    @route(["/my/subscriptions", "/my/subscriptions/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_subscriptions(self, page=1, **kw):
        values = self._prepare_portal_layout_values()
        Order = request.env["sale.order"].sudo()
        domain = self._subscription_domain()
        pager = portal_pager(url="/my/subscriptions", total=Order.search_count(domain), page=page,
                             step=self._items_per_page)
        subscriptions = Order.search(domain, order="recurring_state, recurring_next_invoice_date, id",
                                     limit=self._items_per_page, offset=pager["offset"])
        values.update({
            "subscriptions": subscriptions,
            "page_name": "subscription",
            "pager": pager,
            "default_url": "/my/subscriptions",
        })
        return request.render("sale_weekly_subscription.portal_my_subscriptions", values)

    def _cancellable_pauses(self, order):
        """The pauses of ``order`` its subscriber may cancel: the scheduled ones they asked for on
        the portal, until the day before they start.  The page's buttons and the server read it."""
        today = order._recurring_today()
        return order.recurring_pause_ids.filtered(
            lambda p: p.requested_by == "portal" and p.state == "scheduled" and p.start_date > today and not p.is_skip)

    def _deliveries(self, order):
        """The "Next deliveries" card: the next send days, each with what its subscriber may do now.
        The page's buttons read it, and the skip route takes only a day it lists; the skip's own rules
        (``sale.recurring.pause._check_skip``, the cut-off) decide on the server."""
        if not (order.recurring_plan_id.skip_allowed and order.recurring_billing_unit == "week"):
            return []
        env = request.env
        can = order.recurring_can_pause
        rows = []
        for row in order._recurring_deliveries(DELIVERIES):
            skip = row["skip"]
            own = bool(skip) and skip.requested_by == "portal"
            changeable = can and row["skippable"] and (own or not skip)
            cutoff = order._recurring_cutoff_text(row["start"])
            if skip and not own:
                note = env._("Skipped by our team: please contact us to change it.")
            elif not changeable:
                note = env._("This delivery cannot be skipped.")
            elif row["open"]:
                note = env._("You can change it until %(cutoff)s.", cutoff=cutoff)
            else:
                note = env._("Changes closed on %(cutoff)s.", cutoff=cutoff)
            rows.append({
                **row,
                "day_text": format_date(env, row["start"], date_format="full"),
                "can_skip": changeable and row["open"] and not skip,
                "can_unskip": changeable and row["open"] and own and skip.state == "scheduled",
                "closed": changeable and not row["open"],
                "note": note,
            })
        return rows

    def _subscription_page_values(self, order, error=None, form=None, cancel_pause=None):
        values = self._prepare_portal_layout_values()
        plan = order.recurring_plan_id
        invoices = order.recurring_invoice_ids.filtered(lambda move: move.state == "posted").sorted(
            "invoice_date", reverse=True)
        values.update({
            "subscription": order,
            "page_name": "subscription",
            "next_total": order._recurring_next_invoice_total(),
            "pauses": order.recurring_pause_ids.filtered(lambda p: p.state != "cancel" and not p.is_skip).sorted(
                "start_date"),
            "deliveries": self._deliveries(order),
            "cancellable": self._cancellable_pauses(order),
            "cancel_pause": cancel_pause,
            "cancel_question": cancel_pause and request.env._(
                "Cancel your pause from %(start)s to %(end)s? Deliveries and billing then go on as usual.",
                start=cancel_pause._long_date(cancel_pause.start_date),
                end=cancel_pause._long_date(cancel_pause.end_date)),
            "invoices": invoices,
            "can_pause": plan.pause_portal and order.recurring_can_pause,
            "can_end": order.recurring_can_close,
            # the first day the server accepts is the one the form allows and proposes
            "earliest_start": order._recurring_pause_earliest_start(portal=True),
            "max_weeks": plan._portal_max_pause_weeks(),
            "reasons": request.env["sale.recurring.pause.reason"].sudo().search([("portal", "=", True)]),
            "error": error,
            "form": form or {},
        })
        values.update(self._change_page_values(order))
        return values

    # -- Change the next box: a line's quantity or variant, for one period or from it on -----------

    def _changeable_lines(self, order):
        """The lines of ``order`` its subscriber may change (the plan's *Subscriber May Change*), with the
        plan's rule: [(line, rule)].  A line at 0 whose product has another line is left out (the old
        variant of a switch from then on)."""
        lines = order.order_line.filtered(lambda line: line._recurring_is_billed_per_period())
        result = []
        for line in lines:
            rule = line._recurring_portal_rule()
            if not rule:
                continue
            if not line.product_uom_qty and (lines - line).filtered(
                    lambda other, line=line: other.product_id.product_tmpl_id == line.product_id.product_tmpl_id):
                continue
            result.append((line, rule))
        return result

    def _change_periods(self, order):
        """The periods whose box the subscriber may still change: [(first day, label, cut-off in words)],
        those of the next invoices whose cut-off has not passed."""
        if not order.recurring_next_period_start:
            return []
        found = []
        for invoice in order._recurring_invoices(CHANGE_PERIODS):
            for period in invoice.periods:
                if order._recurring_before_cutoff(period.start):
                    found.append((period.start, order._recurring_period_label(period.start, period.end),
                                  order.with_context(lang=request.env.lang)._recurring_cutoff_text(period.start)))
        return found

    def _change_page_values(self, order):
        # the model's rule (``sale.recurring.line.change._check_period``): a running or paused subscription
        changeable = self._changeable_lines(order) if order.recurring_state in RUNNING_STATES else []
        return {
            "changeable": changeable,
            "change_periods": self._change_periods(order) if changeable else [],
            "variants": {line.id: line.product_id.product_tmpl_id.product_variant_ids.filtered("sale_ok")
                         for line, _rule in changeable},
            "next_lines": order._recurring_next_invoice_lines(),
            "line_changes": order.recurring_line_change_ids.filtered(
                lambda change: change.state == "scheduled").sorted("date"),
        }

    @route("/my/subscriptions/<int:order_id>/change", type="http", auth="user", website=True, methods=["POST"])
    def portal_change_line(self, order_id, line_id=None, product_id=None, quantity=None, date=None, scope=None,
                           **kw):
        """Change the next box: one line's quantity or variant, for one period (``scope`` "once") or from
        it on ("from").  The line must be one of the user's own subscription; the plan's limits and the
        cut-off are the model's rules (``sale.recurring.line.change``)."""
        order = self._own_subscription(order_id)
        if not order:
            return request.not_found()
        line = order.order_line.filtered(lambda own: str(own.id) == line_id) \
            if isinstance(line_id, str) and STRICT_ID.fullmatch(line_id) else None
        if not line:
            return request.not_found()
        env = request.env
        form = {"line_id": line_id, "product_id": product_id, "quantity": quantity, "date": date, "scope": scope}
        try:
            product = line.product_id.product_tmpl_id.product_variant_ids.filtered(
                lambda p: str(p.id) == product_id) if isinstance(product_id, str) else None
            try:
                day = fields.Date.to_date(date) if isinstance(date, str) and STRICT_DATE.fullmatch(date) else None
            except (TypeError, ValueError, OverflowError):
                day = None
            if not product or not day or scope not in ("once", "from") \
                    or not (isinstance(quantity, str) and STRICT_QUANTITY.fullmatch(quantity)):
                raise UserError(env._("Choose a product, a whole quantity and the box to change."))
            with env.cr.savepoint():
                env["sale.recurring.line.change"].sudo().with_context(lang=env.lang)._recurring_portal_change(
                    order, line, product, int(quantity), day, scope)
        except (UserError, ValidationError) as error:
            return request.render("sale_weekly_subscription.portal_my_subscription",
                                  self._subscription_page_values(order, error=str(error.args[0]), form=form))
        return request.redirect(f"/my/subscriptions/{order.id}?changed=1")

    @route("/my/subscriptions/<int:order_id>", type="http", auth="user", website=True)
    def portal_my_subscription(self, order_id, cancel=None, **kw):
        order = self._own_subscription(order_id)
        if not order:
            return request.not_found()
        # ?cancel=<pause id>: the step that asks to confirm the cancellation of that pause
        cancel_pause = self._cancellable_pauses(order).filtered(
            lambda p: str(p.id) == cancel) if isinstance(cancel, str) and cancel.isdigit() else None
        return request.render("sale_weekly_subscription.portal_my_subscription",
                              self._subscription_page_values(order, cancel_pause=cancel_pause or None))

    @route("/my/subscriptions/<int:order_id>/pause", type="http", auth="user", website=True,
           methods=["POST"])
    def portal_pause_subscription(self, order_id, weeks=None, start_date=None, reason_id=None, **kw):
        order = self._own_subscription(order_id)
        if not order:
            return request.not_found()
        form = {"weeks": weeks, "start_date": start_date, "reason_id": reason_id}
        env = request.env
        try:
            # nothing from the browser is trusted: bounded here, then the model's rules
            # strictly: ASCII digits only ("１" is no 1), a whole ISO date ("2027-02-01junk" is none)
            weeks = int(weeks) if isinstance(weeks, str) and STRICT_WEEKS.fullmatch(weeks) else 0
            try:
                start = fields.Date.to_date(start_date) \
                    if isinstance(start_date, str) and STRICT_DATE.fullmatch(start_date) else None
            except (TypeError, ValueError, OverflowError):
                start = None
            today = order._recurring_today()
            limit = order.recurring_plan_id._portal_max_pause_weeks()
            # the earliest start is the model's rule (``_recurring_pause_earliest_start``), checked there
            if not start or not 1 <= weeks <= limit or start > today + timedelta(days=730):
                raise UserError(env._(
                    "Enter a number of weeks from 1 to %(limit)s and a first day within two years.", limit=limit))
            reason = env["sale.recurring.pause.reason"].sudo().search(
                [("id", "=", int(reason_id)), ("portal", "=", True)], limit=1) \
                if reason_id and str(reason_id).isdigit() else env["sale.recurring.pause.reason"]
            with env.cr.savepoint():
                env["sale.recurring.pause"].sudo().with_context(lang=env.lang).create({
                    "order_id": order.id,
                    "start_date": start,
                    "weeks": weeks,
                    "reason_id": reason.id,
                    "comment": (kw.get("comment") or "")[:500] or False,
                    "requested_by": "portal",
                })
        except (UserError, ValidationError) as error:
            return request.render("sale_weekly_subscription.portal_my_subscription",
                                  self._subscription_page_values(order, error=str(error.args[0]), form=form))
        return request.redirect(f"/my/subscriptions/{order.id}?paused=1")

    @route("/my/subscriptions/<int:order_id>/pause/<int:pause_id>/cancel", type="http", auth="user",
           website=True, methods=["POST"])
    def portal_cancel_pause(self, order_id, pause_id, confirm=None, **kw):
        """Cancel a pause once the subscriber confirmed it (``confirm=yes``); without that, the page
        asks them to confirm, whatever sent the request."""
        order = self._own_subscription(order_id)
        if not order:
            return request.not_found()
        pause = self._cancellable_pauses(order).filtered(lambda p: p.id == pause_id)
        if not pause:
            return request.not_found()
        if confirm != "yes":
            return request.render("sale_weekly_subscription.portal_my_subscription",
                                  self._subscription_page_values(order, cancel_pause=pause))
        try:
            with request.env.cr.savepoint():
                pause.with_context(lang=request.env.lang).action_cancel()
        except UserError as error:
            return request.render("sale_weekly_subscription.portal_my_subscription",
                                  self._subscription_page_values(order, error=str(error.args[0])))
        return request.redirect(f"/my/subscriptions/{order.id}?cancelled=1")

    # -- Next deliveries: skip one, unskip it, until the cut-off ----------------------------------

    @route("/my/subscriptions/<int:order_id>/skip", type="http", auth="user", website=True, methods=["POST"])
    def portal_skip_delivery(self, order_id, day=None, **kw):
        """Skip the delivery of ``day``, one of the send days listed; the rest is the skip's rules."""
        order = self._own_subscription(order_id)
        if not order:
            return request.not_found()
        env = request.env
        start = strict_date(day)
        try:
            if not start or start not in {row["start"] for row in self._deliveries(order)}:
                raise UserError(env._("Please pick one of the deliveries listed."))
            with env.cr.savepoint():
                order.with_context(lang=env.lang)._recurring_skip(start, requested_by="portal")
        except (UserError, ValidationError) as error:
            return request.render("sale_weekly_subscription.portal_my_subscription",
                                  self._subscription_page_values(order, error=str(error.args[0])))
        return request.redirect(f"/my/subscriptions/{order.id}?skipped=1#next_deliveries")

    @route("/my/subscriptions/<int:order_id>/skip/<int:skip_id>/unskip", type="http", auth="user", website=True,
           methods=["POST"])
    def portal_unskip_delivery(self, order_id, skip_id, **kw):
        """Unskip a skip of this subscription: the model allows it for a skip asked for on the portal,
        until the cut-off (``sale.recurring.pause._check_unskip``)."""
        order = self._own_subscription(order_id)
        if not order:
            return request.not_found()
        skip = order.recurring_pause_ids.filtered(lambda p: p.id == skip_id and p.is_skip and p.state != "cancel")
        if not skip:
            return request.not_found()
        try:
            with request.env.cr.savepoint():
                skip.with_context(lang=request.env.lang).action_unskip()
        except (UserError, ValidationError) as error:
            return request.render("sale_weekly_subscription.portal_my_subscription",
                                  self._subscription_page_values(order, error=str(error.args[0])))
        return request.redirect(f"/my/subscriptions/{order.id}?unskipped=1#next_deliveries")

    # -- End my subscription: the earliest day, a reason, then a pause offered first ------------

    def _end_reasons(self):
        return request.env["sale.recurring.close.reason"].sudo().search([("portal_ok", "=", True)])

    def _end_page_values(self, order, error=None, form=None, step="ask"):
        """The values of the "End my subscription" page: ``step`` "ask" (the earliest day, the
        reason) or "confirm" (the pause offered instead, then the end confirmed)."""
        values = self._prepare_portal_layout_values()
        Request = request.env["sale.recurring.cancel.request"].sudo().with_context(lang=request.env.lang)
        form = form or {}
        earliest = order._recurring_earliest_close_date()
        close_date = form.get("close_date_value") or earliest
        offer = Request._pause_offer(order) if step == "confirm" else None
        long_date = Request.env["sale.recurring.pause"]._long_date
        values.update({
            "subscription": order,
            "page_name": "subscription",
            # the back office's rule, the one the server checks
            "earliest_end": earliest,
            "close_date": close_date,
            "reasons": self._end_reasons(),
            "offer": offer,
            "offer_text": offer and request.env._(
                "Pause your subscription for %(weeks)s weeks instead, from %(start)s to %(end)s: no delivery "
                "and no invoice for those days, and everything resumes on its own on %(resume)s.",
                weeks=offer.weeks, start=long_date(offer.start_date), end=long_date(offer.end_date),
                resume=long_date(offer.resume_date)),
            "end_label": request.env._("End my subscription on %(day)s", day=long_date(close_date)),
            "step": step,
            "error": error,
            "form": form,
        })
        return values

    def _read_end_form(self, order, reason_id, close_date, comment):
        """The reason and the last day from the browser, checked; raises in the subscriber's words."""
        env = request.env
        reason = self._end_reasons().filtered(lambda r: str(r.id) == reason_id) \
            if isinstance(reason_id, str) and reason_id.isdigit() else env["sale.recurring.close.reason"]
        if not reason:
            raise UserError(env._("Please tell us why you are leaving."))
        try:
            day = fields.Date.to_date(close_date) \
                if isinstance(close_date, str) and STRICT_DATE.fullmatch(close_date) else None
        except (TypeError, ValueError, OverflowError):
            day = None
        env["sale.recurring.cancel.request"].sudo().with_context(lang=env.lang)._check_close_date(order, day)
        return reason, day, (comment or "")[:500] or False

    @route("/my/subscriptions/<int:order_id>/end", type="http", auth="user", website=True,
           methods=["GET", "POST"])
    def portal_end_subscription(self, order_id, reason_id=None, close_date=None, comment=None, decision=None,
                                **kw):
        """End my subscription, in steps: a GET or a POST without a valid reason shows the form;
        a valid POST shows the pause offered and the end to confirm; ``decision`` "pause" or
        "end" (POST only) does it.  Nothing changes before a decision."""
        order = self._own_subscription(order_id)
        if not order:
            return request.not_found()
        template = "sale_weekly_subscription.portal_my_subscription_end"
        if not order.recurring_can_close:
            return request.redirect(f"/my/subscriptions/{order.id}")
        form = {"reason_id": reason_id, "close_date": close_date, "comment": comment}
        if request.httprequest.method != "POST":
            return request.render(template, self._end_page_values(order))
        env = request.env
        Request = env["sale.recurring.cancel.request"].sudo().with_context(lang=env.lang)
        step = "ask"
        try:
            reason, day, comment = self._read_end_form(order, reason_id, close_date, comment)
            form["close_date_value"] = day
            step = "confirm"
            if decision not in ("pause", "end"):
                return request.render(template, self._end_page_values(order, form=form, step=step))
            with env.cr.savepoint():
                if decision == "pause":
                    Request._portal_pause_instead(order, reason, comment)
                else:
                    Request._portal_end(order, reason, day, comment)
        except (UserError, ValidationError) as error:
            return request.render(template, self._end_page_values(
                order, error=str(error.args[0]), form=form, step=step))
        return request.redirect(f"/my/subscriptions/{order.id}?{'paused' if decision == 'pause' else 'ended'}=1")
