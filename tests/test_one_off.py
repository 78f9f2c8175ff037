from collections import defaultdict
from datetime import date

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.fields import Command
from odoo.tests import tagged

from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestOneOff(SubscriptionCase):
    """One-off lines (a set-up fee, a cooler bag): billed once, in full, on the first invoice made after
    they are added; never in the MRR, the expected revenue or a pause's credit."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=False)  # 39.90 on Mondays
        cls.product_fee = cls._create_product(name="Set-up fee", lst_price=25.0, taxes_id=[])
        cls.product_bag = cls._create_product(name="Cooler bag", lst_price=15.0, taxes_id=[])

    def _subscription_with_fee(self, start="2026-12-07", plan=None):
        with freeze_time("2026-12-01"):
            return self._create_subscription(plan or self.weekly, start, order_line=[
                Command.create({"product_id": self.product_box.id, "price_unit": 39.90}),
                Command.create({"product_id": self.product_fee.id, "price_unit": 25.0, "recurring_one_off": True}),
            ])

    def _bill(self, day):
        with freeze_time(f"{day} 09:00"):
            self._run_billing()
        self.env.invalidate_all()

    def _invoices(self, order):
        return order.recurring_invoice_ids.filtered(lambda move: move.move_type == "out_invoice").sorted(
            "recurring_period_start")

    def test_a_set_up_fee_is_on_the_first_invoice_only(self):
        order = self._subscription_with_fee()
        fee = order.order_line.filtered("recurring_one_off")
        with freeze_time("2026-12-01"):
            preview = order._recurring_preview_vals(3)
            self.assertEqual([row["amount_untaxed"] for row in preview], [64.90, 39.90, 39.90])
            self.assertEqual(order._recurring_next_invoice_total(), 64.90)
            Upcoming = self.env["sale.recurring.upcoming.invoice"]
            Upcoming._refresh(weeks=3)
            self.assertEqual(Upcoming.search([("order_id", "=", order.id)]).mapped("amount"), [64.90, 39.90, 39.90])
        self._bill("2026-12-07")
        self._bill("2026-12-07")  # a rerun bills nothing more
        first = self._invoices(order)
        self.assertEqual(len(first), 1)
        self.assertEqual(first.amount_untaxed, 64.90)
        fee_line = first.invoice_line_ids.filtered(lambda line: line.product_id == self.product_fee)
        self.assertEqual((fee_line.quantity, fee_line.price_unit, fee_line.sale_line_ids), (1.0, 25.0, fee))
        self.assertFalse(fee_line.recurring_period_start)
        self.assertTrue(fee.recurring_one_off_invoiced)
        with freeze_time("2026-12-08"):
            self.assertEqual([row["amount_untaxed"] for row in order._recurring_preview_vals(2)], [39.90, 39.90])
            self.assertEqual(order._recurring_next_invoice_total(), 39.90)
        self._bill("2026-12-14")
        self._bill("2026-12-14")
        invoices = self._invoices(order)
        self.assertEqual(invoices.mapped("amount_untaxed"), [64.90, 39.90])
        self.assertNotIn(self.product_fee, invoices[1].invoice_line_ids.product_id)
        self.assertEqual(len(invoices.invoice_line_ids.filtered(lambda line: line.product_id == self.product_fee)), 1)

    def test_a_one_off_line_is_billed_in_full_in_a_prorated_period(self):
        aligned = self._create_plan(name="Weekly box, aligned", auto_send=False, anchoring="aligned")
        order = self._subscription_with_fee(start="2026-12-09", plan=aligned)  # a Wednesday: a lead-in of 5 days
        self._bill("2026-12-09")
        self._bill("2026-12-14")
        lead_in, week = self._invoices(order)
        self.assertEqual((lead_in.recurring_period_start, lead_in.recurring_period_end),
                         (D(2026, 12, 9), D(2026, 12, 13)))
        # 39.90 x 5/7 = 28.50, and the whole fee
        self.assertEqual(lead_in.amount_untaxed, 28.50 + 25.0)
        self.assertEqual(week.amount_untaxed, 39.90)

    def test_a_one_off_line_added_mid_life_goes_on_the_next_invoice_only(self):
        with freeze_time("2026-12-01"):
            order = self._create_subscription(self.weekly, "2026-12-07")
        self._bill("2026-12-07")
        with freeze_time("2026-12-09"):
            order.with_user(self.manager).order_line = [Command.create({
                "product_id": self.product_bag.id, "price_unit": 15.0, "recurring_one_off": True})]
            self.assertEqual([row["amount_untaxed"] for row in order._recurring_preview_vals(2)], [54.90, 39.90])
        self._bill("2026-12-14")
        self._bill("2026-12-21")
        self.assertEqual(self._invoices(order).mapped("amount_untaxed"), [39.90, 54.90, 39.90])
        self.assertTrue(order.order_line.filtered("recurring_one_off").recurring_one_off_invoiced)

    def test_a_cancelled_invoice_gives_the_one_off_line_to_the_next_one(self):
        order = self._subscription_with_fee()
        self._bill("2026-12-07")
        first = self._invoices(order)
        first.button_draft()
        first.button_cancel()
        fee = order.order_line.filtered("recurring_one_off")
        self.assertFalse(fee.recurring_one_off_invoiced)
        self._bill("2026-12-14")
        second = self._invoices(order).filtered(lambda move: move.state == "posted")
        self.assertEqual(second.amount_untaxed, 64.90)
        self.assertTrue(fee.recurring_one_off_invoiced)

    def test_mrr_and_expected_revenue_leave_the_one_off_line_out(self):
        order = self._subscription_with_fee()
        weekly_mrr = round(39.90 * 52 / 12, 2)
        self.assertEqual(float(order._recurring_monthly_amount()), weekly_mrr)
        with freeze_time("2026-12-01 06:00"):
            Forecast = self.env["sale.recurring.forecast"]
            Forecast._refresh(months=2)
            expected = defaultdict(float)
            for row in Forecast.search([("order_id", "=", order.id)]):
                expected[row.month] += row.amount
        for day in ("2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28"):
            self._bill(day)
        invoices = self._invoices(order)
        self.assertEqual(set(invoices.mapped("recurring_monthly_amount")), {weekly_mrr})
        # the expected revenue is the recurring part of the invoices: all of them but the one-off line
        self.assertEqual(round(expected[D(2026, 12, 1)], 2), 4 * 39.90)
        self.assertEqual(round(sum(invoices.mapped("amount_untaxed")) - 25.0, 2), round(expected[D(2026, 12, 1)], 2))
        with freeze_time("2026-12-31 09:00"):
            self.env["sale.recurring.mrr"]._rebuild(1)
        row = self.env["sale.recurring.mrr"].search([("order_id", "=", order.id), ("month", "=", "2026-12-01")])
        self.assertEqual(round(row.mrr, 2), weekly_mrr)

    def test_a_pause_gives_back_none_of_a_one_off_line(self):
        order = self._subscription_with_fee()
        self._bill("2026-12-07")
        self.assertEqual(self._invoices(order).amount_untaxed, 64.90)
        with freeze_time("2026-12-08 09:00"):
            self._pause_from(order, D(2026, 12, 10), 1)
        pause = order.recurring_pause_ids
        given_back = pause.carry_over_amount or sum(pause.refund_ids.mapped("amount_untaxed"))
        self.assertEqual(round(given_back, 2), 22.80)  # 39.90 x 4/7 (10-13 Dec), none of the fee

    def test_a_line_billed_per_period_cannot_become_one_off(self):
        with freeze_time("2026-12-01"):
            order = self._create_subscription(self.weekly, "2026-12-07")
        self._bill("2026-12-07")
        with self.assertRaisesRegex(ValidationError, f"{order.name}.*Meal box.*'One-off'"):
            order.order_line.recurring_one_off = True
