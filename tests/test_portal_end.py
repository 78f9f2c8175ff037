import re
from datetime import date

from freezegun import freeze_time

from odoo import fields
from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import format_date

from .common import SubscriptionCase


@tagged("post_install", "-at_install")
@freeze_time("2026-12-02 10:00")
class TestPortalEnd(SubscriptionCase, HttpCase):
    """End my subscription on the portal: the earliest day, a reason, a pause offered first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = cls._create_plan(name="Weekly box", auto_send=False, notice_quantity=2, notice_unit="week",
                                    pause_notice_days=7, pause_max_weeks=6)

        cls.portal_a = cls._portal_user("portal_a", "Anna Peeters")
        cls.portal_b = cls._portal_user("portal_b", "Bram Janssens")
        cls.start = date(2026, 11, 30)  # Monday
        cls.order_a = cls._create_subscription(cls.plan, cls.start, partner_id=cls.portal_a.partner_id.id)
        cls.order_b = cls._create_subscription(cls.plan, cls.start, partner_id=cls.portal_b.partner_id.id)
        cls.price = cls.env.ref("sale_weekly_subscription.close_reason_price")
        cls.url = f"/my/subscriptions/{cls.order_a.id}"

    def setUp(self):
        super().setUp()
        self.authenticate("portal_a", "portal_a")

    def _csrf(self, url):
        page = self.url_open(url)
        self.assertEqual(page.status_code, 200)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def _post(self, url, **values):
        return self.url_open(url, data={"csrf_token": self._csrf("/my/account"), **values})

    def _long(self, day):
        return format_date(self.env, day, date_format="long")

    def _requests(self, order):
        return self.env["sale.recurring.cancel.request"].search([("order_id", "=", order.id)])

    def test_the_earliest_end_shown_is_the_back_offices(self):
        earliest = self.order_a._recurring_earliest_close_date()
        self.assertEqual(earliest, date(2026, 12, 16))  # today plus the two weeks' notice
        wizard = self.env["sale.order.recurring.close"].new({
            "order_id": self.order_a.id, "reason_id": self.reason.id})
        self.assertEqual(wizard.earliest_date, earliest)
        self.assertIn(f"{self.url}/end", self.url_open(self.url).text)
        page = self.url_open(f"{self.url}/end").text
        self.assertIn(f'min="{fields.Date.to_string(earliest)}"', page)
        self.assertRegex(page, rf'o_portal_end_earliest"[^>]*>{self._long(earliest)}</strong>')
        # reasons only the company decides are not offered
        self.assertIn(self.price.name, page)
        self.assertNotIn(self.env.ref("sale_weekly_subscription.close_reason_unpaid").name, page)

    def test_step_two_offers_a_pause_and_changes_nothing(self):
        response = self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-16")
        self.assertIn("o_portal_end_confirm", response.text)
        # the pause offered: from the earliest portal pause start, 4 weeks (the plan allows 6)
        start = self.order_a._recurring_pause_earliest_start(portal=True)
        self.assertEqual(start, date(2026, 12, 9))
        pause = self.env["sale.recurring.pause"].new({"order_id": self.order_a.id, "start_date": start, "weeks": 4})
        self.assertEqual((pause.end_date, pause.resume_date), (date(2027, 1, 5), date(2027, 1, 6)))
        start, end, resume, last = (self._long(day) for day in (
            start, date(2027, 1, 5), date(2027, 1, 6), date(2026, 12, 16)))
        self.assertIn(f"Pause your subscription for 4 weeks instead, from {start} to {end}: no delivery and no "
                      f"invoice for those days, and everything resumes on its own on {resume}.", response.text)
        self.assertIn(f"End my subscription on {last}", response.text)
        self.assertFalse(self.order_a.recurring_pause_ids)
        self.assertFalse(self.order_a.recurring_close_date)
        self.assertFalse(self._requests(self.order_a))

    def test_pause_instead(self):
        response = self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-16",
                              comment="Too much food", decision="pause")
        self.assertIn("o_portal_pause_done", response.text)
        pause = self.order_a.recurring_pause_ids
        self.assertEqual((pause.start_date, pause.weeks, pause.requested_by, pause.state),
                         (date(2026, 12, 9), 4, "portal", "scheduled"))
        self.assertEqual(self.order_a.recurring_state, "progress")
        self.assertFalse(self.order_a.recurring_close_date)
        request = self._requests(self.order_a)
        self.assertEqual((request.outcome, request.pause_id, request.reason_id, request.comment, request.request_date),
                         ("paused", pause, self.price, "Too much food", date(2026, 12, 2)))
        # the pause's own confirmation went out
        self.assertTrue(pause.message_ids.filtered(lambda m: "is paused from" in (m.subject or "")))

    def test_end(self):
        response = self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-23",
                              decision="end")
        self.assertIn("o_portal_end_done", response.text)
        order = self.order_a
        self.assertEqual((order.recurring_close_date, order.recurring_close_reason_id),
                         (date(2026, 12, 23), self.price))
        self.assertEqual(order.recurring_state, "progress")  # until its last day
        request = self._requests(order)
        self.assertEqual((request.outcome, request.close_date, request.pause_id), ("ended", date(2026, 12, 23),
                                                                                  self.env["sale.recurring.pause"]))
        message = request.message_ids.filtered(lambda m: "ends on" in (m.subject or ""))
        self.assertEqual(message.partner_ids, self.portal_a.partner_id)
        self.assertIn(self._long(date(2026, 12, 23)), message.subject)
        self.assertTrue(order.message_ids.filtered(lambda m: "Subscription closed as of" in str(m.body)))
        # ended: the link is gone and a second request is refused
        self.assertNotIn(f"{self.url}/end", self.url_open(self.url).text)
        self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-30", decision="end")
        self.assertEqual(order.recurring_close_date, date(2026, 12, 23))
        self.assertEqual(len(self._requests(order)), 1)

    def test_a_tampered_earlier_date_is_refused(self):
        for close_date, message in [
            ("2026-12-15", f"Your subscription can end on {self._long(date(2026, 12, 16))} at the earliest."),
            ("2026-12-02", "at the earliest"),
            ("2026-12-16junk", "at the earliest"),
            ("", "at the earliest"),
            ("2099-01-01", "within two years"),
        ]:
            for decision in ("", "end"):
                response = self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date=close_date,
                                      decision=decision)
                self.assertEqual(response.status_code, 200)
                self.assertIn("o_portal_end_error", response.text)
                self.assertIn(message, response.text)
                self.assertNotIn("manager", response.text)
        # no reason, or one the portal does not offer
        unpaid = self.env.ref("sale_weekly_subscription.close_reason_unpaid")
        for reason_id in ("", str(unpaid.id), "x"):
            response = self._post(f"{self.url}/end", reason_id=reason_id, close_date="2026-12-16", decision="end")
            self.assertIn("Please tell us why you are leaving.", response.text)
        self.assertFalse(self.order_a.recurring_close_date)
        self.assertFalse(self._requests(self.order_a))

    def test_another_customers_subscription_is_out_of_reach(self):
        other = f"/my/subscriptions/{self.order_b.id}/end"
        self.assertEqual(self.url_open(other).status_code, 404)
        for decision in ("", "end", "pause"):
            response = self._post(other, reason_id=str(self.price.id), close_date="2026-12-16", decision=decision)
            self.assertEqual(response.status_code, 404)
        # an order id smuggled into the form is ignored
        self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-16", decision="end",
                   order_id=str(self.order_b.id))
        self.assertFalse(self.order_b.recurring_close_date)
        self.assertFalse(self.order_b.recurring_pause_ids)
        self.assertFalse(self._requests(self.order_b))
        self.assertEqual(self.order_a.recurring_close_date, date(2026, 12, 16))
        # no CSRF token: refused
        response = self.url_open(f"/my/subscriptions/{self.order_a.id}/end", data={
            "reason_id": str(self.price.id), "close_date": "2026-12-30", "decision": "end"})
        self.assertIn(response.status_code, (400, 403))
        # portal users read no request, even their own
        Request = self.env["sale.recurring.cancel.request"].with_user(self.portal_a)
        self.assertFalse(Request.has_access("read"))

    def test_no_pause_offered_when_the_plan_allows_none(self):
        self.plan.pause_portal = False
        response = self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-16")
        self.assertIn("o_portal_end_confirm", response.text)
        self.assertNotIn("o_portal_end_pause", response.text)
        response = self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-16",
                              decision="pause")
        self.assertIn("cannot be paused online", response.text)
        self.assertFalse(self.order_a.recurring_pause_ids)
        self.assertFalse(self._requests(self.order_a))

    def test_a_subscription_that_cannot_close_refuses(self):
        self.order_a._recurring_close(date(2026, 12, 20), self.reason)
        self.assertFalse(self.order_a.recurring_can_close)
        self.assertNotIn(f"{self.url}/end", self.url_open(self.url).text)
        self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-30", decision="end")
        self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-30", decision="pause")
        self.assertEqual(self.order_a.recurring_close_date, date(2026, 12, 20))
        self.assertFalse(self.order_a.recurring_pause_ids)
        self.assertFalse(self._requests(self.order_a))

    def test_the_report_counts_the_saved_ones(self):
        (self.order_a | self.order_b).user_id = self.user
        self._post(f"{self.url}/end", reason_id=str(self.price.id), close_date="2026-12-16", decision="pause")
        self.authenticate("portal_b", "portal_b")
        url_b = f"/my/subscriptions/{self.order_b.id}"
        self._post(f"{url_b}/end", reason_id=str(self.price.id), close_date="2026-12-16", decision="end")
        # a subscription user reads the report; the "Saved by a pause" filter is its domain
        Request = self.env["sale.recurring.cancel.request"].with_user(self.user)
        counts = dict(Request._read_group([("order_id", "in", (self.order_a | self.order_b).ids)],
                                          ["outcome"], ["__count"]))
        self.assertEqual(counts, {"paused": 1, "ended": 1})
        self.assertEqual(Request.search_count([("outcome", "=", "paused")]), 1)
        self.assertFalse(Request.has_access("write"))
        action = self.env.ref("sale_weekly_subscription.sale_recurring_cancel_request_action")
        self.assertEqual(action.res_model, Request._name)


@tagged("post_install", "-at_install")
class TestPortalEndTour(SubscriptionCase, HttpCase):
    """The browser flow, unfrozen (the browser keeps its own clock): a delivery skipped, the next box
    changed, then a pause taken instead of ending."""

    def test_portal_end_tour(self):
        company = self.company_data["company"]
        plan = self._create_plan(name="Weekly box", auto_send=False, notice_quantity=2, notice_unit="week",
                                 skip_allowed=True, line_ids=[Command.create({
                                     "product_id": self.product_box.id, "price_unit": 39.90,
                                     "portal_changeable": True, "portal_max_quantity": 4})])
        user = new_test_user(self.env, login="portal_end", groups="base.group_portal", name="Anna Peeters",
                             company_id=company.id, company_ids=[Command.set(company.ids)])
        today = fields.Date.context_today(self.env.user)
        order = self._create_subscription(plan, today, partner_id=user.partner_id.id)
        self.start_tour("/my/subscriptions", "sale_weekly_subscription_portal_end", login="portal_end")
        request = self.env["sale.recurring.cancel.request"].search([("order_id", "=", order.id)])
        self.assertEqual((request.outcome, request.pause_id),
                         ("paused", order.recurring_pause_ids.filtered(lambda pause: not pause.is_skip)))
        self.assertEqual((request.pause_id.weeks, request.pause_id.state), (4, "scheduled"))
        self.assertFalse(order.recurring_close_date)
        skip = order.recurring_pause_ids.filtered("is_skip")
        self.assertEqual((len(skip), skip.state), (1, "scheduled"))
        self.assertFalse(skip.start_date <= request.pause_id.start_date <= skip.end_date)
        change = order.recurring_line_change_ids
        self.assertEqual((len(change), change.quantity, change.state), (1, 3, "scheduled"))
