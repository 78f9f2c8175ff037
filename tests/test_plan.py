from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SubscriptionCase


@tagged("post_install", "-at_install")
class TestPlan(SubscriptionCase):

    def test_week_interval_limits(self):
        with self.assertRaisesRegex(ValidationError, "between 1 and 52 weeks"):
            self._create_plan(name="Too long", billing_interval=53)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self._create_plan(name="Zero", billing_interval=0)
        plan = self._create_plan(name="Yearly-ish", billing_interval=52)
        self.assertEqual(plan.period_label, "Every 52 weeks")
        monthly = self._create_plan(name="Rent", billing_unit="month", billing_interval=18)
        self.assertEqual(monthly.billing_interval, 18)

    def test_terms_are_consistent(self):
        with self.assertRaisesRegex(ValidationError, "only a fixed-term plan can be renewed"):
            self._create_plan(name="Open", duration_type="open", renewal_type="auto")
        with self.assertRaisesRegex(ValidationError, "Number of Periods"):
            self._create_plan(name="Fixed", duration_type="fixed", duration_periods=0)

    def test_rhythm_of_a_plan_in_use_cannot_change(self):
        plan = self._create_plan(name="Coffee", billing_interval=4)
        plan.billing_interval = 6  # no subscription yet: free to change
        self._create_subscription(plan, "2026-12-02")
        with self.assertRaisesRegex(UserError, "running subscriptions"):
            plan.billing_interval = 4
        plan.write({"billing_interval": 6, "name": "Coffee capsules"})  # same value: allowed
        plan.auto_send = False  # not a rhythm field
        self.assertEqual(plan.subscription_count, 1)

    def test_plan_lines_become_order_lines(self):
        plan = self._create_plan(name="Box")
        vals = plan.line_ids._prepare_order_line_vals()
        self.assertEqual(vals["product_id"], self.product_box.id)
        self.assertEqual(vals["price_unit"], 39.90)
