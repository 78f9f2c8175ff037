from datetime import date

from freezegun import freeze_time

from odoo.tests import tagged

from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestPeriodLabels(SubscriptionCase):

    def test_a_52_week_period_names_both_years(self):
        plan = self._create_plan(name="Yearly box", billing_interval=52, auto_send=False)
        with freeze_time("2027-03-20"):
            order = self._create_subscription(plan, "2027-03-28")
        with freeze_time("2027-03-28 12:00"):
            self._run_billing()
        self.assertEqual(order.recurring_invoice_ids.invoice_line_ids.name,
                         "Meal box\nweek 12 2027 \u2013 week 12 2028, 28 Mar 2027 \u2013 25 Mar 2028")
        # in French: the French word for 'week' and the French months
        self.env["res.lang"]._activate_lang("fr_FR")
        self.customer.lang = "fr_FR"
        self.assertEqual(order._recurring_period_label(D(2027, 3, 28), D(2028, 3, 25)),
                         "semaine 12 2027 \u2013 semaine 12 2028, 28 mars 2027 \u2013 25 mars 2028")
        self.assertEqual(order._recurring_period_label(D(2028, 2, 29), D(2028, 2, 29)), "semaine 9 2028, 29 févr. 2028")
