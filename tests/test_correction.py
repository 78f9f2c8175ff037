from collections import defaultdict
from datetime import date, timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestCorrection(SubscriptionCase):
    """A change inside a period already invoiced in advance (week 20 2027: Monday 17 to Sunday 23 May)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.coffee = cls._create_product(name="Coffee beans", lst_price=12.0, type="consu", taxes_id=[])
        cls.cleaning = cls._create_product(name="Cleaning", lst_price=30.0, type="service", taxes_id=[])
        cls.plan = cls._create_plan(
            name="Weekly coffee", auto_send=False, mid_period_changes="prorate",
            line_ids=[Command.create({"product_id": cls.coffee.id, "price_unit": 12.0})])
        cls.company_data["company"].recurring_catch_up_limit = 20

    # -- helpers -----------------------------------------------------------------

    def _subscription(self, start="2027-05-17", quantity=2, plan=None, user=None):
        """Two bags of coffee a week (24.00), invoiced for its first week."""
        with freeze_time(f"{start} 08:00"):
            order = self._create_subscription(plan or self.plan, start, confirm=False, user=user)
            order.order_line.product_uom_qty = quantity
            order.action_confirm()
            self._run_billing()
        self.env.invalidate_all()
        return self.env["sale.order"].browse(order.id)

    def _change(self, order, day, **values):
        """The "Change a Line" dialog on the subscription's first line, from ``day`` (a string)."""
        action = order.action_recurring_change_line()
        wizard = Form(order.env["sale.order.recurring.change"].with_context(**action["context"]))
        wizard.effective_date = D.fromisoformat(day)
        for name, value in values.items():
            setattr(wizard, name, value)
        wizard.save().action_confirm()
        self.env.invalidate_all()

    def _corrections(self, order):
        return order.recurring_invoice_ids.filtered("recurring_correction").sorted("id")

    def _normal(self, order):
        return order.recurring_invoice_ids.filtered(
            lambda move: move.move_type == "out_invoice" and not move.recurring_correction).sorted(
                "recurring_period_start")

    def _signed(self, moves):
        return round(sum(moves.mapped("amount_untaxed_signed")), 2)

    # -- increase, decrease, zero, last day ----------------------------------------

    def test_an_increase_is_invoiced_for_the_rest_of_the_period(self):
        order = self._subscription()
        with freeze_time("2027-05-20 10:00"):
            self._change(order, "2027-05-20", quantity=3)
        correction = self._corrections(order)
        self.assertEqual(len(correction), 1)
        self.assertEqual((correction.move_type, correction.state, correction.invoice_date),
                         ("out_invoice", "posted", D(2027, 5, 20)))
        # 36.00 x 4/7 = 20.57 less 24.00 x 4/7 = 13.71
        self.assertEqual(correction.amount_untaxed, 6.86)
        self.assertEqual(correction.recurring_corrected_move_id, self._normal(order))
        self.assertEqual((correction.recurring_period_start, correction.recurring_period_end),
                         (D(2027, 5, 20), D(2027, 5, 23)))
        self.assertEqual(correction.invoice_line_ids.name,
                         "Correction: 2 → 3 × Coffee beans, week 20 2027, 20–23 May 2027 (4 of 7 days)")
        self.assertEqual(correction.invoice_line_ids.sale_line_ids, order.order_line)
        self.assertEqual(order.order_line.product_uom_qty, 3)
        self.assertTrue(any("corrects" in str(message.body) for message in order.message_ids))
        with freeze_time("2027-05-24 08:00"):
            self._run_billing()
            self._run_billing()  # a rerun bills nothing twice
        self.env.invalidate_all()
        self.assertEqual([(move.recurring_period_start, move.amount_untaxed) for move in self._normal(order)],
                         [(D(2027, 5, 17), 24.0), (D(2027, 5, 24), 36.0)])
        self.assertEqual(len(self._corrections(order)), 1)

    def test_a_decrease_is_credited_for_the_rest_of_the_period(self):
        order = self._subscription(quantity=3)
        with freeze_time("2027-05-20 10:00"):
            self._change(order, "2027-05-20", quantity=2)
        correction = self._corrections(order)
        self.assertEqual((correction.move_type, correction.state, correction.amount_untaxed),
                         ("out_refund", "posted", 6.86))
        self.assertEqual(correction.reversed_entry_id, self._normal(order))
        self.assertEqual(correction.invoice_line_ids.name,
                         "Correction: 3 → 2 × Coffee beans, week 20 2027, 20–23 May 2027 (4 of 7 days)")
        # matched with the unpaid invoice it corrects
        self.assertAlmostEqual(self._normal(order).amount_residual, 36.0 - 6.86, places=2)

    def test_a_decrease_to_zero_credits_the_days_left_and_a_pause_then_gives_nothing_back(self):
        order = self._subscription()
        with freeze_time("2027-05-19 10:00"):
            self._change(order, "2027-05-19", quantity=0)
            correction = self._corrections(order)
            # 24.00 x 5/7 = 17.14: what a pause from the same day would give back
            self.assertEqual((correction.move_type, correction.amount_untaxed), ("out_refund", 17.14))
            self._pause_from(order, D(2027, 5, 21), 1)
        self.env.invalidate_all()
        pause = order.recurring_pause_ids
        self.assertFalse(pause.refund_ids, "the days were credited by the correction already")
        self.assertEqual(self._signed(order.recurring_invoice_ids), 6.86)  # 17-18 May: 24.00 - 17.14

    def test_a_change_on_the_last_day_of_the_period_corrects_one_day(self):
        order = self._subscription()
        with freeze_time("2027-05-23 10:00"):
            self._change(order, "2027-05-23", quantity=3)
        correction = self._corrections(order)
        # 36.00 / 7 = 5.14 less 24.00 / 7 = 3.43
        self.assertEqual((correction.move_type, correction.amount_untaxed), ("out_invoice", 1.71))
        self.assertEqual(correction.invoice_line_ids.name,
                         "Correction: 2 → 3 × Coffee beans, week 20 2027, 23 May 2027 (1 of 7 days)")
        with freeze_time("2027-05-24 10:00"):
            self._change(order, "2027-05-24", quantity=4)  # the next period, not invoiced yet: nothing to correct
            self.assertEqual(len(self._corrections(order)), 1)
            self._run_billing()
        self.env.invalidate_all()
        self.assertEqual(self._normal(order)[-1].amount_untaxed, 48.0)

    def test_a_product_change_credits_the_goods_and_charges_the_service(self):
        order = self._subscription()
        with freeze_time("2027-05-20 10:00"):
            self._change(order, "2027-05-20", product_id=self.cleaning, quantity=1, price_unit=30.0)
        correction = self._corrections(order)
        lines = correction.invoice_line_ids.sorted("price_unit")
        # coffee: 24.00 x 4/7 = 13.71 credited; cleaning: 30.00 x 4/7 = 17.14 charged
        self.assertEqual([(line.product_id, line.price_unit) for line in lines],
                         [(self.coffee, -13.71), (self.cleaning, 17.14)])
        self.assertEqual((correction.move_type, correction.amount_untaxed), ("out_invoice", 3.43))
        self.assertEqual(lines[0].name, "Correction: 2 × Coffee beans → 1 × Cleaning, week 20 2027, 20–23 May 2027 "
                                        "(4 of 7 days)")
        with freeze_time("2027-05-24 08:00"):
            self._run_billing()
        self.env.invalidate_all()
        last = self._normal(order)[-1]
        self.assertEqual((last.invoice_line_ids.product_id, last.amount_untaxed), (self.cleaning, 30.0))

    def test_a_price_change_says_so(self):
        order = self._subscription()
        with freeze_time("2027-05-20 10:00"):
            self._change(order, "2027-05-20", price_unit=13.5)
        correction = self._corrections(order)
        # 27.00 x 4/7 = 15.43 less 13.71
        self.assertEqual(correction.amount_untaxed, 1.72)
        self.assertIn("2 × Coffee beans at", correction.invoice_line_ids.name)

    def test_the_plan_option_from_the_next_period(self):
        plan = self._create_plan(name="Weekly, next period", auto_send=False, mid_period_changes="next",
                                 line_ids=[Command.create({"product_id": self.coffee.id, "price_unit": 12.0})])
        order = self._subscription(plan=plan)
        with freeze_time("2027-05-20 10:00"):
            self._change(order, "2027-05-20", quantity=3)
        self.assertFalse(self._corrections(order))
        with freeze_time("2027-05-24 08:00"):
            self._run_billing()
        self.env.invalidate_all()
        self.assertEqual(self._normal(order).mapped("amount_untaxed"), [24.0, 36.0])

    def test_every_period_invoiced_in_advance_is_corrected(self):
        """Sent on Fridays: on Saturday 22 May, 24-30 May is invoiced already too."""
        plan = self._create_plan(name="Weekly, sent on Friday", send_weekday="4", auto_send=False,
                                 mid_period_changes="prorate",
                                 line_ids=[Command.create({"product_id": self.coffee.id, "price_unit": 12.0})])
        order = self._subscription(plan=plan)
        with freeze_time("2027-05-21 08:00"):
            self._run_billing()
        with freeze_time("2027-05-22 10:00"):
            self.assertEqual(order.recurring_invoiced_until, D(2027, 5, 30))
            self._change(order, "2027-05-22", quantity=3)
        corrections = self._corrections(order)
        # 22-23 May: 36.00 x 2/7 = 10.29 less 24.00 x 2/7 = 6.86; 24-30 May: the whole 12.00
        self.assertEqual([(move.recurring_period_start, move.recurring_period_end, move.amount_untaxed,
                           move.recurring_corrected_move_id) for move in corrections],
                         [(D(2027, 5, 22), D(2027, 5, 23), 3.43, self._normal(order)[0]),
                          (D(2027, 5, 24), D(2027, 5, 30), 12.0, self._normal(order)[1])])
        self.assertEqual(corrections[1].invoice_line_ids.name,
                         "Correction: 2 → 3 × Coffee beans, week 21 2027, 24–30 May 2027 (7 of 7 days)")

    def test_a_correction_is_sent_as_the_plan_sends(self):
        plan = self._create_plan(name="Weekly, sent", mid_period_changes="prorate",
                                 line_ids=[Command.create({"product_id": self.coffee.id, "price_unit": 12.0})])
        order = self._subscription(plan=plan)
        with freeze_time("2027-05-20 10:00"):
            self._change(order, "2027-05-20", quantity=3)
        correction = self._corrections(order)
        self.assertEqual(correction.state, "posted")
        self.assertTrue(correction.sending_data, "queued for Odoo's standard sending")

    def test_a_change_then_a_pause_deducted_from_the_next_invoice(self):
        plan = self._create_plan(name="Weekly, deducted", auto_send=False, mid_period_changes="prorate",
                                 pause_unused_days="carry_over",
                                 line_ids=[Command.create({"product_id": self.coffee.id, "price_unit": 12.0})])
        order = self._subscription(plan=plan)
        with freeze_time("2027-05-18 10:00"):
            self._change(order, "2027-05-18", quantity=3)
            self._pause_from(order, D(2027, 5, 21), 1)
        self.env.invalidate_all()
        self.assertEqual(order.recurring_pause_ids.carry_over_amount, 15.43)
        with freeze_time("2027-05-28 08:00"):
            self._run_billing()
        self.env.invalidate_all()
        self.assertEqual(self._normal(order)[-1].amount_untaxed, 20.57)  # 36.00 - 15.43
        self.assertEqual(self._signed(order.recurring_invoice_ids), 54.86)  # 24.00 + 10.29 + 20.57

    def test_a_salesperson_changes_a_line_of_their_subscription(self):
        order = self._subscription(user=self.user)
        with freeze_time("2027-05-20 10:00"):
            self._change(order.with_user(self.user), "2027-05-20", quantity=3)
        correction = self._corrections(order)
        self.assertEqual((correction.state, correction.amount_untaxed), ("posted", 6.86))
        message = order.message_ids.filtered(lambda message: "corrects" in str(message.body))
        self.assertEqual(message.author_id, self.user.partner_id)

    def test_a_price_with_an_included_tax_is_corrected_and_given_back_on_its_taxed_total(self):
        included = self.env["account.tax"].create({
            "name": "21% included", "amount": 21, "price_include_override": "tax_included",
            "company_id": self.company_data["company"].id})
        with freeze_time("2027-05-17 08:00"):
            order = self._create_subscription(self.plan, "2027-05-17", confirm=False)
            order.order_line.write({"product_uom_qty": 2, "price_unit": 12.10, "tax_ids": [Command.set(included.ids)]})
            order.action_confirm()
            self._run_billing()
        with freeze_time("2027-05-20 10:00"):
            self._change(order, "2027-05-20", quantity=3)
            # taxed: 36.30 x 4/7 = 20.74 less 24.20 x 4/7 = 13.83
            self.assertEqual(self._corrections(order).amount_total, 6.91)
            self._pause_from(order, D(2027, 5, 22), 1)
        self.env.invalidate_all()
        # 22-23 May at 3 bags, taxed: 36.30 x 2/7 = 10.37 (6.91 of the invoice, 3.46 of the correction)
        refund = order.recurring_pause_ids.refund_ids
        self.assertEqual(refund.amount_total, 10.37)
        self.assertEqual(round(sum(order.recurring_invoice_ids.mapped("amount_total_signed")), 2),
                         round(24.20 + 6.91 - 10.37, 2))

    def test_the_dialog_refuses_what_cannot_be_changed(self):
        order = self._subscription()
        with freeze_time("2027-05-20 10:00"):
            action = order.action_recurring_change_line()
            wizard = self.env["sale.order.recurring.change"].with_context(**action["context"]).create({})
            with self.assertRaises(UserError):
                wizard.action_confirm()  # nothing changes
            wizard.quantity = -1
            with self.assertRaises(ValidationError):
                wizard.action_confirm()
            order._recurring_close(D(2027, 5, 20), self.reason)
        with freeze_time("2027-05-21 10:00"):
            self.env.invalidate_all()
            self.assertEqual(order.recurring_state, "closed")
            with self.assertRaises(ValidationError):
                order.order_line.with_context(recurring_effective_date="2027-05-20").write({"product_uom_qty": 3})

    # -- the write itself: RPC with a date, without one; its checks -------------------

    def test_a_write_with_the_effective_date_follows_the_rule_and_one_without_does_not(self):
        order = self._subscription()
        line = order.order_line
        with freeze_time("2027-05-18 10:00"):
            line.write({"product_uom_qty": 3})  # no date: from the next period, as before
            self.assertFalse(self._corrections(order))
            line.with_context(recurring_effective_date="2027-05-20").write({"product_uom_qty": 4})
        correction = self._corrections(order)
        # what was charged (2 bags) against the new 4 bags: 48.00 x 4/7 = 27.43 less 13.71
        self.assertEqual(correction.amount_untaxed, 13.72)
        self.assertEqual(correction.invoice_line_ids.recurring_base_before, 24.0)
        with freeze_time("2027-05-18 10:00"), self.assertRaises(ValidationError):
            line.with_context(recurring_effective_date="2027-05-10").write({"product_uom_qty": 5})  # before the start
        with freeze_time("2027-05-18 10:00"), self.assertRaises(ValidationError):
            # in the future, after the days invoiced (to 23 May): it would change 24-30 May too
            line.with_context(recurring_effective_date="2027-05-31").write({"product_uom_qty": 5})

    # -- with pauses -------------------------------------------------------------------

    def test_a_change_then_a_pause_in_the_same_period_gives_back_exactly_the_days_paid(self):
        order = self._subscription()
        with freeze_time("2027-05-18 10:00"):
            self._change(order, "2027-05-18", quantity=3)
            correction = self._corrections(order)
            # 36.00 x 6/7 = 30.86 less 24.00 x 6/7 = 20.57
            self.assertEqual(correction.amount_untaxed, 10.29)
            wizard = Form(self.env["sale.recurring.pause.wizard"].with_context(default_order_id=order.id))
            wizard.start_mode = "date"
            wizard.start_date = D(2027, 5, 21)
            # 21-23 May at 3 bags: 36.00 x 3/7 = 15.43, as the normal invoice (10.29) and the correction (5.14)
            self.assertEqual(round(wizard.given_back, 2), 15.43)
            wizard.save().action_confirm()
        self.env.invalidate_all()
        refund = order.recurring_pause_ids.refund_ids
        self.assertEqual(len(refund), 1)
        self.assertEqual(refund.amount_untaxed, 15.43)
        self.assertEqual(sorted(refund.invoice_line_ids.mapped("price_unit")), [5.14, 10.29])
        # kept: Monday at 2 bags (24.00 - 20.57 = 3.43) and Tuesday to Thursday at 3 (15.43)
        self.assertEqual(self._signed(order.recurring_invoice_ids), 18.86)
        with freeze_time("2027-05-28 08:00"):
            self._run_billing()
        self.env.invalidate_all()
        self.assertEqual(self._normal(order)[-1].recurring_period_start, D(2027, 5, 28))
        self.assertEqual(self._normal(order)[-1].amount_untaxed, 36.0)

    def test_a_pause_then_a_change_in_the_same_period_charges_no_paused_day(self):
        order = self._subscription()
        with freeze_time("2027-05-18 10:00"):
            self._pause_from(order, D(2027, 5, 21), 1)
            self.env.invalidate_all()
            self.assertEqual(order.recurring_pause_ids.refund_ids.amount_untaxed, 10.29)  # 24.00 x 3/7
            self._change(order, "2027-05-18", quantity=3)
        correction = self._corrections(order)
        self.assertEqual(correction.invoice_line_ids.name,
                         "Correction: 2 → 3 × Coffee beans, week 20 2027, 18–20 May 2027 (3 of 7 days)")
        self.assertEqual((correction.recurring_period_start, correction.recurring_period_end),
                         (D(2027, 5, 18), D(2027, 5, 20)))
        # 18-20 May at 3 bags instead of 2: (30.86 - 15.43) - (20.57 - 10.29)
        self.assertEqual(correction.amount_untaxed, 5.15)
        # kept: the same days at the same prices as a change then a pause
        self.assertEqual(self._signed(order.recurring_invoice_ids), 18.86)

    def test_a_change_in_the_paused_days_corrects_nothing(self):
        order = self._subscription()
        with freeze_time("2027-05-18 10:00"):
            self._pause_from(order, D(2027, 5, 19), 1)
        with freeze_time("2027-05-20 10:00"):
            self._change(order, "2027-05-20", quantity=3)
        self.assertFalse(self._corrections(order))

    # -- the one invoice of a period, the forecast, the MRR -------------------------------

    def test_one_normal_invoice_per_period_plus_its_corrections(self):
        order = self._subscription()
        with freeze_time("2027-05-19 10:00"):
            self._change(order, "2027-05-19", quantity=3)
            self._change(order, "2027-05-21", quantity=1)
            self._run_billing()
        self.env.invalidate_all()
        corrections = self._corrections(order)
        self.assertEqual(corrections.mapped("move_type"), ["out_invoice", "out_refund"])
        # 19-20 May at 3 bags, 21-23 May at 1: each correction takes what the one before charged
        self.assertEqual(corrections[1].invoice_line_ids.recurring_base_before, 36.0)
        # 17-18 May at 2 bags (24.00 - 17.14), 19-20 May at 3 (25.71 - 15.43), 21-23 May at 1 (5.14)
        self.assertEqual([move.amount_untaxed for move in corrections], [8.57, 10.29])
        self.assertEqual(self._signed(order.recurring_invoice_ids), 22.28)
        self.assertEqual(len(self._normal(order)), 1)
        invoice = self._normal(order)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            invoice.copy({"recurring_order_id": order.id, "recurring_period_start": invoice.recurring_period_start,
                          "recurring_period_end": invoice.recurring_period_end})
            self.env.flush_all()

    def test_the_forecast_equals_the_invoices_to_the_cent_with_corrections(self):
        orders = self._subscription() | self._subscription(quantity=3)
        with freeze_time("2027-05-20 10:00"):
            self._change(orders[0], "2027-05-20", quantity=3)
            self._change(orders[1], "2027-05-20", product_id=self.cleaning, quantity=1, price_unit=29.99)
            last_move = self.env["account.move"].search([], order="id desc", limit=1).id
            Forecast = self.env["sale.recurring.forecast"]
            Forecast._refresh(months=3)
            expected = defaultdict(float)
            for row in Forecast.search([("order_id", "in", orders.ids)]):
                expected[row.month] += row.amount
        self.assertEqual(len(self._corrections(orders)), 2)
        day = D(2027, 5, 20)
        while day <= D(2027, 7, 31):
            with freeze_time(f"{day} 12:00"):
                self._run_billing()
            day += timedelta(days=1)
        self.env.invalidate_all()
        made = self.env["account.move"].search([("recurring_order_id", "in", orders.ids), ("id", ">", last_move)])
        invoiced = defaultdict(float)
        for move in made.filtered(lambda move: not move.recurring_correction):
            invoiced[move.invoice_date.replace(day=1)] += move.amount_untaxed_signed
        self.assertEqual({month: round(value, 2) for month, value in expected.items()},
                         {month: round(value, 2) for month, value in invoiced.items()})
        # the corrected days are never billed again: one invoice per period, corrections on top
        normal = self._normal(orders[0])
        self.assertEqual(len(normal), len(set(normal.mapped("recurring_period_start"))))
        # from the change on, every invoice bills the new line; the corrected week is not billed again
        self.assertEqual(set(normal[1:].mapped("amount_untaxed")), {36.0})
        self.assertEqual(len(self._corrections(orders)), 2)

    def test_mrr_shows_expansion_and_contraction_in_the_month_of_the_change(self):
        up = self._subscription(start="2027-05-24")
        down = self._subscription(start="2027-05-24", quantity=3)
        with freeze_time("2027-06-28 08:00"):
            self._run_billing()
        with freeze_time("2027-06-29 10:00"):
            # the period 28 June - 4 July covers the end of June: its correction values it
            self._change(up, "2027-06-29", quantity=3)
            self._change(down, "2027-06-29", quantity=2)
        self.assertEqual(self._corrections(up | down).mapped("move_type"), ["out_invoice", "out_refund"])
        self.assertEqual(self._corrections(up).recurring_monthly_amount, 156.0)  # 36.00 x 52 / 12
        Mrr = self.env["sale.recurring.mrr"]
        with freeze_time("2027-07-02 10:00"):
            Mrr._rebuild(3)

        def rows(order):
            return [(row.month, round(row.mrr, 2), row.movement)
                    for row in Mrr.search([("order_id", "=", order.id)], order="month")]
        self.assertEqual(rows(up), [(D(2027, 5, 1), 104.0, "new"), (D(2027, 6, 1), 156.0, "expansion"),
                                    (D(2027, 7, 1), 156.0, "stable")])
        self.assertEqual(rows(down), [(D(2027, 5, 1), 156.0, "new"), (D(2027, 6, 1), 104.0, "contraction"),
                                      (D(2027, 7, 1), 104.0, "stable")])
