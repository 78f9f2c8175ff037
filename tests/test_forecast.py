from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.fields import Command
from odoo.tests import tagged

from ..engine import periods
from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestForecast(SubscriptionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly", auto_send=False)
        cls.biweekly = cls._create_plan(
            name="Every 2 weeks (Thursday)", billing_interval=2, send_weekday="3", auto_send=False,
            anchoring="aligned", line_ids=[Command.create({"product_id": cls.product_box.id, "price_unit": 59.90})])
        cls.monthly = cls._create_plan(
            name="Monthly, in arrears", billing_unit="month", billing_timing="arrears", auto_send=False,
            duration_type="fixed", duration_periods=2, renewal_type="auto", renewal_periods=1,
            renewal_notice_weeks=1,
            line_ids=[Command.create({"product_id": cls.product_box.id, "price_unit": 310.0})])
        cls.six = cls._create_plan(
            name="Every 6 weeks", billing_interval=6, send_weekday="4", auto_send=False,
            line_ids=[Command.create({"product_id": cls.product_box.id, "price_unit": 12.35})])

    def _forecast(self):
        Forecast = self.env["sale.recurring.forecast"]
        Forecast._refresh(months=3)
        totals = defaultdict(float)
        for row in Forecast.search([("order_id.partner_id", "=", self.customer.id)]):
            totals[row.month] += row.amount
        return dict(totals)

    def test_forecast_equals_the_invoices_the_billing_run_makes_day_by_day(self):
        with freeze_time("2026-11-30 12:00"):
            self._create_subscription(self.weekly, "2026-11-30")
            self._create_subscription(self.weekly, "2026-12-02", recurring_send_weekday="2")
            self._create_subscription(self.biweekly, "2026-12-02")  # a prorated lead-in
            self._create_subscription(self.monthly, "2026-12-15")  # renews automatically
            self._create_subscription(self.six, "2026-12-04")
            paused = self._create_subscription(self.weekly, "2026-11-30", recurring_send_weekday="4")
            self.env["sale.recurring.pause"].create({"order_id": paused.id, "start_date": "2026-12-24", "weeks": 2})
            closing = self._create_subscription(self.weekly, "2026-11-30", recurring_send_weekday="5")
            closing._recurring_close(D(2027, 1, 20), self.reason)  # the last period is prorated
        with freeze_time("2026-12-01 06:00"):
            expected = self._forecast()
        self.assertEqual(set(expected), {D(2026, 12, 1), D(2027, 1, 1), D(2027, 2, 1)})
        day = D(2026, 12, 1)
        while day <= D(2027, 2, 28):
            with freeze_time(f"{day} 12:00"):
                self._run_billing()
                with self.enter_registry_test_mode():
                    self.env.ref("sale_weekly_subscription.ir_cron_recurring_terms").method_direct_trigger()
                    self.env.ref("sale_weekly_subscription.ir_cron_recurring_pauses").method_direct_trigger()
            day += timedelta(days=1)
        self.env.invalidate_all()
        invoiced = defaultdict(float)
        for move in self.env["account.move"].search([
                ("recurring_order_id.partner_id", "=", self.customer.id), ("move_type", "=", "out_invoice"),
                ("invoice_date", ">=", "2026-12-01"), ("invoice_date", "<=", "2027-02-28")]):
            invoiced[move.invoice_date.replace(day=1)] += move.amount_untaxed
        for month, amount in expected.items():
            self.assertAlmostEqual(amount, invoiced[month], places=2, msg=f"month {month}")
        self.assertEqual({month: round(value, 2) for month, value in expected.items()},
                         {month: round(value, 2) for month, value in invoiced.items()})

    def test_a_price_with_an_included_tax_is_forecast_untaxed(self):
        included = self.env["account.tax"].create({
            "name": "21% included", "amount": 21, "price_include_override": "tax_included",
            "company_id": self.company_data["company"].id})
        with freeze_time("2026-11-30 12:00"):
            order = self._create_subscription(self.weekly, "2026-11-30", confirm=False)
            order.order_line.tax_ids = included
            order.action_confirm()
        with freeze_time("2026-12-01 06:00"):
            expected = self._forecast()[D(2026, 12, 1)]
        day = D(2026, 12, 1)
        while day <= D(2026, 12, 31):
            with freeze_time(f"{day} 12:00"):
                self._run_billing()
            day += timedelta(days=1)
        december = self.env["account.move"].search([
            ("recurring_order_id", "=", order.id), ("invoice_date", ">=", "2026-12-01"),
            ("invoice_date", "<=", "2026-12-31")])
        self.assertEqual(len(december), 4)
        self.assertAlmostEqual(expected, sum(december.mapped("amount_untaxed")), places=2)
        self.assertAlmostEqual(expected, 4 * 32.98, places=2)

    def test_user_sees_what_the_sale_rules_allow(self):
        with freeze_time("2026-11-30 12:00"):
            mine = self._create_subscription(self.weekly, "2026-11-30", user=self.user)
            other = self._create_subscription(self.weekly, "2026-11-30")
            other.user_id = self.manager
            self.env["sale.recurring.forecast"].with_user(self.user).action_open()
        rows = self.env["sale.recurring.forecast"].with_user(self.user).search([])
        self.assertEqual(rows.order_id, mine)
        self.assertEqual(self.env["sale.recurring.forecast"].search([("order_id", "=", other.id)]).order_id, other)
        pdf_html = self.env["ir.actions.report"]._render_qweb_html(
            "sale_weekly_subscription.action_report_expected_revenue", rows.ids)[0]
        self.assertIn(b"Expected revenue", pdf_html)
        self.assertIn(b"Weekly", pdf_html)

    # -- one schedule, read by the billing run and the forecast alike -----------

    def _bill_daily(self, first, last):
        day = first
        while day <= last:
            with freeze_time(f"{day} 12:00"):
                self._run_billing()
                with self.enter_registry_test_mode():
                    self.env.ref("sale_weekly_subscription.ir_cron_recurring_pauses").method_direct_trigger()
            day += timedelta(days=1)
        self.env.invalidate_all()

    def _invoiced_by_month(self, orders, first, last):
        invoiced = defaultdict(float)
        for move in self.env["account.move"].search([
                ("recurring_order_id", "in", orders.ids), ("move_type", "=", "out_invoice"),
                ("invoice_date", ">=", first), ("invoice_date", "<=", last)]):
            invoiced[move.invoice_date.replace(day=1)] += move.amount_untaxed
        return {month: round(amount, 2) for month, amount in invoiced.items()}

    def test_a_pause_deducted_from_the_next_invoice_is_forecast_as_billed(self):
        # weekly 45.45 on Mondays, invoiced for 30 Nov - 6 Dec, then paused 2 weeks from Thu 3 Dec:
        # the 4 paid days (25.97) are deducted from the first invoice after the pause
        plan = self._create_plan(name="Weekly, deducted", auto_send=False, pause_unused_days="carry_over",
                                 line_ids=[Command.create({"product_id": self.product_box.id, "price_unit": 45.45})])
        with freeze_time("2026-11-30 12:00"):
            order = self._create_subscription(plan, "2026-11-30")
            self._run_billing()
            pause = self.env["sale.recurring.pause"].create(
                {"order_id": order.id, "start_date": "2026-12-03", "weeks": 2})
        self.assertEqual(pause.carry_over_amount, 25.97)
        with freeze_time("2026-12-01 06:00"):
            expected = self._forecast()
        self._bill_daily(D(2026, 12, 1), D(2027, 2, 28))
        self.assertTrue(pause.carry_over_move_id, "the deduction was billed")
        invoiced = self._invoiced_by_month(order, D(2026, 12, 1), D(2027, 2, 28))
        self.assertEqual({month: round(amount, 2) for month, amount in expected.items()}, invoiced)

    def test_a_prorated_price_with_an_included_tax_is_forecast_to_the_cent(self):
        included = self.env["account.tax"].create({
            "name": "21% included", "amount": 21, "price_include_override": "tax_included",
            "company_id": self.company_data["company"].id})
        aligned = self._create_plan(name="Weekly, aligned", auto_send=False, anchoring="aligned", line_ids=[
            Command.create({"product_id": self.product_box.id, "price_unit": 39.95})])
        orders = self.env["sale.order"]
        with freeze_time("2026-11-30 12:00"):
            # lead-ins of 1 to 6 days, each with its own rounding of the untaxed part
            for offset in range(1, 7):
                order = self._create_subscription(aligned, f"2026-12-{offset:02d}", confirm=False)
                order.order_line.tax_ids = included
                order.action_confirm()
                orders |= order
        with freeze_time("2026-12-01 00:30"):
            expected = self._forecast()
        self._bill_daily(D(2026, 12, 1), D(2027, 1, 31))
        invoiced = self._invoiced_by_month(orders, D(2026, 12, 1), D(2027, 1, 31))
        self.assertEqual({month: round(amount, 2) for month, amount in expected.items() if month < D(2027, 2, 1)},
                         invoiced)

    def test_an_override_of_the_schedule_seam_changes_billing_and_forecast_alike(self):
        # an integrator closes for the holidays: two weeks without service for every subscription
        SaleOrder = type(self.env["sale.order"])
        original = SaleOrder._recurring_schedule
        holidays = periods.Pause(D(2026, 12, 21), D(2027, 1, 3))

        def _recurring_schedule(order):
            sched = original(order)
            return replace(sched, pauses=tuple(sorted((*sched.pauses, holidays))))

        with patch.object(SaleOrder, "_recurring_schedule", _recurring_schedule):
            with freeze_time("2026-11-30 12:00"):
                order = self._create_subscription(self.weekly, "2026-11-30")
            with freeze_time("2026-12-01 06:00"):
                expected = self._forecast()
            self._bill_daily(D(2026, 12, 1), D(2027, 1, 31))
        invoiced = self._invoiced_by_month(order, D(2026, 12, 1), D(2027, 1, 31))
        self.assertEqual({month: round(amount, 2) for month, amount in expected.items() if month < D(2027, 2, 1)},
                         invoiced)
        dates = order.recurring_invoice_ids.mapped("invoice_date")
        self.assertNotIn(D(2026, 12, 21), dates)
        self.assertNotIn(D(2026, 12, 28), dates)
        self.assertEqual(invoiced[D(2026, 12, 1)], round(2 * 39.90, 2))  # 7 and 14 Dec; 30 Nov is before
