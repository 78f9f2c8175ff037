import re
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import format_date

from .common import SubscriptionCase


@tagged("post_install", "-at_install")
class TestPortal(SubscriptionCase, HttpCase):
    """Subscribers on /my/subscriptions: their own subscriptions only, server-side checks."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = cls._create_plan(name="Weekly box", auto_send=False, pause_notice_days=7, pause_max_weeks=4)

        cls.portal_a = cls._portal_user("portal_a", "Anna Peeters")
        cls.portal_b = cls._portal_user("portal_b", "Bram Janssens")
        today = fields.Date.context_today(cls.env.user)
        cls.start = today - timedelta(days=today.weekday())  # this Monday
        cls.order_a = cls._create_subscription(cls.plan, cls.start, partner_id=cls.portal_a.partner_id.id)
        cls.order_b = cls._create_subscription(cls.plan, cls.start, partner_id=cls.portal_b.partner_id.id)

    def _csrf(self, url):
        page = self.url_open(url)
        self.assertEqual(page.status_code, 200)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def _earliest(self):
        return self.order_a._recurring_pause_earliest_start(portal=True)

    def test_list_and_page_show_own_subscriptions_only(self):
        self.authenticate("portal_a", "portal_a")
        page = self.url_open("/my/subscriptions")
        self.assertEqual(page.status_code, 200)
        self.assertIn(self.order_a.name, page.text)
        self.assertNotIn(self.order_b.name, page.text)
        own = self.url_open(f"/my/subscriptions/{self.order_a.id}")
        self.assertEqual(own.status_code, 200)
        self.assertIn("Weekly box", own.text)
        self.assertIn("o_portal_pause_form", own.text)
        other = self.url_open(f"/my/subscriptions/{self.order_b.id}")
        self.assertEqual(other.status_code, 404)
        self.assertNotIn(self.order_b.name, other.text)
        home = self.url_open("/my/counters", json={"params": {"counters": ["subscription_count"]}})
        self.assertEqual(home.json()["result"]["subscription_count"], 1)

    def test_pause_and_cancel_from_the_portal(self):
        self.authenticate("portal_a", "portal_a")
        url = f"/my/subscriptions/{self.order_a.id}"
        token = self._csrf(url)
        start = self._earliest()
        holiday = self.env.ref("sale_weekly_subscription.pause_reason_holiday")
        response = self.url_open(f"{url}/pause", data={
            "csrf_token": token, "start_date": fields.Date.to_string(start), "weeks": "2",
            "reason_id": str(holiday.id)})
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_portal_pause_done", response.text)
        pause = self.order_a.recurring_pause_ids
        self.assertEqual((pause.start_date, pause.weeks, pause.requested_by, pause.state, pause.reason_id),
                         (start, 2, "portal", "scheduled", holiday))
        # the followers (the customer and the salesperson) are notified
        notice = self.order_a.message_ids.filtered(lambda m: "Paused for 2 week" in str(m.body))
        self.assertEqual(notice.subtype_id, self.env.ref("mail.mt_comment"))
        self.assertEqual(notice.author_id, self.portal_a.partner_id)
        self.assertIn(self.portal_a.partner_id, self.order_a.message_partner_ids)
        response = self.url_open(f"{url}/pause/{pause.id}/cancel", data={"csrf_token": token, "confirm": "yes"})
        self.assertIn("o_portal_pause_cancelled", response.text)
        self.assertEqual(pause.state, "cancel")

    def test_rules_are_checked_on_the_server(self):
        self.authenticate("portal_a", "portal_a")
        url = f"/my/subscriptions/{self.order_a.id}"
        token = self._csrf(url)
        too_soon = self.order_a._recurring_today() + timedelta(days=2)
        for values, message in [
            ({"start_date": fields.Date.to_string(too_soon), "weeks": "1"}, "at the earliest"),
            ({"start_date": fields.Date.to_string(self._earliest()), "weeks": "9"}, "from 1 to 4"),
            ({"start_date": "not a date", "weeks": "x"}, "first day within two years"),
            ({"start_date": "9999-12-31", "weeks": "1"}, "first day within two years"),
            ({"start_date": "", "weeks": "1000000000000"}, "first day within two years"),
            # parsed strictly: trailing junk is no date, a full-width digit is no number
            ({"start_date": fields.Date.to_string(self._earliest()) + "junk", "weeks": "1"},
             "first day within two years"),
            ({"start_date": fields.Date.to_string(self._earliest()), "weeks": "\uff11"}, "from 1 to 4"),
        ]:
            response = self.url_open(f"{url}/pause", data={"csrf_token": token, **values})
            self.assertEqual(response.status_code, 200)
            self.assertIn("o_portal_pause_error", response.text)
            self.assertIn(message, response.text)
            self.assertNotIn("the field", response.text)
        self.assertFalse(self.order_a.recurring_pause_ids)
        # no CSRF token: refused, nothing changes
        response = self.url_open(f"{url}/pause", data={
            "start_date": fields.Date.to_string(self._earliest()), "weeks": "1"})
        self.assertIn(response.status_code, (400, 403))
        self.assertFalse(self.order_a.recurring_pause_ids)

    def test_another_customers_subscription_is_out_of_reach(self):
        pause_b = self.env["sale.recurring.pause"].create({
            "order_id": self.order_b.id, "start_date": self._earliest(), "weeks": 1, "requested_by": "user"})
        pause_b.sudo().requested_by = "portal"
        self.authenticate("portal_a", "portal_a")
        token = self._csrf(f"/my/subscriptions/{self.order_a.id}")
        start = fields.Date.to_string(self._earliest() + timedelta(weeks=2))
        attempts = [
            (f"/my/subscriptions/{self.order_b.id}/pause", {"start_date": start, "weeks": "1"}),
            (f"/my/subscriptions/{self.order_b.id}/pause/{pause_b.id}/cancel", {"confirm": "yes"}),
            # own subscription in the URL, the other's pause in it
            (f"/my/subscriptions/{self.order_a.id}/pause/{pause_b.id}/cancel", {"confirm": "yes"}),
        ]
        for url, values in attempts:
            response = self.url_open(url, data={"csrf_token": token, **values})
            self.assertEqual(response.status_code, 404, url)
        # an order id smuggled into the form is ignored: the URL's subscription is the one paused
        response = self.url_open(f"/my/subscriptions/{self.order_a.id}/pause", data={
            "csrf_token": token, "start_date": start, "weeks": "1", "order_id": str(self.order_b.id)})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.order_b.recurring_pause_ids, pause_b)
        self.assertEqual(pause_b.state, "scheduled")
        self.assertEqual(len(self.order_a.recurring_pause_ids), 1)
        # the ORM agrees: a portal user reads no other customer's pause or subscription
        Pause = self.env["sale.recurring.pause"].with_user(self.portal_a)
        self.assertEqual(Pause.search([]), self.order_a.recurring_pause_ids)
        self.assertFalse(self.env["sale.order"].with_user(self.portal_a).search([("id", "=", self.order_b.id)]))

    def _pause_on_portal(self, start, weeks="1"):
        url = f"/my/subscriptions/{self.order_a.id}"
        return self.url_open(f"{url}/pause", data={
            "csrf_token": self._csrf(url), "start_date": fields.Date.to_string(start), "weeks": weeks})

    def test_the_earliest_start_shown_is_the_one_the_server_accepts(self):
        today = self.order_a._recurring_today()
        # a notice that ends mid-week, off the weekly plan's period boundary (Monday)
        notice = 3 if (today + timedelta(days=3)).weekday() else 4
        self.plan.pause_notice_days = notice
        earliest = self.order_a._recurring_pause_earliest_start(portal=True)
        self.assertEqual(earliest, today + timedelta(days=notice))
        self.authenticate("portal_a", "portal_a")
        page = self.url_open(f"/my/subscriptions/{self.order_a.id}").text
        iso = fields.Date.to_string(earliest)
        self.assertIn(f'min="{iso}"', page)
        self.assertIn(f'value="{iso}"', page)
        long_date = format_date(self.env, earliest, date_format="long")
        self.assertRegex(page, rf'o_portal_pause_earliest"[^>]*>{long_date}</span>')
        # one day sooner is refused, in the customer's words, naming the same day
        response = self._pause_on_portal(earliest - timedelta(days=1))
        self.assertIn(f"Your pause can start on {long_date} at the earliest.", response.text)
        self.assertFalse(self.order_a.recurring_pause_ids)
        self.assertIn("o_portal_pause_done", self._pause_on_portal(earliest).text)
        self.assertEqual(self.order_a.recurring_pause_ids.start_date, earliest)

    def test_refusals_read_in_the_customers_words(self):
        self.plan.pause_max_weeks_year = 5
        self.authenticate("portal_a", "portal_a")
        earliest = self._earliest()
        self._pause_on_portal(earliest, weeks="2")
        pause = self.order_a.recurring_pause_ids
        self.assertEqual(len(pause), 1)
        first, last = (format_date(self.env, day, date_format="long") for day in (pause.start_date, pause.end_date))
        for start, weeks, message in [
            (earliest + timedelta(weeks=1), "1", f"You already have a pause from {first} to {last}: please pick "
                                                 "other dates."),
            (earliest + timedelta(weeks=4), "4", "at most 5 weeks are possible"),
        ]:
            response = self._pause_on_portal(start, weeks)
            self.assertIn("o_portal_pause_error", response.text)
            self.assertIn(message, response.text)
            for technical in ("the field", "Pause of", "First Day Paused", self.order_a.name + ":"):
                self.assertNotIn(technical, response.text)
        self.assertEqual(self.order_a.recurring_pause_ids, pause)

    def test_the_subscriber_gets_a_confirmation(self):
        self.order_a.user_id = self.user
        self.authenticate("portal_a", "portal_a")
        start = self._earliest()
        self._pause_on_portal(start, weeks="2")
        pause = self.order_a.recurring_pause_ids
        customer = self.portal_a.partner_id
        confirmed = self.env.ref("sale_weekly_subscription.mail_template_pause_confirmed")
        message = pause.message_ids.filtered(lambda m: "is paused from" in (m.subject or ""))
        self.assertEqual(len(message), 1)
        self.assertEqual(message.partner_ids, customer)
        self.assertEqual(message.author_id, self.user.partner_id)
        self.assertIn(format_date(self.env, pause.resume_date, date_format="long"), str(message.body))
        self.assertEqual(message.subject, confirmed._render_field("subject", pause.ids)[pause.id])
        # mailed to the customer (Odoo mails no author about their own message: the customer is not one)
        emailed = message.notification_ids.filtered(lambda n: n.notification_type == "email")
        self.assertEqual(emailed.res_partner_id, customer)
        # cancelled on the portal: told as well
        url = f"/my/subscriptions/{self.order_a.id}"
        self.url_open(f"{url}/pause/{pause.id}/cancel", data={"csrf_token": self._csrf(url), "confirm": "yes"})
        self.assertEqual(pause.state, "cancel")
        message = pause.message_ids.filtered(lambda m: "is cancelled" in (m.subject or ""))
        self.assertEqual(message.partner_ids, customer)
        # a pause agreed in the back office mails nobody by itself
        other = self.env["sale.recurring.pause"].with_user(self.user).create({
            "order_id": self.order_a.id, "start_date": start, "weeks": 1})
        self.assertFalse(other.message_ids.filtered("partner_ids"))

    def test_cancelling_a_pause_asks_to_confirm_first(self):
        self.authenticate("portal_a", "portal_a")
        self._pause_on_portal(self._earliest(), weeks="2")
        pause = self.order_a.recurring_pause_ids
        url = f"/my/subscriptions/{self.order_a.id}"
        page = self.url_open(url).text
        self.assertIn(f"{url}?cancel={pause.id}", page)
        self.assertNotIn("o_portal_pause_cancel_confirm", page)
        # the button opens the question; the page itself changes nothing
        asking = self.url_open(f"{url}?cancel={pause.id}").text
        self.assertIn("o_portal_pause_cancel_confirm", asking)
        self.assertIn(f"{url}/pause/{pause.id}/cancel", asking)
        self.assertEqual(pause.state, "scheduled")
        # a plain POST, without the confirmation, asks too and cancels nothing
        for data in ({}, {"confirm": "1"}, {"confirm": ""}):
            response = self.url_open(f"{url}/pause/{pause.id}/cancel", data={"csrf_token": self._csrf(url), **data})
            self.assertEqual(response.status_code, 200)
            self.assertIn("o_portal_pause_cancel_confirm", response.text)
            self.assertEqual(pause.state, "scheduled")
        response = self.url_open(f"{url}/pause/{pause.id}/cancel", data={"csrf_token": self._csrf(url),
                                                                         "confirm": "yes"})
        self.assertIn("o_portal_pause_cancelled", response.text)
        self.assertEqual(pause.state, "cancel")

    def test_portal_pause_tour(self):
        self.start_tour("/my/subscriptions", "sale_weekly_subscription_portal_pause", login="portal_a")
        pause = self.order_a.recurring_pause_ids
        self.assertEqual((pause.weeks, pause.state, pause.requested_by), (2, "cancel", "portal"))
