import ast
import re
from datetime import date

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import Form, tagged

from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestSubscription(SubscriptionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fortnightly = cls._create_plan(name="Cleaning", billing_interval=2)
        cls.fortnightly_aligned = cls._create_plan(
            name="Meal box aligned", billing_interval=2, anchoring="aligned")

    def _run_terms_cron(self):
        """The scheduled action, run as the scheduler runs it (its own cursor and environment)."""
        with self.enter_registry_test_mode():
            self.env.ref("sale_weekly_subscription.ir_cron_recurring_terms").method_direct_trigger()

    @freeze_time("2026-12-02")
    def test_confirm_starts_the_subscription(self):
        order = self._create_subscription(self.fortnightly, "2026-12-02", confirm=False)
        self.assertEqual(order.recurring_state, "draft")
        self.assertEqual(order.recurring_send_weekday, "0")
        order.action_confirm()
        self.assertEqual(order.recurring_state, "progress")
        self.assertEqual(order.recurring_schedule_start, D(2026, 12, 2))
        self.assertFalse(order.recurring_end_date)
        # Wed 2 Dec, every 2 weeks, Monday, in advance: the first invoice is dated on the start
        self.assertPeriod(order, D(2026, 12, 2), D(2026, 12, 15), D(2026, 12, 2))
        self.assertEqual(order.recurring_current_period_start, D(2026, 12, 2))
        self.assertEqual(order.recurring_current_period_end, D(2026, 12, 15))

    @freeze_time("2026-12-02")
    def test_confirm_needs_product_lines(self):
        order = self._create_subscription(self.fortnightly, "2026-12-02", confirm=False)
        order.order_line.unlink()
        with self.assertRaisesRegex(UserError, "no product lines"):
            order.action_confirm()

    @freeze_time("2026-12-02")
    def test_preview_aligned_across_the_year_end(self):
        order = self._create_subscription(self.fortnightly_aligned, "2026-12-02")
        preview = order._recurring_preview_vals(4)
        self.assertEqual(
            [(p["invoice_date"], p["period_start"], p["period_end"], p["is_prorated"], p["amount_untaxed"])
             for p in preview],
            [
                (D(2026, 12, 2), D(2026, 12, 2), D(2026, 12, 6), True, 14.25),  # 39.90 x 5/14
                (D(2026, 12, 7), D(2026, 12, 7), D(2026, 12, 20), False, 39.90),
                (D(2026, 12, 21), D(2026, 12, 21), D(2027, 1, 3), False, 39.90),
                (D(2027, 1, 4), D(2027, 1, 4), D(2027, 1, 17), False, 39.90),
            ])
        self.assertEqual(preview[0]["label"], "week 49 2026, 2\u20136 Dec 2026")
        self.assertEqual(preview[2]["label"], "weeks 52\u201353 2026, 21 Dec 2026 \u2013 3 Jan 2027")
        action = order.action_recurring_preview()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(len(wizard.line_ids), 6)

    @freeze_time("2026-12-02")
    def test_fixed_term_end_and_prorated_close(self):
        plan = self._create_plan(name="Trial", billing_interval=2, duration_type="fixed", duration_periods=4)
        order = self._create_subscription(plan, "2026-12-02")
        self.assertEqual(order.recurring_end_date, D(2027, 1, 26))
        self.assertEqual(order.recurring_last_date, D(2027, 1, 26))
        preview = order._recurring_preview_vals(10)
        self.assertEqual(len(preview), 4)
        self.assertEqual(preview[-1]["period_end"], D(2027, 1, 26))

    @freeze_time("2026-12-02")
    def test_commitment_limits_the_close_date(self):
        plan = self._create_plan(name="Committed", duration_type="commitment", duration_periods=6)
        order = self._create_subscription(plan, "2026-12-02")
        self.assertEqual(order.recurring_commitment_end_date, D(2027, 1, 12))
        self.assertFalse(order.recurring_end_date)
        self.assertEqual(order._recurring_earliest_close_date(), D(2027, 1, 12))

    def test_send_day_change_applies_from_the_next_period_not_invoiced(self):
        with freeze_time("2026-12-02"):
            order = self._create_subscription(self.fortnightly_aligned, "2026-12-02")
        with freeze_time("2026-12-07 12:00"):
            self._run_billing()  # the lead-in and the first full period (2 - 20 Dec) are invoiced
        self.assertEqual(order.recurring_invoice_ids.sorted("recurring_period_start").mapped("amount_untaxed"),
                         [14.25, 39.90])
        self.assertEqual(order.recurring_invoiced_until, D(2026, 12, 20))
        self.assertPeriod(order, D(2026, 12, 21), D(2027, 1, 3), D(2026, 12, 21))
        with freeze_time("2026-12-16"):
            order.recurring_send_weekday = "4"  # Friday
        self.assertEqual(order.recurring_schedule_start, D(2026, 12, 21))
        # Mon 21 Dec to Thu 24 Dec is a lead-in to the first Friday, dated on the Friday before
        self.assertPeriod(order, D(2026, 12, 21), D(2026, 12, 24), D(2026, 12, 18))
        following = order._recurring_preview_vals(3)
        self.assertEqual([(p["period_start"], p["invoice_date"]) for p in following], [
            (D(2026, 12, 21), D(2026, 12, 18)),
            (D(2026, 12, 25), D(2026, 12, 25)),
            (D(2027, 1, 8), D(2027, 1, 8)),
        ])
        self.assertEqual(following[0]["amount_untaxed"], 11.40)  # 39.90 x 4/14
        with freeze_time("2026-12-25 12:00"):
            self._run_billing()
        invoices = order.recurring_invoice_ids.sorted("recurring_period_start")
        self.assertEqual(invoices.mapped("invoice_date")[2:], [D(2026, 12, 18), D(2026, 12, 25)])
        self.assertEqual(invoices.mapped("amount_untaxed")[2:], [11.40, 39.90])

    def test_send_day_change_from_start_keeps_the_periods(self):
        with freeze_time("2026-12-02"):
            order = self._create_subscription(self.fortnightly, "2026-12-02")
        order.recurring_invoiced_until = D(2026, 12, 15)
        self.assertPeriod(order, D(2026, 12, 16), D(2026, 12, 29), D(2026, 12, 14))
        order.recurring_send_weekday = "4"
        self.assertPeriod(order, D(2026, 12, 16), D(2026, 12, 29), D(2026, 12, 11))

    def test_plan_change_applies_from_the_next_period_not_invoiced(self):
        weekly = self._create_plan(name="Weekly box", send_weekday="2")
        monthly = self._create_plan(name="Monthly box", billing_unit="month", send_weekday="4")
        with freeze_time("2026-12-02"):
            order = self._create_subscription(weekly, "2026-12-02")
        self.assertEqual(order.recurring_send_weekday, "2")
        with freeze_time("2026-12-09 12:00"):
            self._run_billing()  # 2 - 8 Dec and 9 - 15 Dec
        self.assertEqual(order.recurring_invoiced_until, D(2026, 12, 15))
        with freeze_time("2026-12-10"):
            order.recurring_plan_id = monthly
        self.assertEqual(order.recurring_schedule_start, D(2026, 12, 16))
        self.assertEqual(order.recurring_send_weekday, "2")  # the subscriber keeps their day
        self.assertPeriod(order, D(2026, 12, 16), D(2027, 1, 15), D(2026, 12, 16))
        order.recurring_plan_id = monthly  # the same plan again: nothing moves
        self.assertEqual(order.recurring_schedule_start, D(2026, 12, 16))
        self.assertIn("apply from the period starting", order.message_ids[0].body)

    def test_close_with_notice(self):
        plan = self._create_plan(name="Notice", notice_quantity=2, notice_unit="week")
        with freeze_time("2026-12-02"):
            order = self._create_subscription(plan, "2026-12-02", user=self.user)
            order = order.with_user(self.user)
            action = order.action_recurring_close()
            model = self.env[action["res_model"]].with_user(self.user)
            wizard = Form(model.with_context(**action["context"]))
            wizard.reason_id = self.reason
            self.assertEqual(wizard.earliest_date, D(2026, 12, 16))
            self.assertEqual(wizard.close_date, D(2026, 12, 16))
            wizard.close_date = D(2026, 12, 10)
            self.assertTrue(wizard.is_early)
            early = wizard.save()
            with self.assertRaisesRegex(UserError, "Only a subscription manager"):
                early.action_close()
            early.close_date = D(2026, 12, 16)
            early.action_close()
        self.assertEqual(order.recurring_state, "progress")  # closes after its last day
        self.assertEqual(order.recurring_close_date, D(2026, 12, 16))
        # ... and says so: a badge, and the search filter
        self.assertEqual(order.recurring_closing_label, "Closing on 12/16/2026")
        view = self.env.ref("sale_weekly_subscription.sale_order_subscription_view_search")
        search = self.env["sale.order"].with_user(self.user).get_views([(view.id, "search")])
        arch = search["views"]["search"]["arch"]
        domain = re.search(r'name="closing"\s+domain="([^"]+)"', arch)[1].replace("&apos;", "'")
        self.assertIn(order, self.env["sale.order"].with_user(self.user).search(ast.literal_eval(domain)))
        with freeze_time("2026-12-02"):
            running = self._create_subscription(plan, "2026-12-02")
        self.assertFalse(running.recurring_closing_label)
        self.assertNotIn(running, self.env["sale.order"].search(ast.literal_eval(domain)))
        self.assertEqual(order.recurring_last_date, D(2026, 12, 16))
        order.sudo().recurring_invoiced_until = D(2026, 12, 15)
        # the last period is one day of a week: prorated
        self.assertPeriod(order, D(2026, 12, 16), D(2026, 12, 16), D(2026, 12, 14))
        self.assertEqual(order._recurring_preview_vals()[0]["amount_untaxed"], 5.70)  # 39.90 / 7
        with freeze_time("2026-12-16"):
            self._run_terms_cron()
        self.assertEqual(order.recurring_state, "progress")
        with freeze_time("2026-12-17"):
            self._run_terms_cron()
        self.assertEqual(order.recurring_state, "closed")
        # closed, but the last day of service is still to be invoiced
        self.assertEqual(order.recurring_next_invoice_date, D(2026, 12, 14))

    def test_close_early_by_manager_then_reopen(self):
        plan = self._create_plan(name="Notice", notice_quantity=30, notice_unit="day")
        with freeze_time("2026-12-02"):
            order = self._create_subscription(plan, "2026-11-02").with_user(self.manager)
            action = order.action_recurring_close()
            wizard = self.env[action["res_model"]].with_user(self.manager).with_context(
                **action["context"]).create({"reason_id": self.reason.id, "close_date": "2026-12-02",
                                           "comment": "Moved to Spain"})
            self.assertEqual(wizard.earliest_date, D(2027, 1, 1))
            wizard.action_close()
            self.assertEqual(order.recurring_state, "closed")
            self.assertEqual(order.recurring_close_reason_id, self.reason)
            self.assertIn("before the notice allows", order.message_ids[0].body)
            self.assertIn("Moved to Spain", order.message_ids[0].body)
            order.action_recurring_reopen()
        self.assertEqual(order.recurring_state, "progress")
        self.assertFalse(order.recurring_close_date)
        self.assertFalse(order.recurring_close_reason_id)
        self.assertTrue(order.recurring_next_invoice_date)
        with self.assertRaisesRegex(UserError, "is not closed"):
            order.action_recurring_reopen()

    def test_manual_renewal(self):
        plan = self._create_plan(name="Season", duration_type="fixed", duration_periods=4,
                                 renewal_type="manual", renewal_periods=4, renewal_notice_weeks=1)
        with freeze_time("2026-12-07"):
            order = self._create_subscription(plan, "2026-12-07", user_id=self.user.id)
        self.assertEqual(order.recurring_end_date, D(2027, 1, 3))
        with freeze_time("2026-12-26"):
            self._run_terms_cron()
        self.assertEqual(order.recurring_state, "progress")
        with freeze_time("2026-12-27"):
            self._run_terms_cron()
        self.assertEqual(order.recurring_state, "to_renew")
        self.assertEqual(order.activity_ids.user_id, self.user)
        with freeze_time("2026-12-28"):
            order.with_user(self.user).action_recurring_renew()
        self.assertEqual(order.recurring_state, "progress")
        self.assertEqual(order.recurring_end_date, D(2027, 1, 31))
        self.assertFalse(order.activity_ids)
        self.assertIn("Renewed", order.message_ids[0].body)

    def test_automatic_renewal(self):
        plan = self._create_plan(name="Auto", billing_unit="month", duration_type="fixed",
                                 duration_periods=12, renewal_type="auto", renewal_periods=12,
                                 renewal_notice_weeks=0)
        with freeze_time("2026-01-31"):
            order = self._create_subscription(plan, "2026-01-31")
        self.assertEqual(order.recurring_end_date, D(2027, 1, 30))
        with freeze_time("2027-01-29"):
            self._run_terms_cron()
        self.assertEqual(order.recurring_end_date, D(2027, 1, 30))
        with freeze_time("2027-01-30"):
            self._run_terms_cron()
            self._run_terms_cron()  # a second run the same day changes nothing
        self.assertEqual(order.recurring_end_date, D(2028, 1, 30))
        self.assertEqual(order.recurring_state, "progress")

    def test_month_plan_on_the_31st(self):
        rent = self._create_plan(name="Rent", billing_unit="month")
        with freeze_time("2027-01-31"):
            order = self._create_subscription(rent, "2027-01-31")
        self.assertEqual([p["invoice_date"] for p in order._recurring_preview_vals(4)],
                         [D(2027, 1, 31), D(2027, 2, 28), D(2027, 3, 31), D(2027, 4, 30)])
        self.assertEqual(order._recurring_preview_vals(1)[0]["label"], "31 Jan \u2013 27 Feb 2027")

    def test_enterprise_and_oca_names_are_free(self):
        fields = self.env["sale.order"]._fields
        ours = {name for name, field in fields.items() if name.startswith("recurring_")}
        self.assertTrue(ours)
        for name in ("plan_id", "subscription_state", "next_invoice_date", "start_date", "end_date",
                     "is_subscription", "recurring_monthly", "close_reason_id"):
            self.assertNotIn(name, ours)
            field = fields.get(name)
            self.assertTrue(field is None or "sale_weekly_subscription" not in (field._module or ""))
        for model in ("sale.subscription.plan", "sale.subscription", "sale.order.close.reason",
                      "contract.contract"):
            model_obj = self.env["ir.model"]._get(model)
            self.assertFalse(model_obj and "sale_weekly_subscription" in model_obj.modules)

    @freeze_time("2026-12-02")
    def test_quotation_pdf_states_the_terms(self):
        plan = self._create_plan(name="Cleaning on Friday", billing_interval=2, send_weekday="4",
                                 notice_quantity=2, notice_unit="week")
        order = self._create_subscription(plan, "2026-12-04", confirm=False)
        html = self.env["ir.actions.report"]._render_qweb_html("sale.action_report_saleorder", order.ids)[0]
        html = html.decode()
        self.assertIn("Cleaning on Friday", html)
        self.assertIn("Every 2 weeks", html)
        self.assertIn("Friday", html)
        self.assertIn("subscription_terms", html)

    def test_plan_cannot_be_added_to_or_removed_from_a_confirmed_order(self):
        with freeze_time("2026-12-02"):
            order = self._create_subscription(self.fortnightly, "2026-12-02")
            plain = self.env["sale.order"].create({
                "partner_id": self.customer.id,
                "order_line": [Command.create({"product_id": self.product_box.id})]})
            plain.action_confirm()
        with self.assertRaisesRegex(UserError, "not added or removed"):
            plain.recurring_plan_id = self.fortnightly
        with self.assertRaisesRegex(UserError, "not added or removed"):
            order.recurring_plan_id = False
        order.recurring_plan_id = self.fortnightly_aligned  # another plan: fine

    def test_reopen_after_the_close_date_resumes_today(self):
        with freeze_time("2026-12-07"):
            order = self._create_subscription(self._create_plan(name="Weekly"), "2026-12-07")
        with freeze_time("2026-12-14"):
            order._recurring_close(D(2026, 12, 13), self.reason)
        order.recurring_invoiced_until = D(2026, 12, 13)  # the last week was billed
        self.assertEqual(order.recurring_state, "closed")
        self.assertFalse(order.recurring_next_invoice_date)
        with freeze_time("2027-01-06"):
            order.action_recurring_reopen()
        self.assertEqual(order.recurring_state, "progress")
        # the weeks it was closed are not billed: a new schedule starts on the day it reopens
        self.assertEqual(order.recurring_schedule_start, D(2027, 1, 6))
        # in advance: dated on the latest send day (Monday 4 Jan) on or before the period start
        self.assertPeriod(order, D(2027, 1, 6), D(2027, 1, 12), D(2027, 1, 4))
        self.assertIn("billing resumes", order.message_ids[0].body)

    def test_reopen_before_the_close_date_bills_the_rest_of_the_cut_period(self):
        with freeze_time("2026-12-07"):
            order = self._create_subscription(self._create_plan(name="Weekly"), "2026-12-07")
            order._recurring_close(D(2026, 12, 16), self.reason)
        order.recurring_invoiced_until = D(2026, 12, 16)  # billed up to the close date
        with freeze_time("2026-12-15"):
            order.action_recurring_reopen()
        # Thu 17 - Sun 20 Dec were never billed: they come first, prorated
        self.assertPeriod(order, D(2026, 12, 17), D(2026, 12, 20), D(2026, 12, 14))
        self.assertEqual(order._recurring_preview_vals(1)[0]["amount_untaxed"], 22.80)  # 39.90 x 4/7

    @freeze_time("2026-12-02")
    def test_a_running_subscription_keeps_its_agreed_price(self):
        """29.90 agreed on the plan (the product lists 39.90): a new quantity keeps it; only Update Prices
        re-prices from the pricelist"""
        plan = self._create_plan(name="Capsules")
        plan.line_ids.price_unit = 29.90
        order = self._create_subscription(plan, "2026-12-07", user_id=self.user.id)
        line = order.order_line
        self.assertEqual(line.price_unit, 29.90)
        form = Form(order.with_user(self.user))
        with form.order_line.edit(0) as edited:
            edited.product_uom_qty = 2
            self.assertEqual(edited.price_unit, 29.90, "the form keeps the agreed price")
        form.save()
        self.assertEqual((line.product_uom_qty, line.price_unit), (2, 29.90))
        line.with_user(self.user).product_uom_qty = 3
        self.assertEqual(line.price_unit, 29.90)
        self.assertEqual(order.amount_untaxed, 89.70)

        quotation = self._create_subscription(plan, "2026-12-07", confirm=False)
        quotation.order_line.product_uom_qty = 2  # a quotation is priced as Odoo's sale prices it
        self.assertEqual(quotation.order_line.price_unit, 39.90)

        order.with_user(self.user).action_update_prices()
        self.assertEqual(line.price_unit, 39.90, "Update Prices is the explicit request")

    def test_the_schedule_block_hides_a_label_with_its_value(self):
        """Without a current period the tab showed 'Current Period' with nothing beside it."""
        view = self.env.ref("sale_weekly_subscription.sale_order_subscription_view_form")
        arch = self.env["sale.order"].with_user(self.user).get_views([(view.id, "form")])["views"]["form"]["arch"]
        for field in ("recurring_current_period_start", "recurring_next_period_start"):
            label = re.search(rf'<label for="{field}"[^>]*>', arch)[0]
            value = re.search(rf'<div class="o_row"[^>]*>\s*<field name="{field}"', arch)[0]
            hidden = re.search(r'invisible="([^"]+)"', value)[1]
            self.assertIn(f'invisible="{hidden}"', label, f"the label of {field} hides with its value")
