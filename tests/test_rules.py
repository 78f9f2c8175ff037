"""One home for each rule: the company's "today", what is due, and the allowed actions."""

from datetime import date

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tests import new_test_user, tagged

from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestOneRule(SubscriptionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=False, pause_portal=True, pause_notice_days=0)
        cls.fixed = cls._create_plan(name="Weekly, 8 weeks", auto_send=False, duration_type="fixed",
                                     duration_periods=8, renewal_type="manual")
        cls.company = cls.company_data["company"]
        cls.env.ref("base.user_root").tz = "UTC"  # the scheduler's user lives in another day

    def _terms_cron(self):
        with self.enter_registry_test_mode():
            self.env.ref("sale_weekly_subscription.ir_cron_recurring_terms").method_direct_trigger()
        self.env.invalidate_all()

    # -- today and due ------------------------------------------------------------

    def test_the_terms_action_closes_on_the_company_day_not_the_scheduler_day(self):
        self.company.partner_id.tz = "Pacific/Auckland"  # UTC+13 in December
        with freeze_time("2026-12-01 12:00"):
            order = self._create_subscription(self.weekly, "2026-11-30")
            order._recurring_close(D(2026, 12, 30), self.reason)
        with freeze_time("2026-12-30 12:00"):  # 31 Dec 01:00 in Auckland, still 30 Dec in UTC
            self.assertEqual(self.company._recurring_today(), D(2026, 12, 31))
            self._terms_cron()
        self.assertEqual(order.recurring_state, "closed")

    def test_a_portal_visitor_s_time_zone_never_moves_the_company_clock(self):
        """A company without a time zone on its address: a portal visitor in Auckland reads the cut-off
        in the administrator's zone (Brussels), as the back office does, never in their own."""
        self.company.partner_id.tz = False
        self.env.ref("base.user_admin").tz = "Europe/Brussels"
        visitor = new_test_user(self.env, login="far_away", groups="base.group_portal", tz="Pacific/Auckland",
                                company_id=self.company.id)
        with freeze_time("2026-12-01 22:30"):  # 23:30 in Brussels, 11:30 on 2 December in Auckland
            self.assertEqual(self.company.with_user(visitor)._recurring_today(), D(2026, 12, 1))
            self.assertEqual(self.company.with_user(visitor)._recurring_tz().zone, "Europe/Brussels")

    def test_due_is_the_company_day_and_billing_hour_everywhere(self):
        self.company.partner_id.tz = "Europe/Brussels"
        self.company.recurring_billing_hour = 6
        with freeze_time("2026-12-01 12:00"):
            order = self._create_subscription(self.weekly, "2026-12-07")
        Orders = self.env["sale.order"]
        with freeze_time("2026-12-07 04:00"):  # Monday 05:00 in Brussels: before the billing hour
            self._terms_cron()
            self.assertEqual(order.invoice_status, "no")
            self.assertFalse(Orders.search_count(Orders._recurring_due_domain() & Domain("id", "=", order.id)))
            self._run_billing()
            self.assertFalse(order.recurring_invoice_ids)
        with freeze_time("2026-12-07 05:30"):  # 06:30 in Brussels
            self._terms_cron()
            self.assertEqual(order.invoice_status, "to invoice")
            self.assertEqual(Orders.search_count(Orders._recurring_due_domain() & Domain("id", "=", order.id)), 1)
            self._run_billing()
        self.env.invalidate_all()
        self.assertEqual(len(order.recurring_invoice_ids), 1)
        self.assertEqual(order.invoice_status, "invoiced")

    # -- the allowed actions --------------------------------------------------------

    def _allowed(self, order):
        order.invalidate_recordset()
        return {action for action in ("pause", "close", "reopen", "renew", "invoice_now")
                if order[f"recurring_can_{action}"]}

    def test_the_decision_table(self):
        with freeze_time("2026-12-01 12:00"):
            quotation = self._create_subscription(self.fixed, "2026-12-07", confirm=False)
            self.assertEqual(self._allowed(quotation), set())
            quotation.action_confirm()
            self.assertEqual(self._allowed(quotation), {"pause", "close", "renew", "invoice_now"})
            quotation._recurring_close(D(2026, 12, 20), self.reason)
            self.assertEqual(self._allowed(quotation), {"reopen", "invoice_now"})
            with self.assertRaisesRegex(UserError, "is being closed"):
                quotation.action_recurring_renew()
            with self.assertRaisesRegex(ValidationError, "cannot be paused"):
                quotation.action_recurring_pause()
            open_ended = self._create_subscription(self.weekly, "2026-12-07")
            self.assertEqual(self._allowed(open_ended), {"pause", "close", "invoice_now"})
            with self.assertRaisesRegex(UserError, "no term end"):
                open_ended.action_recurring_renew()
            with self.assertRaisesRegex(UserError, "is not closed"):
                open_ended.action_recurring_reopen()

    def test_a_paused_subscription_cannot_be_invoiced_now_by_rpc_either(self):
        with freeze_time("2026-12-01 12:00"):
            order = self._create_subscription(self.weekly, "2026-11-30")
            self._run_billing()
            pause = self.env["sale.recurring.pause"].create({"order_id": order.id, "start_date": "2026-12-07",
                                                             "weeks": 2})
        with freeze_time("2026-12-08 12:00"):
            pause._start()
            self.assertEqual(order.recurring_state, "paused")
            self.assertFalse(order.recurring_can_invoice_now)
            with self.assertRaisesRegex(UserError, "not running"):
                order.with_user(self.manager).action_recurring_invoice_now()

    def test_the_portal_offers_what_its_server_accepts(self):
        with freeze_time("2026-12-01 12:00"):
            order = self._create_subscription(self.weekly, "2026-11-30")
            limit = self.weekly._portal_max_pause_weeks()
            self.assertEqual(limit, 12)
            with self.assertRaisesRegex(ValidationError, "at most 12 weeks"):
                self.env["sale.recurring.pause"].create({
                    "order_id": order.id, "start_date": "2026-12-14", "weeks": limit + 1, "requested_by": "portal"})
            pause = self.env["sale.recurring.pause"].create({
                "order_id": order.id, "start_date": "2027-06-07", "weeks": limit, "requested_by": "portal"})
            self.assertEqual(pause.weeks, 12)
