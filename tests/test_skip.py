import re
from collections import defaultdict
from datetime import date, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tools import format_date

from .common import SubscriptionCase

D = date


class SkipCase(SubscriptionCase):
    """A company in Brussels, a weekly Monday box that may be skipped, and a portal user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_data["company"]
        company.partner_id.tz = "Europe/Brussels"  # UTC+1 in winter, UTC+2 in summer
        cls.env.user.tz = "UTC"  # the company's zone decides, not the user's
        # a box can be skipped until 2 days before its Monday at 23:59, in Brussels
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=False, anchoring="aligned", skip_allowed=True)
        cls.portal_user = new_test_user(cls.env, login="skip_portal", groups="base.group_portal", name="Anna Peeters",
                                        company_id=company.id, company_ids=[Command.set(company.ids)])

    def _long(self, day):
        return format_date(self.env, day, date_format="long")

    def _bill(self):
        self._run_billing()
        with self.enter_registry_test_mode():
            self.env.ref("sale_weekly_subscription.ir_cron_recurring_pauses").method_direct_trigger()
        self.env.invalidate_all()

    def _skip(self, order, day, requested_by="user"):
        return order._recurring_skip(day, requested_by=requested_by)

    def _portal_unskip(self, skip):
        """Unskip as the portal does: the subscriber's own user, the record read with sudo."""
        return skip.with_user(self.portal_user).sudo().action_unskip()

    def _invoices(self, order):
        moves = order.recurring_invoice_ids.filtered(lambda m: m.move_type == "out_invoice").sorted(
            "recurring_period_start")
        return [(m.recurring_period_start, m.recurring_period_end, m.invoice_date, m.amount_untaxed) for m in moves]


@tagged("post_install", "-at_install")
@freeze_time("2026-12-01 10:00")
class TestSkip(SkipCase):
    """Skipping a delivery: one whole period paused, by the same schedule, credit and forecast."""

    # -- the cut-off, at the hour, in the company's time zone ---------------------------------

    def test_cutoff_at_the_hour_in_brussels_winter_summer_and_the_day_clocks_change(self):
        plan = self._create_plan(name="Cut-off at 10:00", auto_send=False, anchoring="aligned", skip_allowed=True,
                                 cutoff_days=2, cutoff_time=10.0)
        order = self._create_subscription(plan, "2026-11-30")
        other = self._create_subscription(plan, "2026-11-30")
        # Monday 14 December: Saturday 12 December at 10:00 in Brussels, 09:00 UTC; open until 10:00:59
        monday = D(2026, 12, 14)
        self.assertEqual(order._recurring_cutoff(monday).isoformat(), "2026-12-12T10:00:00+01:00")
        cutoff = f"{self._long(D(2026, 12, 12))} at 10:00 (Europe/Brussels)"
        self.assertEqual(order._recurring_cutoff_text(monday), cutoff)
        with freeze_time("2026-12-12 09:00:59"):  # 10:00:59 in Brussels
            skip = self._skip(order, monday, "portal")
            self._portal_unskip(skip)
            self.assertEqual(skip.state, "cancel")
            skip = self._skip(order, monday, "portal")
        with freeze_time("2026-12-12 09:01:00"):  # 10:01:00 in Brussels; in UTC it would still be open
            with self.assertRaisesRegex(ValidationError, re.escape(
                    f"The delivery of {self._long(monday)} can no longer be skipped: changes closed on {cutoff}.")), \
                    self.cr.savepoint():
                self._skip(other, monday, "portal")
            with self.assertRaisesRegex(UserError, "can no longer be changed online"), self.cr.savepoint():
                self._portal_unskip(skip)
            self.assertEqual(skip.state, "scheduled")
            # an accountant is not bound by the cut-off
            late = self._skip(other, monday)
            self.assertEqual((late.state, late.requested_by), ("scheduled", "user"))
        # summer time: Monday 5 July 2027, Saturday 3 July at 10:00 in Brussels is 08:00 UTC
        july = D(2027, 7, 5)
        self.assertEqual(order._recurring_cutoff(july).isoformat(), "2027-07-03T10:00:00+02:00")
        with freeze_time("2027-07-03 08:00:59"):
            self.assertTrue(order._recurring_before_cutoff(july))
            self._skip(order, july, "portal")
        with freeze_time("2027-07-03 08:01:00"), self.assertRaises(ValidationError), self.cr.savepoint():
            self._skip(other, july, "portal")
        # the day the clocks go forward (Sunday 28 March 2027, 02:00 -> 03:00): a Tuesday box of 30 March
        tuesday = self._create_subscription(plan, "2026-12-01", recurring_send_weekday="1")
        march = D(2027, 3, 30)
        self.assertEqual(tuesday._recurring_cutoff(march).isoformat(), "2027-03-28T10:00:00+02:00")
        with freeze_time("2027-03-28 08:00:59"):
            self.assertTrue(tuesday._recurring_before_cutoff(march))
        with freeze_time("2027-03-28 08:01:00"):  # 09:01 UTC would still be open at the winter offset
            self.assertFalse(tuesday._recurring_before_cutoff(march))
            with self.assertRaisesRegex(ValidationError, "can no longer be skipped"), self.cr.savepoint():
                self._skip(tuesday, march, "portal")

    def test_tuesday_2359_for_a_monday_box_of_the_week_after(self):
        # the example: 6 days before, at 23:59
        plan = self._create_plan(name="Cut-off Tuesday 23:59", auto_send=False, anchoring="aligned",
                                 skip_allowed=True, cutoff_days=6, cutoff_time=23 + 59 / 60)
        order = self._create_subscription(plan, "2026-11-30")
        monday = D(2027, 3, 8)
        self.assertEqual(order._recurring_cutoff(monday).isoformat(), "2027-03-02T23:59:00+01:00")
        with freeze_time("2027-03-02 22:59:59"):  # Tuesday 23:59:59 in Brussels
            skip = self._skip(order, monday, "portal")
        self.assertEqual((skip.start_date, skip.end_date, skip.weeks), (monday, D(2027, 3, 14), 1))
        with freeze_time("2027-03-02 23:00:00"):  # Wednesday 00:00:00 in Brussels
            self.assertFalse(order._recurring_before_cutoff(monday))
            with self.assertRaisesRegex(UserError, "can no longer be changed online"), self.cr.savepoint():
                self._portal_unskip(skip)

    # -- a skip is a pause of one period, in ISO week 53 too -------------------------------------

    def test_a_skip_in_iso_week_53(self):
        order = self._create_subscription(self.weekly, "2026-11-30")
        w53 = D(2026, 12, 28)  # 2026-W53: Monday 28 December 2026 to Sunday 3 January 2027
        skip = self._skip(order, w53, "portal")
        self.assertEqual((skip.is_skip, skip.start_date, skip.end_date, skip.resume_date),
                         (True, w53, D(2027, 1, 3), D(2027, 1, 4)))
        self.assertEqual(skip.display_name, f"{order.name}: skipped week 53 2026, 28 Dec 2026 \u2013 3 Jan 2027")
        self.assertTrue(order.message_ids.filtered(lambda m: "Delivery of week 53 2026, 28 Dec 2026 \u2013 3 Jan 2027 "
                                                   "skipped by the customer on the portal" in str(m.body)))
        # the next send days list it in its place
        days = [(row["start"], bool(row["skip"])) for row in order._recurring_deliveries(8)]
        self.assertEqual(days, [(D(2026, 12, 7), False), (D(2026, 12, 14), False), (D(2026, 12, 21), False),
                                (w53, True), (D(2027, 1, 4), False), (D(2027, 1, 11), False),
                                (D(2027, 1, 18), False), (D(2027, 1, 25), False)])
        # "Upcoming Invoices": the skipped week at no amount, the other invoices keep their dates
        preview = order._recurring_preview_vals(6)
        self.assertEqual([(row["invoice_date"], row["is_skipped"], row["amount_untaxed"]) for row in preview], [
            (D(2026, 11, 30), False, 39.90), (D(2026, 12, 7), False, 39.90), (D(2026, 12, 14), False, 39.90),
            (D(2026, 12, 21), False, 39.90), (w53, True, 0.0), (D(2027, 1, 4), False, 39.90),
            (D(2027, 1, 11), False, 39.90)])
        self.assertEqual(preview[4]["label"], "Skipped: week 53 2026, 28 Dec 2026 \u2013 3 Jan 2027")
        self.assertFalse(any(row["invoice_date_unpaused"] for row in preview))
        for day in ("2026-12-01", "2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28"):
            with freeze_time(f"{day} 12:00"):
                self._bill()
        self.assertEqual((skip.state, order.recurring_state), ("running", "paused"))
        self.assertEqual(order.recurring_pause_banner, "Delivery of week 53 2026, 28 Dec 2026 \u2013 3 Jan 2027 "
                         f"skipped; billing resumes on {format_date(self.env, D(2027, 1, 4), date_format='medium')}.")
        with freeze_time("2027-01-04 12:00"):
            self._bill()
        self.assertEqual((skip.state, order.recurring_state), ("done", "progress"))
        self.assertFalse(order.message_ids.filtered(lambda m: "The pause has ended" in str(m.body)))
        self.assertEqual(self._invoices(order), [
            (D(2026, 11, 30), D(2026, 12, 6), D(2026, 11, 30), 39.90),
            (D(2026, 12, 7), D(2026, 12, 13), D(2026, 12, 7), 39.90),
            (D(2026, 12, 14), D(2026, 12, 20), D(2026, 12, 14), 39.90),
            (D(2026, 12, 21), D(2026, 12, 27), D(2026, 12, 21), 39.90),
            # no invoice for week 53
            (D(2027, 1, 4), D(2027, 1, 10), D(2027, 1, 4), 39.90),
        ])
        first_of_2027 = order.recurring_invoice_ids.filtered(lambda m: m.recurring_period_start == D(2027, 1, 4))
        self.assertEqual(first_of_2027.invoice_line_ids.name, "Meal box\nweek 1 2027, 4\u201310 Jan 2027")

    def test_a_two_week_period_across_the_year_end(self):
        biweekly = self._create_plan(name="Every 2 weeks", billing_interval=2, auto_send=False, anchoring="aligned",
                                     skip_allowed=True, pause_max_weeks=1)
        order = self._create_subscription(biweekly, "2026-11-30")
        # 28 Dec 2026 - 10 Jan 2027 is one period of two weeks; the pause limit of 1 week does not apply
        skip = self._skip(order, D(2026, 12, 28))
        self.assertEqual((skip.weeks, skip.end_date), (2, D(2027, 1, 10)))
        self.assertIn("week 53 2026 \u2013 week 1 2027", skip.display_name)
        self.assertPeriod(order, D(2026, 11, 30), D(2026, 12, 13), D(2026, 11, 30))
        self.assertEqual([row["invoice_date"] for row in order._recurring_preview_vals(3) if not row["is_skipped"]],
                         [D(2026, 11, 30), D(2026, 12, 14), D(2027, 1, 11)])

    # -- limits -----------------------------------------------------------------------------------

    def test_limits_of_the_plan(self):
        plan = self._create_plan(name="Two skips per 12 weeks", auto_send=False, anchoring="aligned",
                                 skip_allowed=True, skip_max_12_weeks=2, pause_max_weeks_year=1,
                                 pause_notice_days=30)
        order = self._create_subscription(plan, "2026-11-30")
        # the portal pause notice (30 days) does not hold a skip back, its cut-off does
        first = self._skip(order, D(2026, 12, 14), "portal")
        second = self._skip(order, D(2026, 12, 28))
        # a third within 12 weeks: refused in the back office (accountants are bound by the plan's limit)...
        with self.assertRaisesRegex(ValidationError, r"would skip 3 deliveries within 12 weeks; the plan allows 2 "
                                                     r"\(field 'Max Skips per 12 Weeks'\)"), self.cr.savepoint():
            self._skip(order, D(2027, 1, 11))
        # ... and on the portal, in the customer's words
        with self.assertRaisesRegex(ValidationError, r"^You have reached the limit of skipped deliveries: 2 in any 12 "
                                                     r"weeks\.$"), self.cr.savepoint():
            self._skip(order, D(2027, 1, 11), "portal")
        # 84 days: 8 March is the first Monday out of reach of 14 December; 22 February is not
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self._skip(order, D(2027, 2, 22))
        self._skip(order, D(2027, 3, 8))
        # an unskipped delivery frees its place
        second.action_unskip()
        self._skip(order, D(2027, 1, 11))
        # skips do not count against the pause limits (1 week in 12 months): one pause still fits
        self.env["sale.recurring.pause"].create({"order_id": order.id, "start_date": "2027-01-25", "weeks": 1})
        with self.assertRaisesRegex(ValidationError, "within 12 months"), self.cr.savepoint():
            self.env["sale.recurring.pause"].create({"order_id": order.id, "start_date": "2027-02-08", "weeks": 1})
        self.assertEqual(first.requested_by, "portal")

    def test_only_a_whole_period_of_a_plan_that_allows_skips(self):
        order = self._create_subscription(self.weekly, "2026-11-30")
        cases = [
            # (day, requested by, back-office words, customer's words)
            (D(2026, 12, 16), "not the send day of a whole period", "There is no delivery to skip on"),
            (D(2026, 11, 30), "cannot be in the past", None),
        ]
        for day, office, customer in cases:
            with self.subTest(day=day), self.assertRaisesRegex(ValidationError, office), self.cr.savepoint():
                self._skip(order, day)
            if customer:
                with self.assertRaisesRegex(ValidationError, customer), self.cr.savepoint():
                    self._skip(order, day, "portal")
        # a lead-in (Wednesday 2 to Sunday 6 December) is a partial period
        lead_in = self._create_subscription(self.weekly, "2026-12-02")
        with self.assertRaisesRegex(ValidationError, "whole period"), self.cr.savepoint():
            self._skip(lead_in, D(2026, 12, 2))
        # a paused week has no delivery; a skipped one is skipped once
        self.env["sale.recurring.pause"].create({"order_id": order.id, "start_date": "2027-01-18", "weeks": 2})
        with self.assertRaisesRegex(ValidationError, "paused from"), self.cr.savepoint():
            self._skip(order, D(2027, 1, 25), "portal")
        self._skip(order, D(2026, 12, 21))
        with self.assertRaisesRegex(ValidationError, "is skipped already"), self.cr.savepoint():
            self._skip(order, D(2026, 12, 21), "portal")
        with self.assertRaisesRegex(ValidationError, "unskip it first"), self.cr.savepoint():
            self.env["sale.recurring.pause"].create({"order_id": order.id, "start_date": "2026-12-21", "weeks": 1,
                                                     "requested_by": "portal"})
        # a plan without skips, for everyone
        closed_plan = self._create_plan(name="No skips", auto_send=False, anchoring="aligned")
        plain = self._create_subscription(closed_plan, "2026-11-30")
        with self.assertRaisesRegex(ValidationError, "allows no skips"), self.cr.savepoint():
            self._skip(plain, D(2026, 12, 14))
        with self.assertRaisesRegex(ValidationError, "^Deliveries of your subscription cannot be skipped"), \
                self.cr.savepoint():
            self._skip(plain, D(2026, 12, 14), "portal")
        self.assertEqual(plain._recurring_deliveries(2)[0]["skippable"], False)
        # skips are whole periods of weeks: not for months
        with self.assertRaisesRegex(ValidationError, "Skips Allowed"), self.cr.savepoint():
            self._create_plan(name="Monthly", billing_unit="month", skip_allowed=True)
        # a subscription being closed skips nothing
        closing = self._create_subscription(self.weekly, "2026-11-30")
        closing._recurring_close(D(2027, 1, 31), self.reason)
        with self.assertRaisesRegex(ValidationError, "No delivery of it can be skipped"), self.cr.savepoint():
            self._skip(closing, D(2026, 12, 14))
        # a running skip cannot be ended early
        with freeze_time("2026-12-14 12:00"):
            self._bill()
        with freeze_time("2026-12-21 12:00"):
            self._bill()
            running = order.recurring_pause_ids.filtered(lambda p: p.is_skip and p.state == "running")
            with self.assertRaisesRegex(UserError, "cannot be ended early"):
                running.action_end_early()
            # but the back office may still unskip it while its week runs (delivered after all); the portal may not
            with self.assertRaisesRegex(UserError, "please contact us to change it"), self.cr.savepoint():
                self._portal_unskip(running)
            running.action_unskip()
            self.assertEqual((running.state, order.recurring_state), ("cancel", "progress"))
            self.assertPeriod(order, D(2026, 12, 21), D(2026, 12, 27), D(2026, 12, 21))
            self._bill()
        self.assertEqual(self._invoices(order)[-1], (D(2026, 12, 21), D(2026, 12, 27), D(2026, 12, 21), 39.90))

    # -- a skip after the period was invoiced in advance --------------------------------------

    def test_a_skip_of_an_invoiced_period_credits_the_paid_days_to_the_cent(self):
        tax = self.env["account.tax"].create({"name": "6%", "amount": 6, "company_id": self.company_data["company"].id})
        dessert = self._create_product(name="Dessert", lst_price=4.15, taxes_id=[])
        with freeze_time("2026-12-07 12:00"):
            order = self._create_subscription(self.weekly, "2026-12-07", order_line=[
                Command.create({"product_id": self.product_box.id, "price_unit": 39.90,
                                "tax_ids": [Command.set(tax.ids)]}),
                Command.create({"product_id": dessert.id, "product_uom_qty": 3, "price_unit": 4.15,
                                "tax_ids": [Command.set(tax.ids)]})])
            self._bill()
            invoice = order.recurring_invoice_ids
            self.assertEqual((invoice.recurring_period_start, invoice.amount_untaxed, invoice.amount_total),
                             (D(2026, 12, 7), 52.35, 55.49))
            # Monday 7 December at noon: the cut-off (Saturday 23:59) has passed, an accountant skips it
            skip = self._skip(order, D(2026, 12, 7))
        credit = skip.refund_ids
        self.assertEqual((credit.move_type, credit.state, credit.reversed_entry_id), ("out_refund", "posted", invoice))
        self.assertEqual((credit.amount_untaxed, credit.amount_total), (invoice.amount_untaxed, invoice.amount_total))
        self.assertEqual(invoice.amount_residual, 0.0)
        self.assertEqual(credit.invoice_line_ids.mapped("name"), [
            f"Skipped: week 50 2026, 7\u201313 Dec 2026, paid on {invoice.name}"] * 2)
        self.assertEqual((order.recurring_invoiced_until, skip.state, order.recurring_state),
                         (D(2026, 12, 6), "running", "paused"))
        self.assertPeriod(order, D(2026, 12, 14), D(2026, 12, 20), D(2026, 12, 14))
        self.assertTrue(order.message_ids.filtered(lambda m: f"credited ({credit.name})" in str(m.body)))
        with freeze_time("2026-12-07 13:00"), self.assertRaisesRegex(UserError, "cannot be unskipped any more"), \
                self.cr.savepoint():
            skip.action_unskip()
        # a week ahead, invoiced at once ("Invoice Next Period Now"), then skipped: credited, and then it
        # cannot be unskipped (the period's invoice is credited; billing it again would take a second
        # invoice of the same period)
        with freeze_time("2026-12-07 14:00"):
            ahead = self._create_subscription(self.weekly, "2026-12-07")
            self._bill()
            ahead.action_recurring_invoice_now()
            self.assertEqual(ahead.recurring_invoiced_until, D(2026, 12, 20))
            next_week = self._skip(ahead, D(2026, 12, 14))
            paid = ahead.recurring_invoice_ids.filtered(
                lambda m: m.move_type == "out_invoice" and m.recurring_period_start == D(2026, 12, 14))
            self.assertEqual((next_week.state, next_week.refund_ids.reversed_entry_id), ("scheduled", paid))
            self.assertEqual(next_week.refund_ids.amount_total, paid.amount_total)
            with self.assertRaisesRegex(UserError, "cannot be unskipped any more"), self.cr.savepoint():
                next_week.action_unskip()
        self.assertEqual(next_week.state, "scheduled")
        with freeze_time("2026-12-21 12:00"):
            self._bill()
        self.assertEqual([row[:2] for row in self._invoices(order)], [
            (D(2026, 12, 7), D(2026, 12, 13)), (D(2026, 12, 14), D(2026, 12, 20)), (D(2026, 12, 21), D(2026, 12, 27))])
        self.assertEqual([row[:2] for row in self._invoices(ahead)], [
            (D(2026, 12, 7), D(2026, 12, 13)), (D(2026, 12, 14), D(2026, 12, 20)), (D(2026, 12, 21), D(2026, 12, 27))])

    def test_a_portal_skip_of_an_invoiced_period_deducts_or_unskips(self):
        # periods from Wednesday to Tuesday, invoiced the Monday before; cut-off the day before at 23:59
        plan = self._create_plan(name="Wednesday to Tuesday", auto_send=False, skip_allowed=True, cutoff_days=1,
                                 pause_unused_days="carry_over")
        credited = self._create_plan(name="Wednesday to Tuesday, credited", auto_send=False, skip_allowed=True,
                                     cutoff_days=1)
        with freeze_time("2026-12-01 12:00"):
            order = self._create_subscription(plan, "2026-12-02")
            other = self._create_subscription(credited, "2026-12-02")
        with freeze_time("2026-12-07 12:00"):
            self._bill()
            self.assertEqual(order.recurring_invoiced_until, D(2026, 12, 15))  # 9-15 Dec invoiced on Monday
            # credited at once: the subscriber cannot unskip it any more, though before the cut-off
            refunded = self._skip(other, D(2026, 12, 9), "portal")
            self.assertEqual(refunded.refund_ids.amount_untaxed, 39.90)
            with self.assertRaisesRegex(UserError, "^This delivery can no longer be unskipped online: it was already "
                                                   "credited to you. Please contact us.$"), self.cr.savepoint():
                self._portal_unskip(refunded)
            skip = self._skip(order, D(2026, 12, 9), "portal")
            self.assertEqual((skip.carry_over_amount, order.recurring_invoiced_until), (39.90, D(2026, 12, 8)))
            # not deducted yet: unskipping pays the days again, nothing is billed twice
            self._portal_unskip(skip)
            self.assertEqual((skip.state, order.recurring_invoiced_until), ("cancel", D(2026, 12, 15)))
        with freeze_time("2026-12-08 22:59:59"):  # Tuesday 23:59:59 in Brussels
            skip = self._skip(order, D(2026, 12, 9), "portal")
        with freeze_time("2026-12-14 12:00"):
            self._bill()
        deducted = order.recurring_invoice_ids.filtered(lambda m: m.recurring_period_start == D(2026, 12, 16))
        self.assertEqual(skip.carry_over_move_id, deducted)
        self.assertEqual(deducted.amount_untaxed, 0.0)  # 39.90 less the 39.90 paid for the skipped week
        label = order._recurring_period_label(D(2026, 12, 9), D(2026, 12, 15))
        self.assertEqual(label, "weeks 50\u201351 2026, 9\u201315 Dec 2026")
        self.assertIn(f"Skipped: {label}, paid on", " ".join(deducted.invoice_line_ids.mapped("name")))
        self.assertEqual([row[:3] for row in self._invoices(order)], [
            (D(2026, 12, 2), D(2026, 12, 8), D(2026, 12, 2)), (D(2026, 12, 9), D(2026, 12, 15), D(2026, 12, 7)),
            (D(2026, 12, 16), D(2026, 12, 22), D(2026, 12, 14))])

    # -- the forecast equals the invoices, with skips ---------------------------------------------

    def test_forecast_equals_the_invoices_with_skips(self):
        biweekly = self._create_plan(name="Every 2 weeks (Thursday)", billing_interval=2, send_weekday="3",
                                     auto_send=False, anchoring="aligned", skip_allowed=True, line_ids=[
                                         Command.create({"product_id": self.product_box.id, "price_unit": 59.90})])
        deducting = self._create_plan(name="Weekly, deducted", auto_send=False, anchoring="aligned", skip_allowed=True,
                                      pause_unused_days="carry_over", line_ids=[
                                          Command.create({"product_id": self.product_box.id, "price_unit": 45.45})])
        from_start = self._create_plan(name="Wednesday to Tuesday", auto_send=False, skip_allowed=True, cutoff_days=1,
                                       line_ids=[Command.create({"product_id": self.product_box.id,
                                                                 "price_unit": 12.35})])
        orders = self.env["sale.order"]
        with freeze_time("2026-11-30 12:00"):
            weekly = self._create_subscription(self.weekly, "2026-11-30")
            self._skip(weekly, D(2026, 12, 28), "portal")  # week 53
            self._skip(weekly, D(2027, 1, 18))
            two = self._create_subscription(biweekly, "2026-12-02")  # a one-day lead-in, then Thursdays
            self._skip(two, D(2026, 12, 31), "portal")  # 31 Dec - 13 Jan
            deducted = self._create_subscription(deducting, "2026-11-30")
            wednesday = self._create_subscription(from_start, "2026-12-02", recurring_send_weekday="0")
            self._skip(wednesday, D(2027, 1, 6))
            paused = self._create_subscription(self.weekly, "2026-11-30")
            self.env["sale.recurring.pause"].create({"order_id": paused.id, "start_date": "2026-12-21", "weeks": 2})
            self._skip(paused, D(2027, 1, 11))
            orders = weekly | two | deducted | wednesday | paused
            self._bill()
            # its first week invoiced, then skipped: 45.45 deducted from the invoice of 7 December
            skip = self._skip(deducted, D(2026, 11, 30))
            self.assertEqual(skip.carry_over_amount, 45.45)
        with freeze_time("2026-12-01 06:00"):
            Forecast = self.env["sale.recurring.forecast"]
            Forecast._refresh(months=3)
            rows = Forecast.search([("order_id", "in", orders.ids)])
            expected = defaultdict(float)
            for row in rows:
                expected[row.month] += row.amount
            skipped = {month: sum(rows.filtered(lambda r, m=month: r.month == m).mapped("skip_count"))
                       for month in expected}
            Upcoming = self.env["sale.recurring.upcoming.invoice"]
            Upcoming._refresh(weeks=6)
            week_53 = Upcoming.search([("order_id", "=", weekly.id), ("is_skipped", "=", True)])
            self.assertEqual((week_53.invoice_date, week_53.amount, week_53.period_label),
                             (D(2026, 12, 28), 0.0, "Skipped: week 53 2026, 28 Dec 2026 \u2013 3 Jan 2027"))
        # skipped deliveries by the month their invoice would have had: 28 and 31 December, 6, 11, 18 January
        self.assertEqual(skipped, {D(2026, 12, 1): 2, D(2027, 1, 1): 3, D(2027, 2, 1): 0})
        day = D(2026, 12, 1)
        while day <= D(2027, 2, 28):
            with freeze_time(f"{day} 12:00"):
                self._bill()
            day += timedelta(days=1)
        invoiced = defaultdict(float)
        for move in self.env["account.move"].search([
                ("recurring_order_id", "in", orders.ids), ("move_type", "=", "out_invoice"),
                ("invoice_date", ">=", "2026-12-01"), ("invoice_date", "<=", "2027-02-28")]):
            invoiced[move.invoice_date.replace(day=1)] += move.amount_untaxed
        self.assertEqual({month: round(amount, 2) for month, amount in expected.items()},
                         {month: round(amount, 2) for month, amount in invoiced.items()})
        self.assertTrue(skip.carry_over_move_id, "the deduction was billed")
        # no invoice for any skipped period
        periods_billed = {(move.recurring_order_id, move.recurring_period_start)
                          for move in orders.recurring_invoice_ids}
        for order, day in ((weekly, D(2026, 12, 28)), (weekly, D(2027, 1, 18)), (two, D(2026, 12, 31)),
                           (wednesday, D(2027, 1, 6)), (paused, D(2027, 1, 11))):
            self.assertNotIn((order, day), periods_billed)

    # -- the back office ---------------------------------------------------------------------

    def test_back_office_skip_a_delivery_and_unskip_it(self):
        with freeze_time("2026-12-06 10:00"):  # Sunday: the cut-off of Monday 7 December has passed
            order = self._create_subscription(self.weekly, "2026-11-30", user=self.user)
            self._skip(order, D(2026, 12, 21), "portal")
            action = order.with_user(self.user).action_recurring_skip()
            self.assertEqual(action["res_model"], "sale.recurring.skip.wizard")
            wizard = Form(self.env["sale.recurring.skip.wizard"].with_user(self.user).with_context(
                default_order_id=order.id))
            # the next send day not skipped, though its cut-off has passed: accountants are not bound by it
            self.assertEqual((wizard.start_date, wizard.end_date), (D(2026, 12, 7), D(2026, 12, 13)))
            self.assertIn("Skipped", wizard.deliveries_html)
            self.assertIn("passed", wizard.deliveries_html)
            self.assertIn("With This Skip", wizard.effect_html)
            wizard.comment = "Phoned: away that week"
            wizard.save().action_confirm()
        skip = order.recurring_pause_ids.filtered(lambda p: p.start_date == D(2026, 12, 7))
        self.assertEqual((skip.is_skip, skip.requested_by, skip.comment), (True, "user", "Phoned: away that week"))
        said = "Delivery of week 50 2026, 7\u201313 Dec 2026 skipped: not delivered, not billed."
        self.assertTrue(order.message_ids.filtered(lambda m: said in str(m.body)))
        self.assertEqual((order.recurring_pause_count, order.recurring_skip_count), (0, 2))
        self.assertEqual(order.action_view_recurring_skips()["context"]["search_default_filter_skips"], 1)
        self.assertEqual(order.action_view_recurring_pauses()["context"]["search_default_filter_pauses"], 1)
        Pause = self.env["sale.recurring.pause"]
        self.assertEqual(Pause.search([("order_id", "=", order.id), ("is_skip", "=", True)]), order.recurring_pause_ids)
        # the pause analysis leaves skips out by default
        analysis = self.env.ref("sale_weekly_subscription.sale_recurring_pause_analysis_action")
        self.assertIn("'search_default_filter_pauses': 1", analysis.context)
        # "Upcoming Invoices" and the form of the skip
        preview = self.env["sale.order.recurring.preview"].create({"order_id": order.id})
        skipped = preview.line_ids.filtered("is_skipped")
        self.assertEqual(skipped.mapped("invoice_date"), [D(2026, 12, 7), D(2026, 12, 21)])
        self.assertEqual(skipped.mapped("amount_untaxed"), [0.0, 0.0])
        self.assertIn("With This Skip", skip.effect_html)
        self.assertEqual(skip.skip_cutoff_label, f"{self._long(D(2026, 12, 5))} at 23:59 (Europe/Brussels)")
        self.assertPeriod(order, D(2026, 11, 30), D(2026, 12, 6), D(2026, 11, 30))
        with freeze_time("2026-12-06 11:00"):
            self._bill()
            self.assertPeriod(order, D(2026, 12, 14), D(2026, 12, 20), D(2026, 12, 14))
            skip.with_user(self.user).action_unskip()
        self.assertEqual(skip.state, "cancel")
        self.assertPeriod(order, D(2026, 12, 7), D(2026, 12, 13), D(2026, 12, 7))
        self.assertTrue(order.message_ids.filtered(
            lambda m: "Delivery of week 50 2026, 7\u201313 Dec 2026 unskipped: delivered and billed as usual."
            in str(m.body)))
        # a pause is no skip
        pause = Pause.create({"order_id": order.id, "start_date": "2027-02-01", "weeks": 1})
        with self.assertRaisesRegex(UserError, "Only a skipped delivery"):
            pause.action_unskip()


@tagged("post_install", "-at_install")
@freeze_time("2026-12-02 10:00")
class TestSkipPortal(SkipCase, HttpCase):
    """"Next deliveries" on /my/subscriptions/<id>: Skip and Unskip until the cut-off, own ids only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        cls.portal_a = cls._portal_user("portal_a", "Anna Peeters")
        cls.portal_b = cls._portal_user("portal_b", "Bram Janssens")
        cls.order_a = cls._create_subscription(cls.weekly, "2026-11-30", partner_id=cls.portal_a.partner_id.id)
        cls.order_b = cls._create_subscription(cls.weekly, "2026-11-30", partner_id=cls.portal_b.partner_id.id)
        cls.url = f"/my/subscriptions/{cls.order_a.id}"

    def setUp(self):
        super().setUp()
        self.authenticate("portal_a", "portal_a")

    def _csrf(self):
        page = self.url_open("/my/account")
        self.assertEqual(page.status_code, 200)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def _post(self, url, **values):
        return self.url_open(url, data={"csrf_token": self._csrf(), **values})

    def _skips(self, order):
        return order.recurring_pause_ids.filtered(lambda p: p.is_skip and p.state != "cancel")

    def test_next_deliveries_skip_and_unskip(self):
        page = self.url_open(self.url).text
        self.assertIn("o_portal_deliveries", page)
        self.assertEqual(page.count('class="o_portal_delivery '), 8)
        self.assertEqual(page.count("o_portal_skip\""), 8)
        cutoff = self.order_a._recurring_cutoff_text(D(2026, 12, 7))
        self.assertEqual(cutoff, f"{self._long(D(2026, 12, 5))} at 23:59 (Europe/Brussels)")
        self.assertIn(f"You can change it until {cutoff}.", page)
        self.assertIn(format_date(self.env, D(2026, 12, 7), date_format="full"), page)
        response = self._post(f"{self.url}/skip", day="2026-12-28")
        self.assertIn("o_portal_skip_done", response.text)
        skip = self._skips(self.order_a)
        self.assertEqual((skip.start_date, skip.end_date, skip.requested_by),
                         (D(2026, 12, 28), D(2027, 1, 3), "portal"))
        self.assertIn(f"{self.url}/skip/{skip.id}/unskip", response.text)
        self.assertIn("o_portal_delivery_skipped", response.text)
        self.assertEqual(self.order_a.recurring_next_invoice_date, D(2026, 11, 30))
        # pauses and skips are apart: the skip is not in the pauses table, nor cancellable as a pause
        self.assertIn("No pause yet.", response.text)
        response = self._post(f"{self.url}/pause/{skip.id}/cancel", confirm="yes")
        self.assertEqual(response.status_code, 404)
        response = self._post(f"{self.url}/skip/{skip.id}/unskip")
        self.assertIn("o_portal_unskip_done", response.text)
        self.assertEqual(skip.state, "cancel")
        self.assertFalse(self._skips(self.order_a))

    def test_the_cutoff_greys_the_buttons_and_the_server_refuses(self):
        skip = self.order_a._recurring_skip(D(2026, 12, 14), requested_by="portal")
        with freeze_time("2026-12-06 10:00"):  # the cut-off of 7 December (Saturday 23:59) has passed
            self.authenticate("portal_a", "portal_a")
            page = self.url_open(self.url).text
            closed = f"Changes closed on {self._long(D(2026, 12, 5))} at 23:59 (Europe/Brussels)."
            self.assertIn(closed, page)
            self.assertIn("o_portal_skip_closed", page)
            response = self._post(f"{self.url}/skip", day="2026-12-07")
            self.assertIn("o_portal_pause_error", response.text)
            self.assertIn(f"The delivery of {self._long(D(2026, 12, 7))} can no longer be skipped", response.text)
            self.assertNotIn("the field", response.text)
        with freeze_time("2026-12-13 10:00"):  # and the cut-off of 14 December
            self.authenticate("portal_a", "portal_a")
            page = self.url_open(self.url).text
            self.assertIn("o_portal_unskip_closed", page)
            self.assertNotIn(f"{self.url}/skip/{skip.id}/unskip", page)
            response = self._post(f"{self.url}/skip/{skip.id}/unskip")
            self.assertIn("can no longer be changed online", response.text)
        self.assertEqual(self._skips(self.order_a), skip)

    def test_only_a_delivery_listed_and_with_a_token(self):
        for day in ("2026-12-15", "2027-06-07", "2026-12-28junk", "junk", "", "\uff12026-12-28"):
            response = self._post(f"{self.url}/skip", day=day)
            self.assertEqual(response.status_code, 200)
            self.assertIn("Please pick one of the deliveries listed.", response.text)
        response = self.url_open(f"{self.url}/skip", data={"day": "2026-12-28"})
        self.assertIn(response.status_code, (400, 403))
        self.assertFalse(self._skips(self.order_a))
        # the plan's limit, in the customer's words
        self.weekly.skip_max_12_weeks = 1
        self._post(f"{self.url}/skip", day="2026-12-14")
        response = self._post(f"{self.url}/skip", day="2026-12-28")
        self.assertIn("You have reached the limit of skipped deliveries: 1 in any 12 weeks.", response.text)
        self.assertEqual(self._skips(self.order_a).start_date, D(2026, 12, 14))

    def test_another_customers_ids_change_nothing(self):
        skip_b = self.order_b._recurring_skip(D(2026, 12, 21), requested_by="portal")
        attempts = [
            (f"/my/subscriptions/{self.order_b.id}/skip", {"day": "2026-12-28"}),
            (f"/my/subscriptions/{self.order_b.id}/skip/{skip_b.id}/unskip", {}),
            # own subscription in the URL, the other's skip in it
            (f"{self.url}/skip/{skip_b.id}/unskip", {}),
            # a pause id that is no skip of this subscription
            (f"{self.url}/skip/999999/unskip", {}),
        ]
        for url, values in attempts:
            response = self._post(url, **values)
            self.assertEqual(response.status_code, 404, url)
        self.assertEqual(self.url_open(f"/my/subscriptions/{self.order_b.id}").status_code, 404)
        # an order id or a skip id smuggled into the form is ignored: the URL's subscription is the one skipped
        response = self._post(f"{self.url}/skip", day="2026-12-21", order_id=str(self.order_b.id),
                              skip_id=str(skip_b.id))
        self.assertIn("o_portal_skip_done", response.text)
        self.assertEqual(self._skips(self.order_b), skip_b)
        self.assertEqual(skip_b.state, "scheduled")
        self.assertEqual(len(self._skips(self.order_a)), 1)
        # the ORM agrees: a portal user reads no other customer's skip
        Pause = self.env["sale.recurring.pause"].with_user(self.portal_a)
        self.assertEqual(Pause.search([]), self._skips(self.order_a))

    def test_a_skip_made_by_us_shows_without_unskip(self):
        ours = self.order_a._recurring_skip(D(2026, 12, 21))
        page = self.url_open(self.url).text
        self.assertIn("Skipped by our team: please contact us to change it.", page)
        self.assertNotIn(f"{self.url}/skip/{ours.id}/unskip", page)
        response = self._post(f"{self.url}/skip/{ours.id}/unskip")
        self.assertIn(f"We skipped the delivery of {self._long(D(2026, 12, 21))} for you: please contact us to "
                      "change it.", response.text)
        self.assertEqual(ours.state, "scheduled")

    def test_no_deliveries_card_when_the_plan_allows_no_skips(self):
        plan = self._create_plan(name="No skips", auto_send=False, anchoring="aligned")
        order = self._create_subscription(plan, "2026-11-30", partner_id=self.portal_a.partner_id.id)
        url = f"/my/subscriptions/{order.id}"
        self.assertNotIn("o_portal_deliveries", self.url_open(url).text)
        response = self._post(f"{url}/skip", day="2026-12-14")
        self.assertIn("Please pick one of the deliveries listed.", response.text)
        self.assertFalse(order.recurring_pause_ids)
        self.assertEqual(fields.Date.to_string(order.recurring_next_invoice_date), "2026-11-30")
