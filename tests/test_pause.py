from datetime import date

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, tagged
from odoo.tools import format_date

from ..engine import periods
from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestPause(SubscriptionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=False)
        cls.biweekly = cls._create_plan(
            name="Every 2 weeks", billing_interval=2, auto_send=False,
            line_ids=[Command.create({"product_id": cls.product_box.id, "price_unit": 59.90})])
        cls.holiday = cls.env.ref("sale_weekly_subscription.pause_reason_holiday")

    def _bill(self):
        self._run_billing()
        self.env.invalidate_all()

    def _pause_cron(self):
        with self.enter_registry_test_mode():
            self.env.ref("sale_weekly_subscription.ir_cron_recurring_pauses").method_direct_trigger()
        self.env.invalidate_all()

    def _pause(self, order, start, weeks, **values):
        return self.env["sale.recurring.pause"].create({
            "order_id": order.id, "start_date": start, "weeks": weeks, "reason_id": self.holiday.id, **values})

    def _periods(self, order, move_type="out_invoice"):
        moves = order.recurring_invoice_ids.filtered(lambda m: m.move_type == move_type)
        return [(m.recurring_period_start, m.recurring_period_end, m.invoice_date, m.amount_untaxed)
                for m in moves.sorted("recurring_period_start")]

    # -- schedule, run, resume -------------------------------------------------

    def test_schedule_run_and_resume_automatically(self):
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30")
            self._bill()
            wizard = Form(self.env["sale.recurring.pause.wizard"].with_context(default_order_id=order.id))
            # by default the next period boundary: no amount changes
            self.assertEqual(wizard.start_date, D(2026, 12, 7))
            wizard.weeks = 2
            wizard.reason_id = self.holiday
            self.assertEqual(wizard.end_date, D(2026, 12, 20))
            self.assertIn("21/12/2026", wizard.effect_html.replace("12/21/2026", "21/12/2026"))
            self.assertFalse(wizard.given_back)
            wizard.save().action_confirm()
        pause = order.recurring_pause_ids
        self.assertEqual((pause.state, pause.start_date, pause.end_date, pause.resume_date),
                         ("scheduled", D(2026, 12, 7), D(2026, 12, 20), D(2026, 12, 21)))
        self.assertEqual(order.recurring_next_pause_date, D(2026, 12, 7))
        self.assertPeriod(order, D(2026, 12, 21), D(2026, 12, 27), D(2026, 12, 21))
        with freeze_time("2026-12-07 06:00"):
            self._pause_cron()
            self._bill()
        self.assertEqual((pause.state, order.recurring_state), ("running", "paused"))
        self.assertEqual(order.recurring_resume_date, D(2026, 12, 21))
        with freeze_time("2026-12-14 06:00"):
            self._pause_cron()
            self._bill()
        self.assertEqual(len(order.recurring_invoice_ids), 1, "no invoice covers a paused week")
        with freeze_time("2026-12-21 06:00"):
            self._pause_cron()
            self._bill()
            self._bill()  # a rerun bills nothing twice
        self.assertEqual((pause.state, order.recurring_state), ("done", "progress"))
        self.assertFalse(order.recurring_resume_date)
        self.assertTrue(any("runs again from" in str(m.body) for m in order.message_ids))
        self.assertEqual(self._periods(order), [
            (D(2026, 11, 30), D(2026, 12, 6), D(2026, 11, 30), 39.90),
            (D(2026, 12, 21), D(2026, 12, 27), D(2026, 12, 21), 39.90),
        ])

    def test_arrears_period_before_the_pause_is_billed_during_it(self):
        plan = self._create_plan(name="Cleaning", billing_timing="arrears", send_weekday="4", auto_send=False)
        with freeze_time("2026-12-01"):
            order = self._create_subscription(plan, "2026-12-07")
            self._pause(order, "2026-12-17", 2)  # Thursday, mid-period: 7-16 Dec kept
        with freeze_time("2026-12-18 08:00"):
            self._pause_cron()
            self._bill()
        self.assertEqual(order.recurring_state, "paused")
        self.assertEqual(self._periods(order), [
            (D(2026, 12, 7), D(2026, 12, 13), D(2026, 12, 18), 39.90),
            # 3 of 7 days, a tail: 39.90 x 3/7 = 17.1
            (D(2026, 12, 14), D(2026, 12, 16), D(2026, 12, 18), 17.10),
        ])
        self.assertPeriod(order, D(2026, 12, 31), D(2027, 1, 6), D(2027, 1, 8))

    def test_end_a_running_pause_early(self):
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30")
            self._bill()
            pause = self._pause(order, "2026-12-07", 4)
        with freeze_time("2026-12-16 09:00"):
            self._pause_cron()
            self.assertPeriod(order, D(2027, 1, 4), D(2027, 1, 10), D(2027, 1, 4))
            pause.action_end_early()
            self.assertEqual((pause.state, pause.end_date, order.recurring_state),
                             ("done", D(2026, 12, 15), "progress"))
            # the next period starts today, a Wednesday; billed in advance, its invoice has the
            # send day on or before it, so it is due at once
            self.assertPeriod(order, D(2026, 12, 16), D(2026, 12, 22), D(2026, 12, 14))
            self._bill()
        self.assertEqual(self._periods(order)[-1], (D(2026, 12, 16), D(2026, 12, 22), D(2026, 12, 14), 39.90))
        with self.assertRaises(UserError):
            pause.action_end_early()

    def test_cancel_a_scheduled_pause(self):
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30")
            self._bill()
            pause = self._pause(order, "2026-12-07", 2)
            self.assertPeriod(order, D(2026, 12, 21), D(2026, 12, 27), D(2026, 12, 21))
            pause.action_cancel()
        self.assertEqual(pause.state, "cancel")
        self.assertPeriod(order, D(2026, 12, 7), D(2026, 12, 13), D(2026, 12, 7))
        self.assertFalse(order.recurring_next_pause_date)
        with freeze_time("2026-12-07"):
            self._pause_cron()
        self.assertEqual((pause.state, order.recurring_state), ("cancel", "progress"))
        with freeze_time("2026-12-07"):
            running = self._pause(order, "2026-12-07", 1)
        self.assertEqual((running.state, order.recurring_state), ("running", "paused"))
        with self.assertRaises(UserError):
            running.action_cancel()

    # -- rejections -------------------------------------------------------------

    def test_each_rejection_rule(self):
        plan = self._create_plan(name="Limited", auto_send=False, pause_max_weeks=4, pause_max_weeks_year=5,
                                 pause_notice_days=14, duration_type="fixed", duration_periods=26)
        with freeze_time("2026-11-30"):
            order = self._create_subscription(plan, "2026-12-07")
            self._pause(order, "2027-01-04", 2)
            cases = [
                ("overlaps", {"start_date": "2027-01-11", "weeks": 1}),
                ("before the subscription starts", {"start_date": "2026-11-30", "weeks": 1}),
                ("after the subscription ends", {"start_date": "2027-07-01", "weeks": 1}),
                ("limit of 4 weeks per pause", {"start_date": "2027-02-01", "weeks": 5}),
                ("within 12 months", {"start_date": "2027-03-01", "weeks": 4}),
                ("at least 1", {"start_date": "2027-02-01", "weeks": 0}),
                ("at the earliest", {"start_date": "2026-12-07", "weeks": 1, "requested_by": "portal"}),
            ]
            for message, values in cases:
                with self.subTest(message), self.assertRaisesRegex(ValidationError, message), self.cr.savepoint():
                    self.env["sale.recurring.pause"].create({"order_id": order.id, **values})
            # the notice binds the portal only
            self._pause(order, "2026-12-07", 1)
            # more weeks within 12 months: 2 + 1 + 3 > 5
            with self.assertRaises(ValidationError), self.cr.savepoint():
                self._pause(order, "2027-05-03", 3)
            self._pause(order, "2027-05-03", 2)
            closing = self._create_subscription(self.weekly, "2026-11-30")
            closing._recurring_close(D(2026, 12, 31), self.reason)
            with self.assertRaisesRegex(ValidationError, "being closed"), self.cr.savepoint():
                self._pause(closing, "2026-12-14", 1)
            closing._recurring_close(D(2026, 11, 30), self.reason)
            self.assertEqual(closing.recurring_state, "closed")
            with self.assertRaisesRegex(ValidationError, "not running"), self.cr.savepoint():
                self._pause(closing, "2026-12-14", 1)
            fresh = self._create_subscription(self.weekly, "2026-11-30")
        with freeze_time("2026-12-10"), self.assertRaisesRegex(ValidationError, "past"), self.cr.savepoint():
            self._pause(fresh, "2026-12-08", 1)
        # rejected in the user's language, naming the record and the field
        self.env["res.lang"]._activate_lang("fr_FR")
        with freeze_time("2026-11-30"), self.assertRaises(ValidationError) as caught:
            self.env["sale.recurring.pause"].with_context(lang="fr_FR").create(
                {"order_id": order.id, "start_date": "2027-02-01", "weeks": 9})
        self.assertIn(order.name, str(caught.exception))
        self.assertIn("Semaines", str(caught.exception))

    # -- paid days in a pause -------------------------------------------------

    def _mid_period_pause(self, plan, user=None):
        """2-weekly 59.90 from Wed 2 Dec 2026 on Mondays; 16-29 Dec invoiced, then a pause from 21 Dec."""
        with freeze_time("2026-12-01"):
            order = self._create_subscription(plan, "2026-12-02", user=user)
        with freeze_time("2026-12-14 08:00"):
            self._bill()
            invoice = order.recurring_invoice_ids.filtered(lambda m: m.recurring_period_start == D(2026, 12, 16))
            self.assertEqual(invoice.amount_untaxed, 59.90)
            wizard = Form(self.env["sale.recurring.pause.wizard"].with_user(user or self.env.user).with_context(
                default_order_id=order.id))
            wizard.start_mode = "date"
            wizard.start_date = D(2026, 12, 21)
            wizard.weeks = 3
            self.assertEqual(wizard.given_back, 38.51)
            wizard.save().action_confirm()
        return order, invoice, order.recurring_pause_ids

    def test_credit_note_for_paid_days_in_the_pause(self):
        # a salesperson without invoicing rights pauses: the credit note is still made
        self.assertFalse(self.user.has_group("account.group_account_invoice"))
        order, invoice, pause = self._mid_period_pause(self.biweekly, user=self.user)
        refund = pause.refund_ids
        self.assertEqual(len(refund), 1)
        # 59.90 x 9/14 = 38.507: given back 38.51, so 21.39 stays billed for 16-20 Dec
        self.assertEqual((refund.move_type, refund.state, refund.amount_untaxed), ("out_refund", "posted", 38.51))
        self.assertEqual(refund.reversed_entry_id, invoice)
        self.assertEqual(refund.recurring_order_id, order)
        self.assertEqual((refund.recurring_period_start, refund.recurring_period_end),
                         (D(2026, 12, 21), D(2026, 12, 29)))
        self.assertAlmostEqual(invoice.amount_residual, 21.39)
        self.assertEqual(order.recurring_invoiced_until, D(2026, 12, 20))
        self.assertPeriod(order, D(2027, 1, 11), D(2027, 1, 24), D(2027, 1, 11))
        with freeze_time("2027-01-11 08:00"):
            self._pause_cron()
            self._bill()
        self.assertEqual(self._periods(order)[-1], (D(2027, 1, 11), D(2027, 1, 24), D(2027, 1, 11), 59.90))
        self.assertEqual(pause.state, "done")

    def test_credited_pause_cannot_be_cancelled_and_days_are_never_given_back_twice(self):
        plan = self._create_plan(name="Monthly", billing_unit="month", auto_send=False, line_ids=[
            Command.create({"product_id": self.product_box.id, "price_unit": 310.0})])
        with freeze_time("2027-01-01 08:00"):
            order = self._create_subscription(plan, "2027-01-01")
            self._bill()
            invoice = order.recurring_invoice_ids
            late = self._pause(order, "2027-01-20", 1)  # 20-31 Jan paid: 12/31 of 310
            early = self._pause(order, "2027-01-10", 1)  # only 10-19 Jan are still paid
            with self.assertRaisesRegex(UserError, "cannot be cancelled"):
                late.action_cancel()
        self.assertEqual(late.refund_ids.amount_untaxed, 120.0)
        self.assertEqual(early.refund_ids.amount_untaxed, 100.0)
        self.assertEqual(order.recurring_invoiced_until, D(2027, 1, 9))
        self.assertAlmostEqual(invoice.amount_residual, 90.0)  # 9 days of January
        # the schedule resumes after each pause: 17-19 Jan, then from 27 Jan
        upcoming = periods.periods_after(invoiced_until=order.recurring_invoiced_until, limit=2,
                                         **order._recurring_schedule().period_args())
        self.assertEqual([(period.start, period.end) for period in upcoming],
            [(D(2027, 1, 17), D(2027, 1, 19)), (D(2027, 1, 27), D(2027, 2, 26))])

    def test_carry_over_to_the_first_invoice_after_the_pause(self):
        plan = self.biweekly.copy({"name": "Carry over", "pause_unused_days": "carry_over"})
        order, invoice, pause = self._mid_period_pause(plan)
        self.assertFalse(pause.refund_ids)
        self.assertEqual(pause.carry_over_amount, 38.51)
        self.assertEqual(invoice.amount_residual, 59.90)
        with freeze_time("2027-01-11 08:00"):
            self._pause_cron()
            self._bill()
            self._bill()
        after = order.recurring_invoice_ids.filtered(lambda m: m.recurring_period_start == D(2027, 1, 11))
        self.assertEqual(len(after), 1)
        self.assertEqual(after.amount_untaxed, 21.39)  # 59.90 - 38.51
        self.assertEqual(pause.carry_over_move_id, after)
        deduction = after.invoice_line_ids.filtered(lambda line: line.price_unit < 0)
        self.assertEqual(deduction.price_subtotal, -38.51)
        self.assertIn(invoice.name, deduction.name)
        with freeze_time("2027-01-25 08:00"):
            self._bill()
        self.assertEqual(self._periods(order)[-1][3], 59.90, "deducted once only")

    # -- term ---------------------------------------------------------------------

    def test_fixed_term_end_pushed_back(self):
        plan = self._create_plan(name="8 weeks", auto_send=False, duration_type="fixed", duration_periods=8)
        with freeze_time("2026-11-30"):
            order = self._create_subscription(plan, "2026-11-30")
            self.assertEqual(order.recurring_end_date, D(2027, 1, 24))
            pause = self._pause(order, "2026-12-14", 3)
            self.assertEqual(order.recurring_end_date, D(2027, 2, 14))
            self.assertEqual(pause.term_extension_days, 21)
            pause.action_cancel()
            self.assertEqual(order.recurring_end_date, D(2027, 1, 24))
            pause = self._pause(order, "2026-12-14", 3)
        with freeze_time("2026-12-21 07:00"):
            self._pause_cron()
            pause.action_end_early()  # 7 days paused instead of 21
        self.assertEqual(order.recurring_end_date, D(2027, 1, 31))
        # billing all of it gives the 8 paid weeks, not one more
        self.company_data["company"].recurring_catch_up_limit = 10  # in one run
        with freeze_time("2027-02-08 07:00"):
            self._bill()
        self.assertEqual(len(self._periods(order)), 8)
        self.assertEqual(self._periods(order)[-1][:2], (D(2027, 1, 25), D(2027, 1, 31)))
        self.assertEqual(sum(x[3] for x in self._periods(order)), 8 * 39.90)

        no_push = plan.copy({"name": "No push", "pause_extends_term": False})
        with freeze_time("2026-11-30"):
            other = self._create_subscription(no_push, "2026-11-30")
            self._pause(other, "2026-12-14", 3)
        self.assertEqual(other.recurring_end_date, D(2027, 1, 24))

    def test_preview_shows_the_pauses_and_the_moved_dates(self):
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30")
            self._pause(order, "2026-12-14", 2)
            preview = self.env["sale.order.recurring.preview"].create({"order_id": order.id, "count": 4})
        self.assertEqual(preview.pause_ids, order.recurring_pause_ids)
        self.assertEqual(
            [(line.invoice_date, line.invoice_date_unpaused) for line in preview.line_ids],
            [(D(2026, 11, 30), False), (D(2026, 12, 7), False),
             (D(2026, 12, 28), D(2026, 12, 14)), (D(2027, 1, 4), D(2026, 12, 21))])


@tagged("post_install", "-at_install")
class TestPauseScreens(SubscriptionCase):
    """The Pause dialog, the pause form and the subscription's paused banner, as a salesperson."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=False)

    def _wizard(self, order, start, weeks):
        wizard = Form(self.env["sale.recurring.pause.wizard"].with_user(self.user).with_context(
            default_order_id=order.id))
        wizard.start_mode = "date"
        wizard.start_date = start
        wizard.weeks = weeks
        return wizard.save()

    def test_pausing_closes_the_dialog_back_on_the_subscription(self):
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30", user_id=self.user.id)
            action = self._wizard(order, D(2026, 12, 7), 2).action_confirm()
        # no second form of the same subscription on top of it (and of its breadcrumb)
        self.assertEqual(action, {"type": "ir.actions.act_window_close"})
        self.assertEqual(order.recurring_pause_ids.weeks, 2)

    def test_pause_form_shows_the_invoice_dates_without_and_with_it(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._create_subscription(self.weekly, "2026-11-30", user_id=self.user.id)
            self._run_billing()
            wizard = self._wizard(order, D(2026, 12, 7), 2)
            Pause = self.env["sale.recurring.pause"].with_user(self.user)
            before = Pause._effect_rows(order, D(2026, 12, 7), D(2026, 12, 20))
            self.assertEqual([(row["date_now"], row["date_with"]) for row in before], [
                (D(2026, 12, 7), D(2026, 12, 21)), (D(2026, 12, 14), D(2026, 12, 28)),
                (D(2026, 12, 21), D(2027, 1, 4)), (D(2026, 12, 28), D(2027, 1, 11))])
            self.assertEqual(before[0]["period_with"], order._recurring_period_label(D(2026, 12, 21), D(2026, 12, 27)))
            wizard.action_confirm()
            pause = order.recurring_pause_ids.with_user(self.user)
            # the pause's form compares the same dates: the schedule without it, and with it
            self.assertEqual(Pause._effect_rows(order, pause.start_date, pause.end_date, exclude=pause), before)
            # "with this pause" is what the billing run will do
            self.assertEqual([row["date_with"] for row in before],
                             [vals["invoice_date"] for vals in order._recurring_preview_vals(4)])
            self.assertIn("Without This Pause", pause.effect_html)
            self.assertIn(format_date(self.env, D(2027, 1, 11)), pause.effect_html)
            pause.action_cancel()
            self.assertFalse(pause.effect_html)

    def test_paused_banner_in_one_sentence(self):
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30", user_id=self.user.id)
            self.env["sale.recurring.pause"].create({"order_id": order.id, "start_date": "2026-11-30", "weeks": 3})
        order = order.with_user(self.user).with_context(lang="en_US")
        self.assertEqual(order.recurring_state, "paused")
        self.assertEqual(order.recurring_pause_banner,
                         "Paused until Dec 20, 2026; billing resumes on Dec 21, 2026.")
        with freeze_time("2026-12-02"):
            order.recurring_pause_ids.action_end_early()
        self.assertFalse(order.recurring_pause_banner)

    def test_a_pause_ended_early_shows_the_weeks_it_lasted(self):
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30", user_id=self.user.id)
            pause = self.env["sale.recurring.pause"].create({"order_id": order.id, "start_date": "2026-12-07",
                                                            "weeks": 4})
        self.assertEqual(pause.weeks_paused, 4.0)
        self.assertIn("4 week(s)", pause.display_name)
        with freeze_time("2026-12-16 09:00"):
            pause._start()
            pause.with_user(self.user).action_end_early()  # last day 15 Dec: 9 days
        self.assertEqual((pause.weeks, pause.weeks_paused), (4, 1.3))
        self.assertIn("1.3 week(s)", pause.with_user(self.user).display_name)
