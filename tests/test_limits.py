"""Inputs the engine cannot take are refused where they are typed, with a clear message."""

from datetime import date

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import tagged

from ..engine import periods
from .common import SubscriptionCase


@tagged("post_install", "-at_install")
class TestLimits(SubscriptionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=False)

    def test_a_plan_refuses_the_intervals_the_engine_refuses(self):
        for unit, interval in (("week", 53), ("month", 1201), ("month", 10000), ("year", 101)):
            with self.subTest(unit=unit, interval=interval), self.assertRaisesRegex(ValidationError, "Bill Every"):
                self._create_plan(name="Odd", billing_unit=unit, billing_interval=interval)
        for unit, top in periods.MAX_INTERVAL.items():
            plan = self._create_plan(name=f"Longest {unit}", billing_unit=unit, billing_interval=top)
            self.assertEqual(plan._rhythm().interval, top)  # the engine takes it

    def test_a_pause_of_a_million_weeks_is_refused_not_a_crash(self):
        with freeze_time("2026-11-30 12:00"):
            order = self._create_subscription(self.weekly, "2026-11-30")
            with self.assertRaisesRegex(ValidationError, "at most 260"):
                self.env["sale.recurring.pause"].create({"order_id": order.id, "start_date": "2026-12-07",
                                                         "weeks": 10 ** 6})

    def test_start_dates_outside_a_sane_window_are_refused(self):
        with freeze_time("2026-11-30 12:00"):
            for start in ("9999-12-27", "1900-01-01"):
                with self.subTest(start), self.assertRaisesRegex(ValidationError, "Start Date"):
                    self._create_subscription(self.weekly, start, confirm=False)

    def test_a_negative_total_is_refused_at_confirmation(self):
        with freeze_time("2026-11-30 12:00"):
            order = self._create_subscription(self.weekly, "2026-11-30", confirm=False)
            order.order_line = [Command.clear(), Command.create({
                "product_id": self.product_box.id, "product_uom_qty": -2, "price_unit": 10.0})]
            with self.assertRaisesRegex(UserError, "negative"):
                order.action_confirm()
        order.invalidate_recordset()
        self.assertEqual(order.state, "draft")

    # -- a start date in the past: a few invoices per run unless approved ---------------

    def _past_start(self, confirm=True, **values):
        """A weekly subscription from Monday 5 Oct 2026: on Monday 30 Nov, 9 invoices are due."""
        return self._create_subscription(self.weekly, "2026-10-05", confirm=confirm, **values)

    def test_confirming_far_in_the_past_asks_and_shows_how_many_invoices(self):
        with freeze_time("2026-11-30 12:00"):
            order = self._past_start(confirm=False)
            action = order.with_context(recurring_catch_up_check=True).action_confirm()
            self.assertEqual(order.state, "draft", "nothing is confirmed before the answer")
            wizard = self.env[action["res_model"]].browse(action["res_id"])
            self.assertEqual((wizard.invoice_count, wizard.limit), (9, 3))
            self.assertIn("9 invoices are due now", wizard.summary)
            self.assertIn("10/05/2026", wizard.summary)
            wizard.action_confirm_all()
            self.assertEqual(order.state, "sale")
            self.assertTrue(order.recurring_catch_up_approved)
            self._run_billing()
        self.assertEqual(len(order.recurring_invoice_ids), 9)
        self.assertFalse(order.recurring_catch_up_approved, "the approval is used once caught up")
        self.assertFalse(order.recurring_catch_up_behind)

    def test_without_approval_the_run_makes_a_few_a_day_and_flags_it(self):
        with freeze_time("2026-11-30 12:00"):
            recent = self._create_subscription(self.weekly, "2026-11-16", confirm=False)  # 3 due: no question
            self.assertIs(recent.with_context(recurring_catch_up_check=True).action_confirm(), True)
            order = self._past_start(confirm=False)
            action = order.with_context(recurring_catch_up_check=True).action_confirm()
            self.env[action["res_model"]].browse(action["res_id"]).action_confirm_limited()
            rpc = self._past_start()  # confirmed over RPC, without the question: limited as well
            self._run_billing()
            self.assertEqual(len(recent.recurring_invoice_ids), 3)
            for each in (order, rpc):
                self.assertEqual(len(each.recurring_invoice_ids), 3)
                self.assertEqual(each.recurring_catch_up_behind, 6)
                self.assertIn("6 more are due", each.message_ids[0].body)
            self.assertEqual(self.env["sale.order"].search([("recurring_catch_up_behind", ">", 0)]), order | rpc)
            self._run_billing()  # the hourly run, the same day: the limit is per day
            self.assertEqual(len(order.recurring_invoice_ids), 3)
        with freeze_time("2026-12-01 12:00"):
            self._run_billing()  # the next day: 3 more
            self.assertEqual(len(order.recurring_invoice_ids), 6)
            self.assertEqual(order.recurring_catch_up_behind, 3)
            with self.assertRaises(AccessError):
                order.with_user(self.user).action_recurring_approve_catch_up()
            with self.assertRaises(AccessError):
                order.with_user(self.user).write({"recurring_catch_up_approved": True})
            rpc.action_recurring_approve_catch_up()
            self._run_billing()  # approved: taken again the same day, all of it
            self.assertEqual(len(rpc.recurring_invoice_ids), 9)
            self.assertEqual(len(order.recurring_invoice_ids), 6)
        with freeze_time("2026-12-02 12:00"):
            self._run_billing()
        self.assertEqual(len(order.recurring_invoice_ids), 9)
        self.assertEqual(len(rpc.recurring_invoice_ids), 9)
        self.assertFalse(order.recurring_catch_up_behind or rpc.recurring_catch_up_behind)
        self.assertEqual(sorted(order.recurring_invoice_ids.mapped("recurring_period_start")),
                         sorted(rpc.recurring_invoice_ids.mapped("recurring_period_start")))

    def test_a_start_in_the_year_2000_makes_three_invoices_not_1405(self):
        with freeze_time("2026-11-30 12:00"):
            order = self._create_subscription(self.weekly, "2000-01-03")
            self._run_billing()
        self.assertEqual(len(order.recurring_invoice_ids), 3)
        self.assertEqual(order.recurring_catch_up_behind, 1405 - 3)  # 1405 Mondays from 3 Jan 2000 to 30 Nov 2026

    def test_the_catch_up_limit_is_at_least_one(self):
        with self.assertRaisesRegex(ValidationError, "Catch-up Limit"):
            self.company_data["company"].recurring_catch_up_limit = 0

    # -- 0.00 periods ---------------------------------------------------------------

    def test_a_free_period_makes_no_invoice_unless_the_plan_asks(self):
        gift = self._create_product(name="Gift box", lst_price=0.0, taxes_id=[])
        free = self._create_plan(name="Free trial box", auto_send=False, line_ids=[
            Command.create({"product_id": gift.id, "price_unit": 0.0})])
        self.assertTrue(free.skip_zero_invoices, "no 0.00 invoice by default")
        listed = self._create_plan(name="Free, invoiced", auto_send=False, skip_zero_invoices=False, line_ids=[
            Command.create({"product_id": gift.id, "price_unit": 0.0})])
        with freeze_time("2026-12-14 12:00"):
            order = self._create_subscription(free, "2026-12-07")
            shown = self._create_subscription(listed, "2026-12-07")
            self.assertEqual(order.amount_total, 0.0)
            self._run_billing()
        self.assertFalse(order.recurring_invoice_ids)
        self.assertEqual(order.recurring_invoiced_until, date(2026, 12, 20), "both free weeks count as billed")
        self.assertFalse(order.recurring_billing_error)
        self.assertEqual(shown.recurring_invoice_ids.mapped("amount_total"), [0.0, 0.0])
        self.assertEqual(set(shown.recurring_invoice_ids.mapped("state")), {"posted"})

    def test_an_approval_waits_for_the_run_that_bills(self):
        with freeze_time("2026-11-30 12:00"):
            order = self._past_start()
            order.action_recurring_approve_catch_up()
            self.product_box.active = False  # the next run cannot bill it
            self._run_billing()
            self.assertFalse(order.recurring_invoice_ids)
            self.assertTrue(order.recurring_billing_error)
            self.assertTrue(order.recurring_catch_up_approved, "a run that billed nothing keeps the approval")
            self.product_box.active = True  # forgets the failure: tried again today
            self._run_billing()
        self.assertEqual(len(order.recurring_invoice_ids), 9)
        self.assertFalse(order.recurring_catch_up_approved)
