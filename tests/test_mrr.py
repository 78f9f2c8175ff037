from datetime import date
from decimal import Decimal

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestMrr(SubscriptionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly", auto_send=False)  # 39.90 a week

    def _month_end_job(self, day):
        with freeze_time(f"{day} 03:00"):
            with self.enter_registry_test_mode():
                self.env.ref("sale_weekly_subscription.ir_cron_recurring_pauses").method_direct_trigger()
                self.env.ref("sale_weekly_subscription.ir_cron_recurring_mrr").method_direct_trigger()
        self.env.invalidate_all()

    def _rows(self, order):
        rows = self.env["sale.recurring.mrr"].search([("order_id", "=", order.id)], order="month, id")
        return [(row.month, row.status, round(row.mrr, 2), row.movement) for row in rows]

    def test_movements_of_a_scripted_history(self):
        weekly_mrr = round(39.90 * 52 / 12, 2)  # 172.90
        with freeze_time("2026-09-01 09:00"):
            anna = self._create_subscription(self.weekly, "2026-09-01")
            bram = self._create_subscription(self.weekly, "2026-09-07")
        self._month_end_job("2026-10-01")
        with freeze_time("2026-10-10 09:00"):
            anna.order_line.price_unit = 49.90  # expansion
            self.env["sale.recurring.pause"].create({"order_id": bram.id, "start_date": "2026-10-19", "weeks": 3})
        self._month_end_job("2026-11-01")
        with freeze_time("2026-11-25 09:00"):
            anna._recurring_close(D(2026, 11, 25), self.reason)  # churn
        self._month_end_job("2026-11-26")  # bram's pause is over: resumed
        self._month_end_job("2026-12-01")
        expanded = round(49.90 * 52 / 12, 2)  # 216.23
        self.assertEqual(self._rows(anna)[:3], [
            (D(2026, 9, 1), "active", weekly_mrr, "new"),
            (D(2026, 10, 1), "active", expanded, "expansion"),
            (D(2026, 11, 1), "closed", 0.0, "churn"),
        ])
        self.assertEqual(self._rows(bram)[:3], [
            (D(2026, 9, 1), "active", weekly_mrr, "new"),
            (D(2026, 10, 1), "paused", 0.0, "paused"),
            (D(2026, 11, 1), "active", weekly_mrr, "resumed"),
        ])
        months = {m.month: m for m in self.env["sale.recurring.mrr.month"].search(
            [("company_id", "=", self.company_data["company"].id)])}
        september, october, november = months[D(2026, 9, 1)], months[D(2026, 10, 1)], months[D(2026, 11, 1)]
        self.assertEqual((round(september.mrr, 2), round(september.arr, 2), september.new_count),
                         (2 * weekly_mrr, round(24 * weekly_mrr, 2), 2))
        self.assertEqual((october.active_count, october.paused_count), (1, 1))
        self.assertAlmostEqual(october.expansion_mrr, expanded - weekly_mrr, places=2)
        self.assertAlmostEqual(october.paused_mrr, -weekly_mrr, places=2)
        self.assertEqual(october.churn_mrr, 0.0, "a pause is no churn")
        self.assertEqual((november.closed_count, round(november.churn_mrr, 2)), (1, -expanded))
        self.assertEqual(november.churn_rate, 50.0)  # 1 closed of the 2 customers (1 active, 1 paused) end of October
        self.assertAlmostEqual(november.arpu, weekly_mrr, places=2)
        # the pause resumed; had anna been paused before closing, it would count as closed within 8 weeks
        self.assertEqual(bram.recurring_pause_ids.outcome, "resumed")

    def test_user_sees_what_the_sale_rules_allow(self):
        with freeze_time("2026-11-02 09:00"):
            mine = self._create_subscription(self.weekly, "2026-11-02", user=self.user)
            other = self._create_subscription(self.weekly, "2026-11-02")
            other.user_id = self.manager
            self.env["sale.recurring.mrr"].with_user(self.user).action_open_dashboard()
        rows = self.env["sale.recurring.mrr"].with_user(self.user).search([])
        self.assertEqual(rows.order_id, mine)

    def test_reporting_menus_open_for_their_groups(self):
        forecast = self.env.ref("sale_weekly_subscription.sale_recurring_forecast_server_action")
        dashboard = self.env.ref("sale_weekly_subscription.sale_recurring_mrr_dashboard_server_action")
        with freeze_time("2026-11-02 09:00"):
            self.assertEqual(forecast.with_user(self.user).run()["res_model"], "sale.recurring.forecast")
            self.assertEqual(dashboard.with_user(self.manager).run()["res_model"], "sale.recurring.mrr.month")
            # the company's key figures are for managers and accountants
            with self.assertRaises(AccessError):
                dashboard.with_user(self.user).run()

    def test_a_close_that_is_no_churn_is_its_own_movement(self):
        moved = self.env["sale.recurring.close.reason"].create({"name": "Moved to another plan", "is_churn": False})
        with freeze_time("2026-09-01 09:00"):
            order = self._create_subscription(self.weekly, "2026-09-01")
        with freeze_time("2026-10-15 09:00"):
            order._recurring_close(D(2026, 10, 15), moved)
        self._month_end_job("2026-11-01")
        self.assertEqual([row[3] for row in self._rows(order)[:2]], ["new", "closed"])
        october = self.env["sale.recurring.mrr.month"].search(
            [("company_id", "=", self.company_data["company"].id), ("month", "=", "2026-10-01")])
        self.assertEqual((october.churn_mrr, october.closed_count), (0.0, 0))
        self.assertEqual(round(october.closed_mrr, 2), -round(39.90 * 52 / 12, 2))

    def test_every_movement_is_shown_and_they_add_up_month_by_month(self):
        moved = self.env["sale.recurring.close.reason"].create({"name": "Moved to another plan", "is_churn": False})
        with freeze_time("2026-09-01 09:00"):
            anna = self._create_subscription(self.weekly, "2026-09-01")
            bram = self._create_subscription(self.weekly, "2026-09-07")
            cleo = self._create_subscription(self.weekly, "2026-09-14")
        self._month_end_job("2026-10-01")
        with freeze_time("2026-10-10 09:00"):
            anna.order_line.price_unit = 49.90  # expansion
            self.env["sale.recurring.pause"].create({"order_id": bram.id, "start_date": "2026-10-19", "weeks": 3})
            cleo._recurring_close(D(2026, 10, 20), moved)  # closed, no churn
        self._month_end_job("2026-11-01")
        with freeze_time("2026-11-25 09:00"):
            anna._recurring_close(D(2026, 11, 25), self.reason)  # churn
        self._month_end_job("2026-11-26")  # bram resumes
        self._month_end_job("2026-12-01")
        months = self.env["sale.recurring.mrr.month"].search(
            [("company_id", "=", self.company_data["company"].id)], order="month")
        movements = ("new_mrr", "expansion_mrr", "contraction_mrr", "churn_mrr", "closed_mrr", "reactivation_mrr",
                     "paused_mrr", "resumed_mrr")
        previous = 0.0
        for month in months:
            self.assertAlmostEqual(previous + sum(month[name] for name in movements), month.mrr, places=2,
                                   msg=f"month {month.month}")
            previous = month.mrr
        self.assertTrue(any(month.resumed_mrr for month in months) and any(month.closed_mrr for month in months))
        # the key figures list shows every movement by default
        arch = self.env["sale.recurring.mrr.month"].get_view(
            self.env.ref("sale_weekly_subscription.sale_recurring_mrr_month_view_list").id, "list")["arch"]
        for name in movements:
            self.assertNotIn(f'name="{name}" optional="hide"', arch)
            self.assertIn(f'name="{name}"', arch)

    def test_a_month_that_is_over_keeps_what_was_billed(self):
        """A quantity change today does not rewrite last month: months that are over are valued by the
        invoices that covered them; the change shows as this month's expansion."""
        self.company_data["company"].recurring_catch_up_limit = 20
        with freeze_time("2026-09-07 09:00"):
            order = self._create_subscription(self.weekly, "2026-09-07")
        with freeze_time("2026-11-30 09:00"):
            self._run_billing()
        self.assertEqual(order.recurring_invoiced_until, D(2026, 12, 6))
        self.assertEqual(set(order.recurring_invoice_ids.mapped("recurring_monthly_amount")), {172.9})
        Mrr = self.env["sale.recurring.mrr"]
        weekly_mrr, doubled = round(39.90 * 52 / 12, 2), round(2 * 39.90 * 52 / 12, 2)
        with freeze_time("2026-12-02 09:00"):
            Mrr._rebuild(4)
            before = self._rows(order)
            order.order_line.product_uom_qty = 2
            Mrr._rebuild(4)
        self.assertEqual(before[2], (D(2026, 11, 1), "active", weekly_mrr, "stable"))
        self.assertEqual(self._rows(order), [
            (D(2026, 9, 1), "active", weekly_mrr, "new"),
            (D(2026, 10, 1), "active", weekly_mrr, "stable"),
            (D(2026, 11, 1), "active", weekly_mrr, "stable"),
            (D(2026, 12, 1), "active", doubled, "expansion"),
        ])
        december = Mrr.search([("order_id", "=", order.id), ("month", "=", "2026-12-01")])
        self.assertAlmostEqual(december.movement_amount, doubled - weekly_mrr, places=2)
        with freeze_time("2027-01-04 09:00"):
            self._run_billing()  # the weeks of December, billed at the new quantity
            Mrr._rebuild(5)
        self.assertEqual(self._rows(order)[3], (D(2026, 12, 1), "active", doubled, "expansion"))
        self.assertEqual(self._rows(order)[2], (D(2026, 11, 1), "active", weekly_mrr, "stable"))

    def _assert_months_add_up(self):
        """MRR of the previous month + every movement of the month (pauses, suspensions and resumptions
        included) = MRR of the month, month by month."""
        months = self.env["sale.recurring.mrr.month"].search(
            [("company_id", "=", self.company_data["company"].id)], order="month")
        movements = ("new_mrr", "expansion_mrr", "contraction_mrr", "churn_mrr", "closed_mrr", "reactivation_mrr",
                     "paused_mrr", "suspended_mrr", "resumed_mrr")
        previous = 0.0
        for month in months:
            self.assertAlmostEqual(previous + sum(month[name] for name in movements), month.mrr, places=2,
                                   msg=f"month {month.month}")
            previous = month.mrr
        return {month.month: month for month in months}

    def test_closed_while_suspended_or_paused_is_churn_of_the_month_it_is_closed(self):
        """Suspended for non-payment in October, still suspended at the end of November, closed with the
        reason *Unpaid invoices* in December: December shows the MRR it had before the suspension as churn, and
        the same amount back out of the suspended MRR.  A subscription paused in October and closed while
        paused in November: the same, out of the paused MRR."""
        weekly_mrr = round(39.90 * 52 / 12, 2)  # 172.90
        unpaid = self.env.ref("sale_weekly_subscription.close_reason_unpaid")
        with freeze_time("2026-09-01 09:00"):
            anna = self._create_subscription(self.weekly, "2026-09-07")
            bram = self._create_subscription(self.weekly, "2026-09-07")
            cleo = self._create_subscription(self.weekly, "2026-09-07")  # runs throughout
        self._month_end_job("2026-10-01")
        with freeze_time("2026-10-07 09:00"):
            anna._recurring_suspend(self.env["account.move"])
            self.env["sale.recurring.pause"].create({"order_id": bram.id, "start_date": "2026-10-19", "weeks": 8})
        self.assertEqual(anna.recurring_state, "suspended")
        self._month_end_job("2026-11-01")
        with freeze_time("2026-11-25 09:00"):
            bram._recurring_close(D(2026, 11, 25), self.reason)  # closed while paused
        self._month_end_job("2026-12-01")
        with freeze_time("2026-12-09 09:00"):
            anna._recurring_close(D(2026, 12, 9), unpaid)  # closed while suspended
        self.assertEqual((anna.recurring_state, anna.recurring_suspension_ids.state), ("closed", "closed"))
        self._month_end_job("2027-01-01")
        self.assertEqual(self._rows(anna)[:5], [
            (D(2026, 9, 1), "active", weekly_mrr, "new"),
            (D(2026, 10, 1), "suspended", 0.0, "suspended"),
            (D(2026, 11, 1), "suspended", 0.0, "stable"),
            (D(2026, 12, 1), "closed", 0.0, "churn"),
            (D(2026, 12, 1), "closed", 0.0, "suspended"),
        ])
        self.assertEqual(len(self._rows(anna)), 5, "nothing after the month it is closed")
        december = self.env["sale.recurring.mrr"].search([("order_id", "=", anna.id), ("month", "=", "2026-12-01")])
        self.assertEqual(sorted(round(row.movement_amount, 2) for row in december), [-weekly_mrr, weekly_mrr])
        self.assertTrue(all(row.frozen for row in december), "kept for good once the month is over")
        self.assertEqual(self._rows(bram)[:4], [
            (D(2026, 9, 1), "active", weekly_mrr, "new"),
            (D(2026, 10, 1), "paused", 0.0, "paused"),
            (D(2026, 11, 1), "closed", 0.0, "churn"),
            (D(2026, 11, 1), "closed", 0.0, "paused"),
        ])
        months = self._assert_months_add_up()
        october, november, december = months[D(2026, 10, 1)], months[D(2026, 11, 1)], months[D(2026, 12, 1)]
        self.assertEqual(round(october.mrr, 2), weekly_mrr)
        self.assertEqual((round(october.suspended_mrr, 2), round(october.paused_mrr, 2), october.churn_mrr),
                         (-weekly_mrr, -weekly_mrr, 0.0))
        self.assertEqual((november.closed_count, round(november.churn_mrr, 2), round(november.paused_mrr, 2)),
                         (1, -weekly_mrr, weekly_mrr))
        self.assertEqual((november.suspended_count, november.suspended_mrr), (1, 0.0))
        self.assertEqual((december.closed_count, round(december.churn_mrr, 2), round(december.suspended_mrr, 2)),
                         (1, -weekly_mrr, weekly_mrr))
        self.assertEqual((december.suspended_count, round(december.mrr, 2)), (0, weekly_mrr))
        # the churn rate counts the paused and suspended among the customers who may churn: in November bram
        # of cleo, bram and anna; in December anna of cleo and anna (never above 100 %)
        self.assertEqual((round(november.churn_rate, 1), round(december.churn_rate, 1)), (33.3, 50.0))
        self.assertEqual(self._rows(cleo)[3], (D(2026, 12, 1), "active", weekly_mrr, "stable"))
        with freeze_time("2026-12-15 09:00"):
            key = self.env["sale.recurring.mrr.month"]._dashboard_key_figures()
        self.assertEqual(key["net_new_mrr"], -Decimal(str(weekly_mrr)), "the churn is in net new MRR")

    def test_closed_while_suspended_without_churn_reason_is_closed_no_churn(self):
        """Rebuilt on the spot (nothing frozen): a close whose reason is no churn moves the MRR that went aside
        to *Closed, No Churn*."""
        moved = self.env.ref("sale_weekly_subscription.close_reason_plan_change")
        with freeze_time("2026-09-01 09:00"):
            order = self._create_subscription(self.weekly, "2026-09-07")
        with freeze_time("2026-10-07 09:00"):
            order._recurring_suspend(self.env["account.move"])
        with freeze_time("2026-11-10 09:00"):
            order._recurring_close(D(2026, 11, 10), moved)
        with freeze_time("2026-11-20 09:00"):
            self.env["sale.recurring.mrr"]._rebuild(months=3)
        self.assertEqual([row[1:] for row in self._rows(order)], [
            ("active", round(39.90 * 52 / 12, 2), "new"),
            ("suspended", 0.0, "suspended"),
            ("closed", 0.0, "closed"),
            ("closed", 0.0, "suspended"),
        ])
        november = self._assert_months_add_up()[D(2026, 11, 1)]
        self.assertEqual((november.churn_mrr, november.closed_count), (0.0, 0))
        self.assertEqual(round(november.closed_mrr, 2), -round(39.90 * 52 / 12, 2))
