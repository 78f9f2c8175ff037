"""Who may see full IBANs, change what the flows keep, rebuild the reports, and hear of billing errors."""

import base64
from datetime import date

from freezegun import freeze_time

from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import SubscriptionCase

D = date
IBAN = "BE68539007547034"


@tagged("post_install", "-at_install")
class TestAccess(SubscriptionCase, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_data["company"]
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=False)
        cls.accountant = new_test_user(
            cls.env, login="sub_accountant", password="sub_accountant",
            groups="sale_weekly_subscription.group_subscription_user,account.group_account_invoice",
            company_id=company.id, company_ids=[Command.set(company.ids)])
        cls.user.password = "sub_user"
        cls.mandate = cls.env["sale.recurring.mandate"].create({
            "partner_id": cls.customer.id, "iban": IBAN, "signed_on": "2026-01-05",
            "scan": base64.b64encode(f"Signed by Brasserie Dupont, IBAN {IBAN}".encode()), "scan_name": "scan.txt"})
        cls.batch = cls.env["sale.recurring.sepa.batch"].create({
            "name": "SWS-DD-TEST-0001", "company_id": company.id,
            "journal_id": cls.company_data["default_journal_bank"].id, "scheme": "CORE",
            "version": "pain.008.001.08", "collection_date": "2026-12-14", "created_at": "2026-12-01 09:00:00",
            "xml_file": base64.b64encode(f"<Document><IBAN>{IBAN}</IBAN></Document>".encode()),
            "xml_filename": "SWS-DD-TEST-0001.xml"})

    # -- full IBANs: invoicing users only, over HTTP too ---------------------------

    def _download(self, login, model, record, field):
        self.authenticate(login, login)
        return self.url_open(f"/web/content/{model}/{record.id}/{field}?download=true")

    def test_the_pain008_file_and_the_signed_mandate_are_for_invoicing_users(self):
        for model, record, field in (("sale.recurring.sepa.batch", self.batch, "xml_file"),
                                     ("sale.recurring.mandate", self.mandate, "scan")):
            with self.subTest(model=model):
                refused = self._download("sub_user", model, record, field)
                self.assertNotEqual(refused.status_code, 200)
                self.assertNotIn(IBAN, refused.text)
                allowed = self._download("sub_accountant", model, record, field)
                self.assertEqual(allowed.status_code, 200)
                self.assertIn(IBAN, allowed.text)
        self.assertTrue(self.batch.with_user(self.user).name)  # the batch itself stays readable
        with self.assertRaises(AccessError):
            self.batch.with_user(self.user).read(["xml_file"])
        with self.assertRaises(AccessError):
            self.mandate.with_user(self.user).read(["scan"])

    def test_a_mandates_bank_account_is_for_invoicing_users(self):
        """The IBAN lives in res.partner.bank, which Odoo lets every employee read: the accounts
        that mandates collect from are kept to invoicing users, every other account stays as Odoo has it."""
        account = self.mandate.bank_account_id
        other = self.env["res.partner.bank"].create({"partner_id": self.customer.id, "acc_number": "BE71096123456769"})
        Bank = self.env["res.partner.bank"]
        self.assertEqual(Bank.with_user(self.user).search([("partner_id", "=", self.customer.id)]), other)
        self.assertNotIn(account, self.customer.with_user(self.user).bank_ids)
        with self.assertRaises(AccessError):
            account.with_user(self.user).read(["acc_number"])
        with self.assertRaises(AccessError):
            self.mandate.with_user(self.user).read(["iban"])
        self.assertEqual(self.mandate.with_user(self.user).iban_masked, "BE** **** **** 7034")
        self.assertEqual(Bank.with_user(self.accountant).search([("partner_id", "=", self.customer.id)]),
                         account | other)
        self.assertEqual(self.mandate.with_user(self.accountant).iban, IBAN)
        # the company's own accounts (on every invoice) stay readable by everyone
        company_account = Bank.create({"partner_id": self.company_data["company"].partner_id.id,
                                       "acc_number": "BE21001234567803"})
        self.assertTrue(company_account.with_user(self.user).acc_number)
        # one global rule, ANDed with the others: another group's rule (hr has one on employees'
        # accounts, for every employee) cannot open it again
        self.env["ir.rule"].create({
            "name": "Like hr's: accounts of non-employees", "model_id": self.env.ref("base.model_res_partner_bank").id,
            "groups": [Command.link(self.env.ref("base.group_user").id)], "domain_force": "[(1, '=', 1)]"})
        self.assertNotIn(account, Bank.with_user(self.user).search([("partner_id", "=", self.customer.id)]))
        # Odoo reads a many-to-one's name as superuser: it is masked for users outside invoicing
        self.assertEqual(account.with_user(self.user).sudo().display_name, "BE** **** **** 7034")
        self.assertIn("7034", account.with_user(self.accountant).display_name)
        self.assertEqual(account.with_user(self.accountant).sanitized_acc_number, IBAN)

    def test_a_pause_credit_note_shows_no_customer_iban(self):
        self.mandate.action_validate()
        plan = self._create_plan(name="Weekly debit", auto_send=False)
        with freeze_time("2026-11-30 08:00"):
            order = self._create_subscription(plan, "2026-11-30", recurring_mandate_id=self.mandate.id)
            self._run_billing()
        invoice = order.recurring_invoice_ids
        with freeze_time("2026-12-01 09:00"):
            self._pause_from(order, date(2026, 12, 3), 1)
        refund = order.recurring_pause_ids.refund_ids
        self.assertTrue(refund and invoice)
        self.assertFalse(refund.partner_bank_id)
        salesman = new_test_user(self.env, login="sub_salesman", groups="sales_team.group_sale_salesman_all_leads",
                                 company_id=self.company_data["company"].id)
        self.assertFalse(salesman.has_group("account.group_account_invoice"))
        for move in (refund, invoice):
            read = move.with_user(salesman).web_read({"partner_bank_id": {"fields": {"display_name": {}}}})
            self.assertNotIn("7034", str(read), "the debtor's account is not on the invoice or credit note")

    # -- what the flows keep, over the API --------------------------------------------

    def test_protected_fields_change_only_through_the_flows_or_by_a_manager(self):
        with freeze_time("2026-11-30 12:00"):
            order = self._create_subscription(self.weekly, "2026-11-30", user=self.user)
            mine = order.with_user(self.user)
            for vals in ({"recurring_invoiced_until": "2027-12-31"}, {"recurring_close_date": "2026-12-01"},
                         {"recurring_state": "closed"}, {"recurring_schedule_start": "2027-01-04"}):
                with self.subTest(vals=vals), self.assertRaisesRegex(AccessError, "own actions"):
                    mine.write(vals)
            # the flows still work for the same user
            mine._recurring_close(D(2027, 1, 31), self.reason)
            self.assertEqual(order.recurring_close_date, D(2027, 1, 31))
            mine.action_recurring_reopen()
            self.assertFalse(order.recurring_close_date)
            # a manager may correct them
            order.with_user(self.manager).write({"recurring_invoiced_until": "2026-12-06"})
            self.assertEqual(order.recurring_invoiced_until, D(2026, 12, 6))
            with self.assertRaisesRegex(AccessError, "own actions"):
                self.env["sale.order"].with_user(self.user).create({
                    "partner_id": self.customer.id, "recurring_plan_id": self.weekly.id,
                    "recurring_invoiced_until": "2027-12-31"})

    def test_a_subscription_is_collected_only_with_its_customers_mandate(self):
        stranger = self.env["res.partner"].create({"name": "Someone else"})
        theirs = self.env["sale.recurring.mandate"].create(
            {"partner_id": stranger.id, "iban": "NL91ABNA0417164300", "signed_on": "2026-01-05"})
        with freeze_time("2026-11-30 12:00"):
            order = self._create_subscription(self.weekly, "2026-11-30", user=self.user)
        with self.assertRaisesRegex(ValidationError, "Someone else"):
            order.with_user(self.user).write({"recurring_mandate_id": theirs.id})
        order.with_user(self.user).write({"recurring_mandate_id": self.mandate.id})
        self.assertEqual(order.recurring_mandate_id, self.mandate)

    # -- the report tables ----------------------------------------------------------------

    def test_a_portal_user_cannot_rebuild_the_report_tables(self):
        portal = new_test_user(self.env, login="sub_portal", groups="base.group_portal")
        with self.assertRaises(AccessError):
            self.env["sale.recurring.forecast"].with_user(portal).action_open()
        with self.assertRaises(AccessError):
            self.env["sale.recurring.mrr"].with_user(portal).action_open_dashboard()
        self.env["sale.recurring.forecast"].with_user(self.user).action_open()
        self.env["sale.recurring.mrr"].with_user(self.accountant).action_open_dashboard()

    # -- a billing error is heard by someone ------------------------------------------------

    def test_a_billing_error_without_salesperson_goes_to_someone_active(self):
        broken_product = self._create_product(name="Discontinued box", lst_price=10.0, taxes_id=[])
        with freeze_time("2026-12-01"):
            orphan = self._create_subscription(self.weekly, "2026-12-07", confirm=False, user_id=False)
            orphan.order_line = [Command.create({"product_id": broken_product.id, "price_unit": 10.0})]
            orphan.action_confirm()
            orphan.user_id = False
        broken_product.active = False
        with freeze_time("2026-12-07 12:00"):
            self._run_billing()
        activity = orphan.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertTrue(activity.user_id.active)
        self.assertTrue(activity.user_id.has_group("sale_weekly_subscription.group_subscription_manager"))
        # the company names who hears of them
        self.company_data["company"].recurring_error_user_id = self.accountant
        orphan._recurring_clear_billing_errors()
        with freeze_time("2026-12-07 13:00"):
            self._run_billing()
        self.assertEqual(orphan.activity_ids.user_id, self.accountant)
