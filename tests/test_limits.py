"""Inputs the engine cannot take are refused where they are typed, with a clear message."""

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
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
