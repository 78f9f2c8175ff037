from collections import defaultdict
from datetime import date, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, tagged

from .common import SubscriptionCase

D = date
SUN_21_MAR = D(2027, 3, 21)  # a one-day lead-in before Monday 22 Mar 2027, the plans' send day
LEAD_IN = "Meal box\nweek 11 2027, 21 Mar 2027 (1 of 7 days, prorated)"
WEEK_12 = "Meal box\nweek 12 2027, 22\u201328 Mar 2027"


@tagged("post_install", "-at_install")
class TestLeadIn(SubscriptionCase):
    """The plan's lead-in option: the invoices really made match the preview and the forecast."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plans = {policy: cls._aligned_plan(policy) for policy in ("separate", "merge", "merge_short", "free")}

    @classmethod
    def _aligned_plan(cls, policy, **values):
        return cls._create_plan(
            name=f"Box, lead-in {policy}", anchoring="aligned", auto_send=False, lead_in_policy=policy,
            lead_in_merge_days=3, line_ids=[Command.create({"product_id": cls.product_box.id, "price_unit": 15.80})],
            **values)

    def _invoices(self, order):
        moves = order.recurring_invoice_ids.filtered(lambda move: move.move_type == "out_invoice")
        return [(move.invoice_date, move.recurring_period_start, move.recurring_period_end, move.amount_untaxed,
                 move.invoice_line_ids.sorted("id").mapped("name"), move.invoice_line_ids.sorted("id").mapped(
                     "price_subtotal")) for move in moves.sorted("invoice_date")]

    def _bill_day_by_day(self, first, last):
        day = first
        while day <= last:
            with freeze_time(f"{day} 12:00"):
                self._run_billing()
            day += timedelta(days=1)
        self.env.invalidate_all()

    def _forecast(self, orders):
        Forecast = self.env["sale.recurring.forecast"]
        Forecast._refresh(months=2)
        found = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
        for row in Forecast.search([("order_id", "in", orders.ids)]):
            found[row.order_id][row.month][0] += row.invoice_count
            found[row.order_id][row.month][1] += row.amount
        return found

    def test_each_option_bills_what_the_preview_and_the_forecast_said(self):
        with freeze_time("2027-03-10 12:00"):
            orders = {policy: self._create_subscription(plan, SUN_21_MAR, user=self.user)
                      for policy, plan in self.plans.items()}
            orders["long"] = self._create_subscription(self.plans["merge_short"], D(2027, 3, 24), user=self.user)
            everyone = self.env["sale.order"].browse([order.id for order in orders.values()])
            previews = {key: order._recurring_preview_vals(4) for key, order in orders.items()}
            forecast = self._forecast(everyone)
            # the next invoice, as the form shows it: a merged or free lead-in goes with the first full period
            self.assertPeriod(orders["separate"], SUN_21_MAR, SUN_21_MAR, SUN_21_MAR)
            for key in ("merge", "merge_short", "free"):
                self.assertPeriod(orders[key], SUN_21_MAR, D(2027, 3, 28), D(2027, 3, 22))
        self._bill_day_by_day(D(2027, 3, 20), D(2027, 4, 30))

        made = {key: self._invoices(order) for key, order in orders.items()}
        week = [(D(2027, 3, 29), D(2027, 3, 29), D(2027, 4, 4), 15.80,
                 ["Meal box\nweek 13 2027, 29 Mar \u2013 4 Apr 2027"], [15.80])]
        self.assertEqual(made["separate"][:3], [
            (SUN_21_MAR, SUN_21_MAR, SUN_21_MAR, 2.26, [LEAD_IN], [2.26]),
            (D(2027, 3, 22), D(2027, 3, 22), D(2027, 3, 28), 15.80, [WEEK_12], [15.80]), *week])
        merged = [(D(2027, 3, 22), SUN_21_MAR, D(2027, 3, 28), 18.06, [LEAD_IN, WEEK_12], [2.26, 15.80]), *week]
        self.assertEqual(made["merge"][:2], merged)
        self.assertEqual(made["merge_short"][:2], merged)  # 1 day, shorter than 3
        self.assertEqual(made["free"][:2], [(D(2027, 3, 22), D(2027, 3, 22), D(2027, 3, 28), 15.80, [WEEK_12], [15.80]),
                                            *week])
        # 24-28 Mar is 5 days, not shorter than 3: an invoice of its own (5/7 of 15.80)
        self.assertEqual(made["long"][0][:4], (D(2027, 3, 24), D(2027, 3, 24), D(2027, 3, 28), 11.29))
        self.assertEqual([len(made[key]) for key in ("separate", "merge", "merge_short", "free", "long")],
                         [7, 6, 6, 6, 6])  # the 6 Mondays 22 Mar to 26 Apr, and a lead-in of its own
        for key, order in orders.items():
            # every day settled once: the free lead-in too, without an invoice
            self.assertEqual(order.recurring_invoiced_until, D(2027, 5, 2), key)
            # the preview said so: date, period and amount, to the cent
            self.assertEqual([(p["invoice_date"], p["period_start"], p["period_end"], round(p["amount_untaxed"], 2))
                              for p in previews[key]], [row[:4] for row in made[key][:4]], key)
            # and the forecast: invoices and amount per month
            for month in (D(2027, 3, 1), D(2027, 4, 1)):
                billed = [row for row in made[key] if row[0].replace(day=1) == month]
                count, amount = forecast[order][month]
                self.assertEqual((count, round(amount, 2)), (len(billed), round(sum(row[3] for row in billed), 2)),
                                 (key, month))
        self.assertTrue(previews["merge"][0]["is_prorated"])
        self.assertEqual(previews["merge"][0]["label"], "weeks 11\u201312 2027, 21\u201328 Mar 2027")
        self.assertEqual(previews["free"][0]["label"], "week 12 2027, 22\u201328 Mar 2027")

    def test_a_rerun_never_bills_a_merged_or_free_lead_in_again(self):
        with freeze_time("2027-03-10 12:00"):
            merged = self._create_subscription(self.plans["merge"], SUN_21_MAR)
            free = self._create_subscription(self.plans["free"], SUN_21_MAR)
        with freeze_time("2027-03-21 12:00"):  # the lead-in's own day: nothing to bill yet
            self._run_billing()
        self.assertFalse(merged.recurring_invoice_ids | free.recurring_invoice_ids)
        for _run in range(2):
            with freeze_time("2027-03-22 12:00"):
                self._run_billing()
        self.env.invalidate_all()
        self.assertEqual(len(merged.recurring_invoice_ids), 1)
        self.assertEqual(len(free.recurring_invoice_ids), 1)
        for order in merged | free:
            self.assertEqual(order.recurring_invoiced_until, D(2027, 3, 28))
            self.assertPeriod(order, D(2027, 3, 29), D(2027, 4, 4), D(2027, 3, 29))
        # the plan's option changed afterwards: the lead-in stays settled
        self.plans["free"].lead_in_policy = "separate"
        self.assertPeriod(free, D(2027, 3, 29), D(2027, 4, 4), D(2027, 3, 29))

    def test_merged_in_arrears_at_the_end_of_the_first_full_period(self):
        separate = self._aligned_plan("separate", billing_timing="arrears")
        merge = self._aligned_plan("merge", billing_timing="arrears")
        with freeze_time("2027-03-10 12:00"):
            one = self._create_subscription(separate, SUN_21_MAR)
            two = self._create_subscription(merge, SUN_21_MAR)
            preview = two._recurring_preview_vals(1)
        self._bill_day_by_day(D(2027, 3, 21), D(2027, 3, 29))
        self.assertEqual([row[:4] for row in self._invoices(one)], [
            (D(2027, 3, 22), SUN_21_MAR, SUN_21_MAR, 2.26), (D(2027, 3, 29), D(2027, 3, 22), D(2027, 3, 28), 15.80)])
        self.assertEqual(self._invoices(two), [
            (D(2027, 3, 29), SUN_21_MAR, D(2027, 3, 28), 18.06, [LEAD_IN, WEEK_12], [2.26, 15.80])])
        self.assertEqual((preview[0]["invoice_date"], preview[0]["amount_untaxed"]), (D(2027, 3, 29), 18.06))

    def test_a_free_lead_in_the_subscription_ends_in_is_settled_without_invoice(self):
        with freeze_time("2027-03-10 12:00"):
            order = self._create_subscription(self.plans["free"], SUN_21_MAR)
            order._recurring_close(SUN_21_MAR, self.reason)
            self.assertFalse(order._recurring_preview_vals())
            self.assertPeriod(order, SUN_21_MAR, SUN_21_MAR, SUN_21_MAR)
        self._bill_day_by_day(D(2027, 3, 21), D(2027, 3, 22))
        self.assertFalse(order.recurring_invoice_ids)
        self.assertEqual(order.recurring_invoiced_until, SUN_21_MAR)
        self.assertFalse(order.recurring_next_invoice_date)

    def test_a_pause_gives_back_the_days_of_the_period_each_line_bills(self):
        with freeze_time("2027-03-10 12:00"):
            order = self._create_subscription(self.plans["merge"], SUN_21_MAR)
        self._bill_day_by_day(D(2027, 3, 22), D(2027, 3, 22))
        invoice = order.recurring_invoice_ids
        self.assertEqual(invoice.invoice_line_ids.mapped("recurring_period_start"), [SUN_21_MAR, D(2027, 3, 22)])
        with freeze_time("2027-03-22 13:00"):
            self._pause_from(order, D(2027, 3, 24), 1)
        refund = order.recurring_invoice_ids.filtered(lambda move: move.move_type == "out_refund")
        # 24-28 Mar: 5 of the 7 days of week 12 (15.80 x 5/7 = 11.29); the lead-in's day is not in the pause
        self.assertEqual(refund.amount_untaxed, 11.29)
        self.assertEqual(len(refund.invoice_line_ids), 1)

    def test_the_plan_refuses_a_merge_without_days(self):
        plan = self.plans["merge"].with_user(self.manager)
        with self.assertRaisesRegex(ValidationError, "Plan 'Box, lead-in merge'.*Merge When Shorter Than"):
            plan.write({"lead_in_policy": "merge_short", "lead_in_merge_days": 0})
        plan.write({"lead_in_policy": "merge_short", "lead_in_merge_days": 2})
        form = Form(self.env["sale.recurring.plan"].with_user(self.manager))
        form.name = "New"
        self.assertEqual(form.lead_in_policy, "separate")  # today's behaviour, by default
        with self.assertRaises(AccessError):
            self.plans["merge"].with_user(self.user).lead_in_policy = "free"
