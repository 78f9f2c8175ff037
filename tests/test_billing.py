from datetime import date
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestBilling(SubscriptionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=False)
        cls.company_data["company"].partner_id.tz = "Europe/Brussels"

    def _invoices(self, order):
        return order.recurring_invoice_ids.sorted("recurring_period_start")

    def test_invoice_on_the_send_day(self):
        with freeze_time("2026-12-01"):
            order = self._create_subscription(self.weekly, "2026-12-07")
        with freeze_time("2026-12-06 22:00"):  # Sunday 23:00 in Brussels: not yet
            self._run_billing()
        self.assertFalse(order.recurring_invoice_ids)
        self.assertEqual(order.invoice_status, "no")
        with freeze_time("2026-12-06 23:30"):  # Monday 00:30 in Brussels
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.invoice_date, D(2026, 12, 7))
        self.assertEqual((invoice.recurring_period_start, invoice.recurring_period_end),
                         (D(2026, 12, 7), D(2026, 12, 13)))
        self.assertEqual(invoice.amount_untaxed, 39.90)
        self.assertEqual(invoice.partner_id, order.partner_invoice_id)
        self.assertEqual(invoice.invoice_origin, order.name)
        self.assertEqual(invoice.invoice_line_ids.name, "Meal box\nweek 50 2026, 7\u201313 Dec 2026")
        self.assertEqual(order.recurring_invoiced_until, D(2026, 12, 13))
        self.assertEqual(order.recurring_next_invoice_date, D(2026, 12, 14))
        self.assertEqual(order.invoice_status, "invoiced")
        self.assertEqual(order.recurring_invoice_count, 1)

    def test_in_arrears(self):
        plan = self._create_plan(name="Cleaning", billing_interval=2, billing_timing="arrears",
                                 send_weekday="4", auto_send=False)
        with freeze_time("2026-12-01"):
            order = self._create_subscription(plan, "2026-12-07")
        with freeze_time("2026-12-20"):
            self._run_billing()
        self.assertFalse(order.recurring_invoice_ids)
        with freeze_time("2026-12-25"):
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.assertEqual(invoice.invoice_date, D(2026, 12, 25))
        self.assertEqual((invoice.recurring_period_start, invoice.recurring_period_end),
                         (D(2026, 12, 7), D(2026, 12, 20)))

    def test_catch_up_after_three_missed_weeks_and_rerun(self):
        self.company_data["company"].recurring_catch_up_limit = 4  # 3 missed weeks and this one, in one run
        with freeze_time("2026-12-01"):
            order = self._create_subscription(self.weekly, "2026-12-07")
            other = self._create_subscription(self.weekly, "2026-12-07")
        with freeze_time("2026-12-28 12:00"):
            self._run_billing()
            invoices = self._invoices(order)
            self.assertEqual(invoices.mapped("invoice_date"),
                             [D(2026, 12, 7), D(2026, 12, 14), D(2026, 12, 21), D(2026, 12, 28)])
            self.assertEqual(invoices.mapped("recurring_period_end"),
                             [D(2026, 12, 13), D(2026, 12, 20), D(2026, 12, 27), D(2027, 1, 3)])
            self.assertEqual(len(other.recurring_invoice_ids), 4)
            self._run_billing()  # a second run the same day creates nothing
            self.assertEqual(len(order.recurring_invoice_ids), 4)
            self.assertEqual(len(other.recurring_invoice_ids), 4)

    def test_late_run_dated_on_the_run_day_when_set(self):
        self.company_data["company"].recurring_invoice_date_policy = "run"
        with freeze_time("2026-12-01"):
            order = self._create_subscription(self.weekly, "2026-12-07")
        with freeze_time("2026-12-16 12:00"):
            self._run_billing()
        self.assertEqual(self._invoices(order).mapped("invoice_date"), [D(2026, 12, 16)] * 2)

    def test_unique_constraint_refuses_a_duplicate(self):
        with freeze_time("2026-12-07 12:00"):
            order = self._create_subscription(self.weekly, "2026-12-07")
            self._run_billing()
        invoice = order.recurring_invoice_ids
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.env["account.move"].create({
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "recurring_order_id": order.id,
                "recurring_period_start": invoice.recurring_period_start,
                "invoice_line_ids": [Command.create({"name": "again", "price_unit": 1})],
            })

    def test_broken_subscription_does_not_block_the_others(self):
        broken_product = self._create_product(name="Discontinued box", lst_price=10.0, taxes_id=[])
        with freeze_time("2026-12-01"):
            good = self._create_subscription(self.weekly, "2026-12-07")
            broken = self._create_subscription(self.weekly, "2026-12-07", confirm=False, user_id=self.user.id)
            broken.order_line = [Command.create({"product_id": broken_product.id, "price_unit": 10.0})]
            broken.action_confirm()
            foreign_tax = self.setup_other_company()["default_tax_sale"]
            taxed = self._create_subscription(self.weekly, "2026-12-07")
        # a tax of another company, as an import or a company reorganisation leaves it
        self.env.cr.execute(
            "INSERT INTO account_tax_sale_order_line_rel (sale_order_line_id, account_tax_id) VALUES (%s, %s)",
            (taxed.order_line.id, foreign_tax.id))
        taxed.order_line.invalidate_recordset(["tax_ids"])
        broken_product.active = False
        with freeze_time("2026-12-07 12:00"):
            self._run_billing()
        self.assertEqual(len(good.recurring_invoice_ids), 1)
        self.assertFalse(broken.recurring_invoice_ids)
        self.assertFalse(taxed.recurring_invoice_ids)
        self.assertIn("Discontinued box", broken.recurring_billing_error)
        self.assertIn("archived", broken.recurring_billing_error)
        self.assertIn("another company", taxed.recurring_billing_error)
        activity = broken.activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref("sale_weekly_subscription.mail_activity_type_billing_error"))
        self.assertEqual(activity.user_id, self.user)
        self.assertEqual(
            self.env["sale.order"].search([("recurring_billing_error", "!=", False)]), broken | taxed)
        with freeze_time("2026-12-07 13:00"):
            self._run_billing()  # retried, still failing: one activity only
        self.assertEqual(len(broken.activity_ids), 1)
        broken_product.active = True
        taxed.order_line.tax_ids = False
        with freeze_time("2026-12-07 14:00"):
            self._run_billing()
        self.assertEqual(len(broken.recurring_invoice_ids), 1)
        self.assertEqual(len(taxed.recurring_invoice_ids), 1)
        self.assertFalse(broken.recurring_billing_error)
        self.assertFalse(broken.activity_ids)

    def test_no_income_account_is_reported(self):
        product = self._create_product(name="Unaccounted box", lst_price=5.0, taxes_id=[])
        product.categ_id = self.env["product.category"].create({"name": "No accounts"})
        product.property_account_income_id = False
        company = self.company_data["company"]
        company.income_account_id = False
        journal = self.company_data["default_journal_sale"]
        journal.default_account_id = False
        with freeze_time("2026-12-01"):
            order = self._create_subscription(self.weekly, "2026-12-07", confirm=False)
            order.order_line.product_id = product
            order.action_confirm()
        self.assertIn("no income account", order._recurring_check_invoiceable())
        with freeze_time("2026-12-07 12:00"):
            self._run_billing()
        self.assertFalse(order.recurring_invoice_ids)
        self.assertIn("Unaccounted box", order.recurring_billing_error)

    def test_iso_week_labels_across_the_year_end(self):
        plan = self._create_plan(name="Fortnight", billing_interval=2, auto_send=False)
        with freeze_time("2026-12-01"):
            order = self._create_subscription(plan, "2026-12-21")
        with freeze_time("2027-01-04 12:00"):
            self._run_billing()
        self.assertEqual(self._invoices(order).invoice_line_ids.mapped("name"), [
            "Meal box\nweeks 52\u201353 2026, 21 Dec 2026 \u2013 3 Jan 2027",
            "Meal box\nweeks 1\u20132 2027, 4\u201317 Jan 2027",
        ])

    def test_prorated_lead_in_matches_the_preview_to_the_cent(self):
        plan = self._create_plan(name="Aligned", billing_interval=2, anchoring="aligned", auto_send=False)
        with freeze_time("2026-12-02 12:00"):
            order = self._create_subscription(plan, "2026-12-02")
            order.order_line.product_uom_qty = 3
            expected = order._recurring_preview_vals(2)
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.assertEqual(invoice.amount_untaxed, expected[0]["amount_untaxed"])
        self.assertEqual(invoice.amount_untaxed, 42.75)  # 3 x 39.90 x 5/14
        self.assertIn("5 of 14 days", invoice.invoice_line_ids.name)
        with freeze_time("2026-12-07 12:00"):
            self._run_billing()
        self.assertEqual(self._invoices(order)[1].amount_untaxed, expected[1]["amount_untaxed"])

    def test_fixed_term_closes_after_its_last_period(self):
        plan = self._create_plan(name="Trial", duration_type="fixed", duration_periods=2, auto_send=False)
        with freeze_time("2026-12-01"):
            order = self._create_subscription(plan, "2026-12-07")
        self.assertEqual(order.recurring_end_date, D(2026, 12, 20))
        with freeze_time("2026-12-21 12:00"):
            self._run_billing()
        self.assertEqual(len(order.recurring_invoice_ids), 2)
        self.assertEqual(order.recurring_state, "closed")
        self.assertEqual(order.recurring_close_reason_id,
                         self.env.ref("sale_weekly_subscription.close_reason_end_of_term"))
        self.assertFalse(order.recurring_next_invoice_date)

    def test_closed_subscription_still_bills_its_last_period_in_arrears(self):
        plan = self._create_plan(name="Arrears", billing_timing="arrears", auto_send=False)
        with freeze_time("2026-12-07 12:00"):
            order = self._create_subscription(plan, "2026-12-07")
            wizard = self.env["sale.order.recurring.close"].create({
                "order_id": order.id, "reason_id": self.reason.id, "close_date": "2026-12-09"})
            wizard.action_close()
        with freeze_time("2026-12-14 12:00"):
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.assertEqual((invoice.recurring_period_end, invoice.amount_untaxed), (D(2026, 12, 9), 17.10))
        self.assertEqual(order.recurring_state, "closed")
        self.assertFalse(order.recurring_next_invoice_date)

    def test_invoice_status_follows_the_due_periods(self):
        with freeze_time("2026-12-07 12:00"):
            order = self._create_subscription(self.weekly, "2026-12-07")
            self._run_billing()
        self.assertEqual(order.invoice_status, "invoiced")
        with freeze_time("2026-12-14 01:00"), self.enter_registry_test_mode():
            self.env.ref("sale_weekly_subscription.ir_cron_recurring_terms").method_direct_trigger()
        self.assertEqual(order.invoice_status, "to invoice")  # the next period has come

    def test_standard_create_invoice_does_not_double_bill(self):
        with freeze_time("2026-12-07 12:00"):
            order = self._create_subscription(self.weekly, "2026-12-07")
            self.assertEqual(order.invoice_status, "to invoice")
            self.assertEqual(order.order_line.qty_to_invoice, 0)
            with self.assertRaises(UserError):
                order._create_invoices()
            self._run_billing()
        self.assertEqual(len(order.recurring_invoice_ids), 1)
        self.assertEqual(order.invoice_status, "invoiced")

    def test_invoice_next_period_now(self):
        with freeze_time("2026-12-08 12:00"):
            order = self._create_subscription(self.weekly, "2026-12-07")
            self._run_billing()
            order.action_recurring_invoice_now()
        invoices = self._invoices(order)
        self.assertEqual(invoices.mapped("recurring_period_start"), [D(2026, 12, 7), D(2026, 12, 14)])
        self.assertEqual(invoices[1].invoice_date, D(2026, 12, 8))
        self.assertEqual(order.recurring_next_period_start, D(2026, 12, 21))

    def test_automatic_and_manual_renewal_keep_billing(self):
        auto = self._create_plan(name="Auto", duration_type="fixed", duration_periods=2,
                                 renewal_type="auto", renewal_periods=2, renewal_notice_weeks=1, auto_send=False)
        manual = self._create_plan(name="Manual", duration_type="fixed", duration_periods=2,
                                   renewal_type="manual", renewal_periods=2, renewal_notice_weeks=1,
                                   auto_send=False)
        with freeze_time("2026-12-01"):
            renewing = self._create_subscription(auto, "2026-12-07")
            waiting = self._create_subscription(manual, "2026-12-07")
        with freeze_time("2026-12-14 12:00"), self.enter_registry_test_mode():
            self.env.ref("sale_weekly_subscription.ir_cron_recurring_terms").method_direct_trigger()
        self.assertEqual(renewing.recurring_end_date, D(2027, 1, 3))
        self.assertEqual(waiting.recurring_state, "to_renew")
        with freeze_time("2026-12-21 12:00"):
            self._run_billing()
        self.assertEqual(len(renewing.recurring_invoice_ids), 3)
        self.assertEqual(len(waiting.recurring_invoice_ids), 2)  # to renew still bills its term

    def test_auto_send_queues_standard_sending(self):
        plan = self._create_plan(name="Sent", auto_send=True)
        silent = self.env["res.partner"].create({"name": "No Mail Ltd"})
        with freeze_time("2026-12-07 12:00"):
            mailed = self._create_subscription(plan, "2026-12-07")
            unmailed = self._create_subscription(plan, "2026-12-07", partner_id=silent.id)
            self._run_billing()
        self.assertTrue(mailed.recurring_invoice_ids.sending_data)
        self.assertFalse(unmailed.recurring_invoice_ids.sending_data)
        self.assertEqual(unmailed.recurring_invoice_ids.state, "posted")
        self.assertIn("has no e-mail address", unmailed.message_ids[0].body)

    def test_draft_invoices_when_the_plan_does_not_post(self):
        plan = self._create_plan(name="Review first", auto_post=False, auto_send=True)
        with freeze_time("2026-12-07 12:00"):
            order = self._create_subscription(plan, "2026-12-07")
            self._run_billing()
        self.assertEqual(order.recurring_invoice_ids.state, "draft")
        self.assertFalse(order.recurring_invoice_ids.sending_data)

    def test_billing_hour_and_default_plan(self):
        company = self.company_data["company"]
        company.recurring_billing_hour = 6
        with freeze_time("2026-12-01"):
            order = self._create_subscription(self.weekly, "2026-12-07")
        with freeze_time("2026-12-06 23:30"):  # Monday 00:30 in Brussels: before the billing hour
            self._run_billing()
        self.assertFalse(order.recurring_invoice_ids)
        with freeze_time("2026-12-07 05:30"):  # Monday 06:30 in Brussels
            self._run_billing()
        self.assertEqual(order.recurring_invoice_ids.invoice_date, D(2026, 12, 7))
        company.recurring_default_plan_id = self.weekly
        values = self.env["sale.order"].with_context(recurring_subscription=True).default_get(["recurring_plan_id"])
        self.assertEqual(values["recurring_plan_id"], self.weekly.id)
        self.assertFalse(self.env["sale.order"].default_get(["recurring_plan_id"]).get("recurring_plan_id"))

    def test_run_billing_now_bills_as_the_scheduler_and_says_what_it_did(self):
        account = self.env["account.account"].create({
            "name": "Old box sales", "code": "700901", "account_type": "income"})
        product = self._create_product(name="Old box", lst_price=10.0, taxes_id=[])
        product.property_account_income_id = account
        with freeze_time("2026-12-07 09:00"):
            good = self._create_subscription(self.weekly, "2026-12-07")
            broken = self._create_subscription(self.weekly, "2026-12-07", confirm=False)
            broken.order_line.product_id = product
            broken.action_confirm()
            account.active = False
            with self.assertRaises(AccessError):  # a subscription user without invoicing rights
                self.env["sale.order"].with_user(self.user).action_recurring_run_billing_now()
            with self.enter_registry_test_mode():
                action = self.env["res.config.settings"].create({}).action_recurring_run_billing_now()
                # from the list's header, as the web client calls it: with the selected ids, or none
                again = good.action_recurring_run_billing_now()
        self.assertEqual(len(good.recurring_invoice_ids), 1)
        self.assertFalse(broken.recurring_invoice_ids)
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("Invoices made: 1, for 1 subscriptions. Not billed in this run: 1. "
                      "Subscriptions with a billing error: 1", action["params"]["message"])
        self.assertIn("Invoices made: 0", again["params"]["message"], "exactly once: a second run bills nothing")
        self.assertIn("Not billed in this run: 0. Subscriptions with a billing error: 1", again["params"]["message"],
                      "the failure of the day is not tried again, and still shown")
        self.assertEqual(again["params"]["type"], "warning")

    def test_a_failed_subscription_rests_until_it_changes_or_the_next_day(self):
        """One broken subscription among good ones: it fails inside Odoo's invoice creation (its
        product's income account is archived), the others are billed in the same run, and later runs
        of the day leave it alone; a change to it, or the next day, tries it again."""
        account = self.env["account.account"].create({
            "name": "Old box sales", "code": "700900", "account_type": "income"})
        product = self._create_product(name="Old box", lst_price=10.0, taxes_id=[])
        product.property_account_income_id = account
        with freeze_time("2026-12-01"):
            good = [self._create_subscription(self.weekly, "2026-12-07") for _i in range(5)]
            broken = self._create_subscription(self.weekly, "2026-12-07", confirm=False)
            broken.order_line.product_id = product
            broken.action_confirm()
        account.active = False
        self.assertFalse(broken._recurring_check_invoiceable(), "only Odoo's own create finds it")
        SaleOrder = self.env.registry["sale.order"]
        original = SaleOrder._prepare_recurring_invoice_vals
        tried = []

        def counted(order, invoice, today):
            tried.append(order.id)
            return original(order, invoice, today)
        with patch.object(SaleOrder, "_prepare_recurring_invoice_vals", counted):
            with freeze_time("2026-12-07 12:00"):
                self._run_billing()
                self.assertEqual([len(order.recurring_invoice_ids) for order in good], [1] * 5)
                self.assertFalse(broken.recurring_invoice_ids)
                self.assertIn("archived", broken.recurring_billing_error)
                self.assertEqual(broken.recurring_billing_failed_on, D(2026, 12, 7))
                tried.clear()
                self._run_billing()
                self._run_billing()
                self.assertNotIn(broken.id, tried, "a failed subscription rests for the day")
                broken.order_line.name = "Old box, weekly"  # what it bills changed: tried again today
                self.assertFalse(broken.recurring_billing_failed_on)
                self._run_billing()
                self.assertIn(broken.id, tried)
                self.assertEqual(broken.recurring_billing_failed_on, D(2026, 12, 7))
            tried.clear()
            with freeze_time("2026-12-08 12:00"):
                self._run_billing()
            self.assertIn(broken.id, tried, "retried the next day")
            self.assertFalse(broken.recurring_invoice_ids)
            account.active = True
            with freeze_time("2026-12-08 13:00"):
                self._run_billing()  # an account is no product: the next day's run, or a change, tries it
                broken.order_line.name = "Old box"
                self._run_billing()
        self.assertEqual(len(broken.recurring_invoice_ids), 1)
        self.assertFalse(broken.recurring_billing_error or broken.recurring_billing_failed_on)
        self.assertEqual(len(self.env["account.move"].search([("recurring_order_id", "in", [o.id for o in good])])),
                         5, "each good subscription billed once, never twice")

    def test_a_failed_subscription_is_found_by_tenths_in_one_transaction(self):
        """A batch with one subscription that fails: the batch is rolled back to its savepoint and
        billed again in tenths, then the failed tenth one by one; the good ones are billed in the
        same run."""
        SaleOrder = self.env.registry["sale.order"]
        original = SaleOrder._recurring_create_invoices
        sizes = []
        with freeze_time("2026-12-01"):
            orders = [self._create_subscription(self.weekly, "2026-12-07") for _i in range(25)]
        bad = orders[13]
        archived = "The account Old box sales (700900) is archived."  # as Odoo says it

        def failing(self_, vals_list):
            sizes.append(len(vals_list))
            if any(vals["recurring_order_id"] == bad.id for vals in vals_list):
                raise UserError(archived)
            return original(self_, vals_list)
        with patch.object(SaleOrder, "_recurring_create_invoices", failing), freeze_time("2026-12-07 12:00"):
            self._run_billing()
        # 25 in tenths of 3: the fifth tenth (12-14) fails, then its 3 one by one
        self.assertEqual(sizes, [25, 3, 3, 3, 3, 3, 1, 1, 1, 3, 3, 3, 1])
        self.assertEqual([len(order.recurring_invoice_ids) for order in orders], [1] * 13 + [0] + [1] * 11)
        self.assertIn("archived", bad.recurring_billing_error)

    def test_run_billing_now_by_an_accountant_of_one_company(self):
        """Found by the back-office tour: an accountant who cannot read another company got an access
        error.  The run bills every company, as the scheduler does; it reports the user's own only."""
        other = self.setup_other_company(name="Other Boxes")["company"]
        other_plan = self._create_plan(name="Other weekly", company_id=other.id)
        accountant = new_test_user(self.env, login="one_company_accountant", groups="account.group_account_invoice",
                                   company_id=self.company_data["company"].id,
                                   company_ids=[Command.set(self.company_data["company"].ids)])
        with freeze_time("2026-12-07 09:00"):
            mine = self._create_subscription(self.weekly, "2026-12-07")
            theirs = self.env["sale.order"].with_company(other).create({
                "partner_id": self.customer.id, "company_id": other.id, "recurring_plan_id": other_plan.id,
                "recurring_start_date": "2026-12-07",
                "order_line": [Command.create({"product_id": self.product_box.id, "price_unit": 10})]})
            theirs.action_confirm()
            with self.enter_registry_test_mode():
                action = self.env["sale.order"].with_user(accountant).action_recurring_run_billing_now()
        self.assertEqual((len(mine.recurring_invoice_ids), len(theirs.recurring_invoice_ids)), (1, 1))
        self.assertIn("Invoices made: 1, for 1 subscriptions", action["params"]["message"])
