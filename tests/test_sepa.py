import base64
import importlib.util
from dataclasses import replace
from datetime import date
from pathlib import Path
from unittest.mock import patch

from freezegun import freeze_time
from lxml import etree

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, tagged

from ..engine import sepa
from ..models.account_journal import SDD_CODE
from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestSepa(SubscriptionCase):
    """Mandate → invoice → run → sent (FRST→RCUR) → collected → return → collected again."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pricelist = cls._setup_euro_company()
        cls._setup_sepa_creditor(sepa_sequence_policy="frst")
        cls.journal = cls.company_data["default_journal_bank"]
        cls.customer.write({"city": "Liège", "country_id": cls.env.ref("base.be").id, "company_id": False})
        cls.plan = cls._create_plan(name="Weekly box", auto_send=False, payment_method="sepa")
        cls.mandate = cls._mandate("be68 5390 0754 7034")

    @classmethod
    def _mandate(cls, iban, **values):
        mandate = cls.env["sale.recurring.mandate"].create({
            "partner_id": cls.customer.id, "iban": iban, "signed_on": "2026-01-05", **values})
        mandate.action_validate()
        return mandate

    def _debit_subscription(self, mandate=None):
        """A weekly subscription from Monday 30 Nov 2026, in euros, paid with ``mandate`` (the customer's)."""
        return self._create_subscription(self.plan, "2026-11-30", recurring_mandate_id=(mandate or self.mandate).id,
                                          pricelist_id=self.pricelist.id)

    def _run(self, requested, **values):
        wizard = Form(self.env["sale.recurring.sepa.run"])
        wizard.journal_id = self.journal
        wizard.requested_date = requested
        for name, value in values.items():
            setattr(wizard, name, value)
        return wizard.save()

    def _xml(self, batch):
        return base64.b64decode(batch.xml_file)

    def test_mandate_iban_is_normalised_and_checked(self):
        self.assertEqual(self.mandate.iban, "BE68539007547034")
        self.assertEqual(self.mandate.iban_masked, "BE** **** **** 7034")
        with self.assertRaisesRegex(ValidationError, "IBAN"):
            self._mandate("BE69 5390 0754 7034")
        with freeze_time("2026-11-30"), self.assertRaisesRegex(ValidationError, "future"):
            self._mandate("BE68539007547034", signed_on="2026-12-01")
        with self.assertRaisesRegex(ValidationError, "check digits: expected 68"):
            self.company_data["company"].recurring_sepa_creditor_identifier = "BE69ZZZ0123456789"

    def test_full_flow_with_a_return_and_a_second_run(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.assertEqual((invoice.sepa_mandate_id, invoice.state, invoice.amount_total),
                         (self.mandate, "posted", 39.90))
        # the pre-notification on the invoice: amount, date, mandate, creditor id, last 4 digits
        html = str(self.env["ir.actions.report"]._render_qweb_html("account.report_invoice", invoice.ids)[0])
        self.assertIn("sepa_prenotification", html)
        for text in (self.mandate.name, "BE68ZZZ0123456789", "7034", "39.90"):
            self.assertIn(text, html)
        self.assertEqual(invoice.sepa_collection_date, D(2026, 12, 14))  # 14 days' notice, a Monday
        with freeze_time("2026-12-01 09:00"):
            self.assertEqual(self._run("2026-12-01").collection_date, D(2026, 12, 2))  # D-1
            self.assertFalse(self._run("2026-12-11").line_ids, "not before the pre-notified date")
            run = self._run("2026-12-13")  # a Sunday: Monday 14 Dec
            self.assertEqual(run.collection_date, D(2026, 12, 14))
            self.assertEqual(run.line_ids.invoice_id, invoice)
            self.assertIn("FRST", run.summary_html)
            batch = self.env["sale.recurring.sepa.batch"].browse(run.action_create()["res_id"])
        self.assertEqual((batch.transaction_count, batch.control_sum, batch.state), (1, 39.90, "generated"))
        xml = self._xml(batch)
        self.assertTrue(sepa.validate(xml, sepa.V08))
        self.assertIn(b"<SeqTp>FRST</SeqTp>", xml)
        self.assertIn(b"<MndtId>" + self.mandate.name.encode() + b"</MndtId>", xml)
        # in an open batch: not proposed again, and refused if forced
        with freeze_time("2026-12-01 09:00"):
            self.assertFalse(self._run("2026-12-14").line_ids)
            with self.assertRaisesRegex(UserError, "already in the open batch"):
                self.env["sale.recurring.sepa.batch"]._create_run(invoice, self.journal, D(2026, 12, 14), "CORE")
        batch.action_sent()
        self.assertEqual(self.mandate.last_collection_date, D(2026, 12, 14))
        self.assertEqual(self.mandate._sequence_type(), "RCUR")
        with freeze_time("2026-12-11 09:00"), self.assertRaisesRegex(UserError, "on that day or later"):
            batch.action_collected()
        with freeze_time("2026-12-14 18:00"):
            batch.action_collected()
        self.assertEqual(batch.state, "collected")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        payment = batch.line_ids.payment_line_id
        self.assertEqual((payment.credit, payment.date, payment.move_id.state), (39.90, D(2026, 12, 14), "posted"))
        self.assertEqual(payment.move_id, batch.collection_move_id)
        self.assertTrue(payment.reconciled)
        # the bank returns it: no mandate (MD01)
        with freeze_time("2026-12-16 10:00"):
            wizard = self.env["sale.recurring.sepa.return"].create({
                "line_ids": [Command.set(batch.line_ids.ids)],
                "reason_id": self.env.ref("sale_weekly_subscription.return_reason_md01").id})
            wizard.action_return()
        self.assertEqual(batch.line_ids.state, "returned")
        self.assertEqual(batch.state, "returned")
        self.assertEqual(invoice.payment_state, "not_paid")
        self.assertEqual(self.mandate.state, "revoked")
        self.assertTrue(any("MD01" in str(message.body) for message in order.message_ids))
        # a new mandate; the invoice is collected again in a later run, as a first collection
        new = self._mandate("BE68539007547034", name="SWS-MDT-NEW-1")
        invoice.sepa_mandate_id = new
        with freeze_time("2026-12-16 09:00"):
            again = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-18").action_create()["res_id"])
        self.assertEqual(again.line_ids.invoice_id, invoice)
        self.assertIn(b"<SeqTp>FRST</SeqTp>", self._xml(again))
        again.action_sent()
        with freeze_time("2026-12-18 18:00"):
            again.action_collected()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))

    def test_one_transaction_per_mandate_lists_the_invoices(self):
        self.company_data["company"].sepa_grouping = "mandate"
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
        with freeze_time("2026-12-07 08:00"):
            self._run_billing()
        invoices = order.recurring_invoice_ids
        self.assertEqual(len(invoices), 2)
        self.assertEqual(invoices.preferred_payment_method_line_id.code, SDD_CODE)
        with freeze_time("2026-12-07 09:00"):
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-21").action_create()["res_id"])
        self.assertEqual((batch.transaction_count, batch.control_sum), (1, 79.80))
        xml = self._xml(batch).decode()
        self.assertIn(f"<Ustrd>{' '.join(sorted(invoices.mapped('name')))}</Ustrd>", xml)
        self.assertEqual(len(set(batch.line_ids.mapped("end_to_end_id"))), 1)
        batch.action_sent()
        with freeze_time("2026-12-21 18:00"):
            batch.action_collected()
        self.assertEqual(set(invoices.mapped("payment_state")) - {"paid", "in_payment"}, set())
        # returning the transaction returns both invoices
        self.env["sale.recurring.sepa.return"].create({
            "line_ids": [Command.set(batch.line_ids[:1].ids)],
            "reason_id": self.env.ref("sale_weekly_subscription.return_reason_am04").id}).action_return()
        self.assertEqual(set(batch.line_ids.mapped("state")), {"returned"})
        self.assertEqual(set(invoices.mapped("payment_state")), {"not_paid"})
        self.assertEqual(self.mandate.state, "active", "AM04 does not revoke")

    def test_a_first_collection_is_frst_once_per_mandate(self):
        """Two invoices of a new mandate in one run: one FRST, one RCUR (the form says so before the
        file is made); a second run while the FRST waits to be sent is RCUR only."""
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
        with freeze_time("2026-12-07 08:00"):
            self._run_billing()
        first, second = order.recurring_invoice_ids.sorted("name")
        with freeze_time("2026-12-07 09:00"):
            run = self._run("2026-12-21")
            self.assertEqual(sorted(run.line_ids.mapped("sequence_type")), ["FRST", "RCUR"])
            self.assertIn("<td>FRST</td><td class='text-end'>1</td>", str(run.summary_html))
            self.assertIn("<td>RCUR</td><td class='text-end'>1</td>", str(run.summary_html))
            run.line_ids.filtered(lambda line: line.invoice_id == second).selected = False
            batch = self.env["sale.recurring.sepa.batch"].browse(run.action_create()["res_id"])
            self.assertEqual(batch.line_ids.mapped("sequence_type"), ["FRST"])
            # the FRST is not sent yet: the mandate's next transaction is RCUR, not a second FRST
            later = self.env["sale.recurring.sepa.batch"]._create_run(second, self.journal, D(2026, 12, 21), "CORE")
        self.assertEqual(later.line_ids.mapped("sequence_type"), ["RCUR"])
        self.assertEqual(self._xml(batch).count(b"<SeqTp>FRST</SeqTp>"), 1)
        self.assertNotIn(b"FRST", self._xml(later))
        self.assertEqual(first.sepa_line_ids.batch_id, batch)

    def test_a_one_off_mandate_collects_once(self):
        one_off = self._mandate("NL91 ABNA 0417 1643 00", mandate_type="oneoff")
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription(one_off)
        with freeze_time("2026-12-07 08:00"):
            self._run_billing()
        invoices = order.recurring_invoice_ids.sorted("name")
        Batch = self.env["sale.recurring.sepa.batch"]
        with freeze_time("2026-12-07 09:00"):
            with self.assertRaisesRegex(UserError, f"one-off mandate {one_off.name} collects only once"):
                Batch._create_run(invoices, self.journal, D(2026, 12, 21), "CORE")
            self.assertFalse(Batch.search([]))
            batch = Batch._create_run(invoices[0], self.journal, D(2026, 12, 21), "CORE")
            self.assertEqual(batch.line_ids.sequence_type, "OOFF")
            with self.assertRaisesRegex(UserError, f"already in the batch {batch.name}"):
                Batch._create_run(invoices[1], self.journal, D(2026, 12, 21), "CORE")
        batch.action_sent()
        self.assertEqual(one_off.state, "closed")

    def test_a_customer_is_only_debited_with_their_own_mandate(self):
        other = self.env["res.partner"].create({"name": "Bakkerij Jansen", "city": "Gent",
                                                "country_id": self.env.ref("base.be").id})
        foreign = self.env["sale.recurring.mandate"].create({
            "partner_id": other.id, "iban": "NL91ABNA0417164300", "signed_on": "2026-01-05"})
        foreign.action_validate()
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        invoice = order.recurring_invoice_ids
        invoice.sepa_mandate_id = foreign
        Batch = self.env["sale.recurring.sepa.batch"]
        with freeze_time("2026-12-01 09:00"), \
                self.assertRaisesRegex(UserError, f"{invoice.name}.*{foreign.name} is Bakkerij Jansen's"):
            Batch._create_run(invoice, self.journal, D(2026, 12, 2), "CORE")
        self.assertFalse(Batch.search([]))

    def test_amendment_is_told_once(self):
        self.mandate.write({"last_collection_date": "2026-11-02"})
        self.mandate.iban = "BE71096123456769"  # another bank
        self.assertEqual(self.mandate.original_iban, "BE68539007547034")
        self.assertTrue(self.mandate.original_bank_changed)
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
        xml = self._xml(batch)
        self.assertIn(b"<AmdmntInd>true</AmdmntInd>", xml)
        self.assertIn(b"<Id>SMNDA</Id>", xml)
        self.assertIn(b"<SeqTp>RCUR</SeqTp>", xml)
        batch.action_sent()
        self.assertFalse(self.mandate.original_iban)
        self.assertTrue(order.recurring_invoice_ids)

    def test_a_mandate_collects_from_the_customers_bank_account(self):
        """The IBAN lives in res.partner.bank: the customer's account is taken, not copied."""
        mandate = self.mandate
        account = mandate.bank_account_id
        self.assertEqual((account.partner_id, account.sanitized_acc_number), (self.customer, "BE68539007547034"))
        self.assertIn(account, self.customer.bank_ids)
        self.assertEqual(mandate.iban, "BE68539007547034")
        # a second mandate on the same IBAN, typed with spaces, takes the same account
        second = self._mandate("be68 5390 0754 7034", name="SWS-MDT-SAME")
        self.assertEqual(second.bank_account_id, account)
        self.assertEqual(self.env["res.partner.bank"].search_count([("partner_id", "=", self.customer.id)]), 1)
        # the BIC is the account's bank's, found from the IBAN
        dutch = self._mandate("NL91ABNA0417164300", name="SWS-MDT-NL")
        self.assertEqual((dutch.bic, dutch.bank_account_id.bank_id.bic), ("ABNANL2A", "ABNANL2A"))
        self.assertEqual(dutch.bank_account_id.bank_id.name, "ABN AMRO BANK N.V.")
        self.assertEqual(self.env["sale.recurring.mandate"].search([("iban", "=", "NL91 ABNA 0417 1643 00")]), dutch)
        # what a bank statement import does: it finds the customer by the account number
        found = self.env["res.partner.bank"].search([("acc_number", "=", "BE68 5390 0754 7034")])
        self.assertEqual(found.partner_id, self.customer)
        line = self.env["account.bank.statement.line"].create({
            "journal_id": self.journal.id, "date": "2026-12-14", "payment_ref": "SEPA credit", "amount": 39.90,
            "partner_id": self.customer.id, "account_number": "BE68539007547034"})
        self.assertEqual(line._find_or_create_bank_account(), account)
        # the pain.008 debits that account, in its holder's name
        account.acc_holder_name = "Brasserie Dupont SRL"
        with freeze_time("2026-11-30 08:00"):
            self._debit_subscription()
            self._run_billing()
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
        xml = etree.fromstring(self._xml(batch))
        ns = {"p": xml.nsmap[None]}
        self.assertEqual(xml.findtext(".//p:DrctDbtTxInf/p:DbtrAcct/p:Id/p:IBAN", namespaces=ns), "BE68539007547034")
        self.assertEqual(xml.findtext(".//p:DrctDbtTxInf/p:Dbtr/p:Nm", namespaces=ns), "Brasserie Dupont SRL")

    def test_a_new_account_is_an_amendment_on_the_same_mandate(self):
        mandate = self.mandate
        old = mandate.bank_account_id
        mandate.write({"last_collection_date": "2026-11-02"})
        new = self.env["res.partner.bank"].create({"partner_id": self.customer.id, "acc_number": "BE21 0012 3456 7803"})
        form = Form(mandate)
        form.bank_account_id = new
        form.save()
        self.assertEqual((mandate.bank_account_id, mandate.original_bank_account_id), (new, old))
        self.assertEqual(mandate.original_iban, "BE68539007547034")
        self.assertTrue(mandate.original_bank_changed)  # BNP Paribas Fortis, not bpost bank
        self.assertEqual(self.customer.bank_ids, old | new, "the customer keeps both accounts")
        with freeze_time("2026-11-30 08:00"):
            self._debit_subscription()
            self._run_billing()
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
        xml = self._xml(batch)
        self.assertIn(b"<AmdmntInd>true</AmdmntInd>", xml)
        self.assertIn(b"<IBAN>BE21001234567803</IBAN>", xml)
        self.assertTrue(sepa.validate(xml, sepa.V08))
        batch.action_sent()
        self.assertFalse(mandate.original_bank_account_id)
        self.assertEqual(mandate.bank_account_id, new)

    def test_a_batch_line_is_named_and_found_by_invoice_and_customer(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
        invoice = order.recurring_invoice_ids
        line = batch.line_ids
        self.assertIn(invoice.name, line.display_name)
        self.assertIn("Brasserie Dupont", line.display_name)
        self.assertIn("39.90", line.display_name)
        Line = self.env["sale.recurring.sepa.line"]
        for text in (invoice.name, "Dupont", line.end_to_end_id):
            self.assertEqual(Line.search([("display_name", "ilike", text)]), line, text)
        # "Collected" is offered from the collection date on, not before
        batch.action_sent()
        with freeze_time("2026-12-11 09:00"):
            batch.invalidate_recordset(["collection_due"])
            self.assertFalse(batch.collection_due)
        with freeze_time("2026-12-14 09:00"):
            batch.invalidate_recordset(["collection_due"])
            self.assertTrue(batch.collection_due)

    def test_a_contacts_mandate_uses_the_companys_accounts(self):
        contact = self.env["res.partner"].create({"name": "Marie Dupont", "parent_id": self.customer.id})
        form = Form(self.env["sale.recurring.mandate"])
        form.partner_id = contact
        self.assertEqual(form.bank_account_id, self.mandate.bank_account_id, "the company's only account")
        mandate = form.save()
        self.assertEqual(mandate.bank_account_id.partner_id, self.customer)
        typed = self._mandate("NL91ABNA0417164300", partner_id=contact.id, name="SWS-MDT-CONTACT")
        self.assertEqual(typed.bank_account_id.partner_id, self.customer)
        # a BIC of 8 characters is the same bank as its 11-character form: the bank is kept
        bank = typed.bank_account_id.bank_id
        typed.bank_account_id._recurring_set_bic(bank.bic[:8] if len(bank.bic) == 11 else f"{bank.bic}XXX")
        self.assertEqual(typed.bank_account_id.bank_id, bank)

    def test_a_mandates_account_is_its_debtors_and_keeps_its_number(self):
        other = self.env["res.partner"].create({"name": "Bakkerij Jansen"})
        foreign = self.env["res.partner.bank"].create({"partner_id": other.id, "acc_number": "BE71096123456769"})
        account = self.mandate.bank_account_id
        with self.assertRaisesRegex(ValidationError, "mandate .* collects from it"):
            account.acc_number = "BE71096123456769"
        with self.assertRaisesRegex(ValidationError, "mandate .* collects from it"):
            account.partner_id = other
        self.assertEqual((account.sanitized_acc_number, account.partner_id), ("BE68539007547034", self.customer))
        # each refused write on a mandate of its own: a failed write leaves its value in the test's cache
        with self.assertRaisesRegex(ValidationError, "Bank Account.*belongs to Bakkerij Jansen"):
            self._mandate("BE68539007547034", name="SWS-MDT-A").write({"bank_account_id": foreign.id})
        not_iban = self.env["res.partner.bank"].create({"partner_id": self.customer.id, "acc_number": "US12345678"})
        with self.assertRaisesRegex(ValidationError, "'IBAN' \\(US12345678\\) is not a valid IBAN"):
            self._mandate("BE68539007547034", name="SWS-MDT-B").write({"bank_account_id": not_iban.id})
        with self.assertRaisesRegex(ValidationError, "Bank Account' is empty"):
            self._mandate("BE68539007547034", name="SWS-MDT-C").write({"bank_account_id": False})
        # an invoicing user who may not create bank accounts still records a mandate from an IBAN
        clerk = self.env["res.users"].create({
            "name": "Clerk", "login": "clerk", "company_id": self.company_data["company"].id,
            "company_ids": [Command.set(self.company_data["company"].ids)],
            "group_ids": [Command.set([self.env.ref("account.group_account_invoice").id,
                                       self.env.ref("sale_weekly_subscription.group_subscription_user").id])]})
        self.assertFalse(self.env["res.partner.bank"].with_user(clerk).has_access("create"))
        mandate = self.env["sale.recurring.mandate"].with_user(clerk).create(
            {"partner_id": self.customer.id, "iban": "NL91ABNA0417164300", "signed_on": "2026-01-05"})
        self.assertEqual(mandate.bank_account_id.partner_id, self.customer)

    def test_bad_input_refuses_the_whole_run_and_marks_nothing(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.customer.name = "北京烤鸭"
        Batch = self.env["sale.recurring.sepa.batch"]
        with freeze_time("2026-12-01 09:00"):
            with self.assertRaises(UserError) as caught:
                Batch._create_run(invoice, self.journal, D(2026, 12, 2), "CORE")
            message = str(caught.exception)
            self.assertIn(invoice.name, message)
            self.assertIn("Customer Name", message)
            self.customer.name = "Brasserie Dupont"
            with self.assertRaisesRegex(UserError, "is not the scheme of the run"):
                Batch._create_run(invoice, self.journal, D(2026, 12, 2), "B2B")
            self.mandate.state = "revoked"
            with self.assertRaisesRegex(UserError, "is Revoked"):
                Batch._create_run(invoice, self.journal, D(2026, 12, 2), "CORE")
        self.assertFalse(Batch.search([]))
        self.assertFalse(invoice.sepa_line_ids)

    def test_the_fields_a_return_is_matched_by_are_indexed(self):
        """A return is matched by end-to-end id, else by mandate reference, amount and collection date:
        a bank file of thousands of returns against years of batches reads indexes, not whole tables."""
        def indexed(table, column):
            self.env.cr.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
            return any(f"({column}" in row[0] for row in self.env.cr.fetchall())
        self.assertTrue(indexed("sale_recurring_sepa_line", "end_to_end_id"))
        self.assertTrue(indexed("sale_recurring_sepa_line", "mandate_id"))
        self.assertTrue(indexed("sale_recurring_sepa_line", "batch_id"))
        self.assertTrue(indexed("sale_recurring_sepa_line", "invoice_id"))
        self.assertTrue(indexed("sale_recurring_mandate", "name"), "the unique reference per company")
        self.env.cr.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'sale_recurring_sepa_line'")
        self.assertTrue(any("followup_pending" in row[0] for row in self.env.cr.fetchall()),
                        "the scheduled action finds the marked lines by a partial index")

    def test_rights_and_companies(self):
        with self.assertRaises(AccessError):
            self.env["sale.recurring.sepa.run"].with_user(self.user).create({"journal_id": self.journal.id})
        with self.assertRaises(AccessError):
            self.env["sale.recurring.sepa.batch"].with_user(self.user).create({})
        # salespeople see masked accounts only
        self.assertFalse(self.user.has_group("account.group_account_invoice"))
        mandate = self.mandate.with_user(self.user)
        self.assertEqual(mandate.iban_masked, "BE** **** **** 7034")
        with self.assertRaises(AccessError):
            mandate.read(["iban"])
        # another company's invoice never goes into this company's file
        other = self.setup_other_company()["company"]
        foreign = self.env["account.move"].create({
            "move_type": "out_invoice", "company_id": other.id, "partner_id": self.customer.id,
            "invoice_line_ids": [Command.create({"name": "x", "price_unit": 10.0, "tax_ids": []})]})
        with self.assertRaisesRegex(UserError, "another company"):
            self.env["sale.recurring.sepa.batch"]._create_run(foreign, self.journal, D(2026, 12, 2), "CORE")

    # -- extension points -----------------------------------------------------------

    def test_overrides_of_the_transaction_the_collection_entry_and_a_return_reason(self):
        Batch = type(self.env["sale.recurring.sepa.batch"])
        Reason = type(self.env["sale.recurring.return.reason"])
        transaction, collection_vals = Batch._transaction, Batch._prepare_collection_move_vals

        def _transaction(batch, *args):
            return replace(transaction(batch, *args), remittance="Weekly box, thank you")

        def _prepare_collection_move_vals(batch, line_commands):
            return {**collection_vals(batch, line_commands), "ref": f"Bank collection {batch.name}"}

        def _apply_to_lines(reason, lines):
            lines.mandate_id.message_post(body=f"Handled by an add-on: {reason.code}")

        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        with freeze_time("2026-11-30 09:00"), patch.object(Batch, "_transaction", _transaction):
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
        self.assertIn("<Ustrd>Weekly box, thank you</Ustrd>", self._xml(batch).decode())
        batch.action_sent()
        with freeze_time("2026-12-14 18:00"), patch.object(Batch, "_prepare_collection_move_vals",
                                                           _prepare_collection_move_vals):
            batch.action_collected()
        self.assertEqual(batch.collection_move_id.ref, f"Bank collection {batch.name}")
        with patch.object(Reason, "_apply_to_lines", _apply_to_lines):
            self.env["sale.recurring.sepa.return"].create({
                "line_ids": [Command.set(batch.line_ids.ids)],
                "reason_id": self.env.ref("sale_weekly_subscription.return_reason_md01").id}).action_return()
        self.assertEqual(self.mandate.state, "active", "the override replaced the revocation")
        self.assertTrue(any("Handled by an add-on: MD01" in body for body in self.mandate.message_ids.mapped("body")))
        self.assertEqual(order.recurring_invoice_ids.payment_state, "not_paid")

    def test_a_return_reason_is_a_record_with_its_action(self):
        reason = self.env.ref("sale_weekly_subscription.return_reason_ac04")
        self.assertEqual((reason.code, reason.action, reason.display_name), ("AC04", "revoke", "AC04 - Account closed"))
        self.assertEqual(self.env["sale.recurring.return.reason"].name_search("AM04")[0][1],
                         "AM04 - Insufficient funds")

    def test_a_plan_paid_by_direct_debit_sets_the_preferred_payment_method(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._create_subscription(self.plan, "2026-11-30", pricelist_id=self.pricelist.id)
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.assertFalse(invoice.sepa_mandate_id, "no mandate yet")
        self.assertEqual(invoice.preferred_payment_method_line_id.code, SDD_CODE)
        self.plan.payment_method = "manual"
        with freeze_time("2026-12-07 08:00"):
            self._run_billing()
        later = order.recurring_invoice_ids - invoice
        self.assertNotEqual(later.preferred_payment_method_line_id.code, SDD_CODE)

    def test_the_upgrade_links_the_stored_return_codes_to_their_reasons(self):
        """19.0.1.1.0: a line returned by an earlier version kept its ISO code in a column of its own."""
        with freeze_time("2026-11-30 08:00"):
            self._debit_subscription()
            self._run_billing()
        with freeze_time("2026-11-30 09:00"):
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
        line = batch.line_ids
        self.env.flush_all()
        self.env.cr.execute("ALTER TABLE sale_recurring_sepa_line ADD COLUMN return_reason VARCHAR")
        self.env.cr.execute("UPDATE sale_recurring_sepa_line SET return_reason = 'MD01' WHERE id = %s", [line.id])
        path = Path(__file__).resolve().parent.parent / "migrations" / "19.0.1.1.0" / "post-migrate.py"
        spec = importlib.util.spec_from_file_location("post_migrate_19_0_1_1_0", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.migrate(self.env.cr, "19.0.1.0.0")
        line.invalidate_recordset()
        self.assertEqual(line.return_reason_id, self.env.ref("sale_weekly_subscription.return_reason_md01"))

    # -- the rulebook ---------------------------------------------------------------------

    def test_amounts_of_one_mandate_are_added_exactly(self):
        self.company_data["company"].sepa_grouping = "mandate"
        plan = self._create_plan(name="Small", auto_send=False, payment_method="sepa", line_ids=[
            Command.create({"product_id": self.product_box.id, "price_unit": 10.10})])
        big = self._create_plan(name="Big", auto_send=False, payment_method="sepa", line_ids=[
            Command.create({"product_id": self.product_box.id, "price_unit": 20.20})])
        with freeze_time("2026-11-30 08:00"):
            for each in (plan, big):
                self._create_subscription(each, "2026-11-30", recurring_mandate_id=self.mandate.id,
                                          pricelist_id=self.pricelist.id)
            self._run_billing()
        self.assertNotEqual(10.10 + 20.20, 30.30)
        with freeze_time("2026-11-30 09:00"):
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
        self.assertEqual((batch.transaction_count, batch.control_sum), (1, 30.30))
        self.assertIn("<InstdAmt Ccy=\"EUR\">30.30</InstdAmt>", self._xml(batch).decode())

    def test_the_bic_follows_the_iban(self):
        # ABN AMRO's IBAN with a Belgian BIC typed: the bank's own BIC replaces it
        mandate = self._mandate("NL91ABNA0417164300", bic="GKCCBEBB")
        self.assertEqual(mandate.bic, "ABNANL2A")
        with self.assertRaisesRegex(ValidationError, "bank in BE, but the IBAN is of NL"):
            mandate.bic = "GKCCBEBB"

    def test_a_reference_neither_starts_nor_ends_with_a_slash(self):
        for reference in ("SWS-MDT-9/", "/SWS-MDT-9", "SWS//9"):
            with self.subTest(reference), self.assertRaisesRegex(ValidationError, "Mandate Reference"):
                self._mandate("NL91ABNA0417164300", name=reference)

    def test_the_lead_time_is_at_least_one_business_day(self):
        with self.assertRaisesRegex(ValidationError, "at least 1"):
            self.company_data["company"].sepa_lead_days = 0
        with freeze_time("2026-12-01 10:00"):  # a Tuesday: asked for today, collected on Wednesday at the earliest
            self.assertEqual(self.env["sale.recurring.sepa.batch"]._collection_date(D(2026, 12, 1), self.env.company),
                             D(2026, 12, 2))

    def test_the_run_leaves_out_what_it_cannot_collect_and_says_why(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
            usd = self.env.ref("base.USD")
            usd.active = True
            dollars = self.init_invoice("out_invoice", partner=self.customer, invoice_date="2026-11-30",
                                        amounts=[50.0], currency=usd, post=False)
            dollars.sepa_mandate_id = self.mandate
            dollars.action_post()
        with freeze_time("2026-11-30 09:00"):
            run = self._run("2026-12-14")
            self.assertEqual(run.line_ids.invoice_id, order.recurring_invoice_ids, "the dollar invoice is not offered")
            self.assertIn("1 invoice(s): not in euros", run.left_out_html)
            early = self._run("2026-12-01")  # before the pre-notification (14 days) has run
            self.assertFalse(early.line_ids)
            self.assertIn("not yet pre-notified", early.left_out_html)
            batch = self.env["sale.recurring.sepa.batch"].browse(run.action_create()["res_id"])
        self.assertEqual(batch.line_ids.invoice_id, order.recurring_invoice_ids)

    def test_an_account_outside_the_sepa_zone_is_refused_on_the_mandate(self):
        for iban in ("BR1800360305000010009795493C1", "TR330006100519786457841326", "SA0380000000608010167519"):
            with self.subTest(iban), self.assertRaisesRegex(ValidationError, f"in {iban[:2]}, outside the SEPA zone"):
                self._mandate(iban)
        with self.assertRaisesRegex(ValidationError, "outside the SEPA zone"):
            self.mandate.iban = "TR330006100519786457841326"

    def test_a_debtor_banking_outside_the_eea_needs_an_address(self):
        swiss = self.env["res.partner"].create({"name": "Muster AG", "is_company": True})
        mandate = self.env["sale.recurring.mandate"].create({
            "partner_id": swiss.id, "iban": "CH9300762011623852957", "signed_on": "2026-01-05"})
        mandate.action_validate()
        self.assertIn("outside the EEA", mandate.address_warning)
        self.assertIn("Muster AG", mandate.address_warning)
        self.assertFalse(self.mandate.address_warning, "a Belgian account needs no address")
        with freeze_time("2026-11-30 08:00"):
            order = self._create_subscription(self.plan, "2026-11-30", partner_id=swiss.id,
                                              recurring_mandate_id=mandate.id, pricelist_id=self.pricelist.id)
            self._run_billing()
        invoice = order.recurring_invoice_ids
        Batch = self.env["sale.recurring.sepa.batch"]
        with freeze_time("2026-11-30 09:00"):
            with self.assertRaises(UserError) as caught:
                Batch._create_run(invoice, self.journal, D(2026, 12, 14), "CORE")
            message = str(caught.exception)
            self.assertIn("Muster AG", message)
            self.assertIn("Customer Address", message)
            self.assertFalse(Batch.search([]))
            swiss.write({"city": "Zürich", "zip": "8001", "street": "Bahnhofstrasse 1",
                         "country_id": self.env.ref("base.ch").id})
            self.assertFalse(mandate.address_warning)
            batch = Batch._create_run(invoice, self.journal, D(2026, 12, 14), "CORE")
        debtor = etree.fromstring(self._xml(batch)).find(".//{*}Dbtr")
        self.assertEqual(debtor.find("{*}PstlAdr/{*}TwnNm").text, "Zuerich")
        self.assertEqual(debtor.find("{*}PstlAdr/{*}Ctry").text, "CH")

    # -- what the bank sends back ----------------------------------------------------

    def _camt054(self, entries, account="BE71096123456769"):
        ns = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
        return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrDbtCdtNtfctn>'
                f"<GrpHdr><MsgId>BELFIUS-054-0001</MsgId><CreDtTm>2026-12-16T18:00:00</CreDtTm></GrpHdr>"
                f"<Ntfctn><Id>NTF-1</Id><Acct><Id><IBAN>{account}</IBAN></Id></Acct>{''.join(entries)}</Ntfctn>"
                f"</BkToCstmrDbtCdtNtfctn></Document>").encode()

    @staticmethod
    def _entry(amount, credit, booked, details):
        return (f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd>'
                f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{booked}</Dt></BookgDt><AcctSvcrRef>REF-{booked}</AcctSvcrRef>"
                f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>{'ESDD' if credit else 'UPDD'}</SubFmlyCd>"
                f"</Fmly></Domn></BkTxCd><NtryDtls>{details}</NtryDtls></Ntry>")

    def _return_entry(self, line, reason, booked="2026-12-16"):
        return self._entry(f"{line.amount:.2f}", False, booked, (
            f"<TxDtls><Refs><EndToEndId>{line.end_to_end_id}</EndToEndId><MndtId>{line.mandate_id.name}</MndtId>"
            f'</Refs><Amt Ccy="EUR">{line.amount:.2f}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
            f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf></TxDtls>"))

    def _credit_entry(self, batch, amount, booked="2026-12-14", block=1):
        return self._entry(f"{amount:.2f}", True, booked,
                           f"<Btch><PmtInfId>{batch.name[:30]}-{block:04d}</PmtInfId></Btch>")

    def _pain002(self, batch, rejected):
        ns = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"
        txs = "".join(f"<TxInfAndSts><OrgnlEndToEndId>{line.end_to_end_id}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
                      f"<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn></StsRsnInf></TxInfAndSts>" for line, code in rejected)
        return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><CstmrPmtStsRpt>'
                f"<GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-12-01T10:00:00</CreDtTm></GrpHdr>"
                f"<OrgnlGrpInfAndSts><OrgnlMsgId>{batch.name}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId>"
                f"<GrpSts>PART</GrpSts></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>{batch.name[:30]}-0001"
                f"</OrgnlPmtInfId>{txs}</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>").encode()

    def _import(self, *files):
        wizard = self.env["sale.recurring.sepa.import"].create({"attachment_ids": [Command.create(
            {"name": name, "datas": base64.b64encode(data)}) for name, data in files]})
        wizard.action_import()
        return wizard.result_html

    def test_the_bank_round_trip_reject_credit_return_and_a_second_import(self):
        with freeze_time("2026-11-30 08:00"):
            orders = [self._debit_subscription() for _i in range(3)]
            self._run_billing()
        invoices = self.env["account.move"].browse([order.recurring_invoice_ids.id for order in orders])
        with freeze_time("2026-11-30 09:00"):
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
            batch.action_sent()
        first, second, third = (batch.line_ids.filtered(lambda line, inv=inv: line.invoice_id == inv)
                                for inv in invoices)
        with freeze_time("2026-12-01 10:00"):
            result = self._import(("status.xml", self._pain002(batch, [(first, "AC04")])))
        self.assertIn("1 rejected", result)
        self.assertEqual(first.state, "rejected")
        self.assertEqual(first.return_reason_id.code, "AC04")
        self.assertEqual(self.mandate.state, "revoked", "AC04: the account is closed")
        self.assertEqual(invoices[0].payment_state, "not_paid")
        self.assertEqual(batch.state, "sent")
        self.mandate.state = "active"
        moves_before = self.env["account.move"].search_count([])
        self.assertEqual((first.sequence_type, second.sequence_type), ("FRST", "RCUR"))
        wrong = self._camt054([self._credit_entry(batch, second.amount, block=2)])
        with freeze_time("2026-12-16 19:00"), self.assertRaisesRegex(UserError, "control sum minus rejects"):
            self._import(("wrong.xml", wrong))
        other = self._camt054([self._credit_entry(batch, second.amount + third.amount, block=2)],
                              account="DE89370400440532013000")
        with freeze_time("2026-12-16 19:00"), self.assertRaisesRegex(UserError, "DE89370400440532013000"):
            self._import(("other.xml", other))
        self.assertEqual(self.env["account.move"].search_count([]), moves_before, "a refused file books nothing")
        notification = self._camt054([self._credit_entry(batch, second.amount + third.amount, block=2),
                                      self._return_entry(second, "AM04")])
        with freeze_time("2026-12-16 19:00"):
            result = self._import(("camt054.xml", notification))
            self.assertIn("1 returned, 1 batch(es) collected", result)
            self.assertEqual((batch.state, batch.booking_date), ("returned", D(2026, 12, 14)))
            self.assertEqual(batch.collection_move_id.date, D(2026, 12, 14))
            self.assertEqual((second.state, third.state), ("returned", "collected"))
            self.assertEqual(invoices[1].payment_state, "not_paid")
            self.assertIn(invoices[2].payment_state, ("paid", "in_payment"))
            moves_after = self.env["account.move"].search_count([])
            again = self._import(("camt054.xml", notification))
        self.assertIn("nothing new booked", again)
        self.assertEqual(self.env["account.move"].search_count([]), moves_after)
        # the Returns report: 2 of the 3 transactions failed, one per reason
        Line = self.env["sale.recurring.sepa.line"]
        [[rate]] = Line._read_group([("batch_id", "=", batch.id)], [], ["failed_rate:avg"])
        self.assertAlmostEqual(rate, 200 / 3, places=2)
        by_reason = dict(Line._read_group([("batch_id", "=", batch.id), ("state", "!=", "collected")],
                                          ["return_reason_id"], ["__count"]))
        self.assertEqual({reason.code: count for reason, count in by_reason.items()}, {"AC04": 1, "AM04": 1})
        self.assertEqual(first.plan_id, self.plan)
        journal_action = self.env.ref("sale_weekly_subscription.sale_recurring_sepa_import_journal_action")
        self.assertEqual(journal_action.binding_model_id.model, "account.journal")
        with freeze_time("2026-12-17 09:00"):
            early = self._run("2026-12-18")  # AM04 is re-presented 5 business days after the return
            run = self._run("2026-12-28")
        self.assertEqual(early.line_ids.invoice_id, invoices[0])
        self.assertIn("re-presented on a later collection date", early.left_out_html)
        self.assertEqual(run.line_ids.invoice_id, invoices[0] | invoices[1], "rejected and returned: collected again")
        self.assertEqual(invoices[1].sepa_retry_date, D(2026, 12, 23))

    def test_a_return_without_end_to_end_id_is_matched_by_mandate_amount_and_date(self):
        with freeze_time("2026-11-30 08:00"):
            self._debit_subscription()
            self._run_billing()
        with freeze_time("2026-11-30 09:00"):
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
            batch.action_sent()
        line = batch.line_ids
        entry = self._entry(f"{line.amount:.2f}", False, "2026-12-16", (
            f"<TxDtls><Refs><MndtId>{line.mandate_id.name}</MndtId></Refs>"
            f'<Amt Ccy="EUR">{line.amount:.2f}</Amt><RltdDts><IntrBkSttlmDt>2026-12-14</IntrBkSttlmDt></RltdDts>'
            f"<RtrInf><Rsn><Cd>MS03</Cd></Rsn></RtrInf></TxDtls>"))
        with freeze_time("2026-12-16 19:00"):
            result = self._import(("camt.xml", self._camt054([self._credit_entry(batch, line.amount), entry])))
        self.assertIn("1 returned", result)
        self.assertEqual(line.state, "returned")
        unknown = self._entry("5.00", False, "2026-12-16", (
            "<TxDtls><Refs><EndToEndId>NOT-OURS-1</EndToEndId></Refs>"
            "<RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls>"))
        with freeze_time("2026-12-16 19:00"):
            result = self._import(("camt2.xml", self._camt054([unknown])))
        self.assertIn("NOT-OURS-1", result)

    def _collected_batch(self, order, requested="2026-12-14"):
        with freeze_time("2026-11-30 09:00"):
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run(requested).action_create()["res_id"])
            batch.action_sent()
        with freeze_time(f"{batch.collection_date} 18:00"):
            batch.action_collected()
        return batch

    def _return_with(self, batch, code, day):
        with freeze_time(f"{day} 10:00"):
            self.env["sale.recurring.sepa.return"].create({
                "line_ids": [Command.set(batch.line_ids.filtered(lambda line: line.state == "collected").ids)],
                "reason_id": self.env["sale.recurring.return.reason"].search([("code", "=", code)]).id,
                "return_date": day}).action_return()

    def test_a_temporary_return_is_re_presented_twice_then_held(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.plan.unpaid_action = "close"
        self._return_with(self._collected_batch(order), "AM04", "2026-12-16")
        self.assertEqual((invoice.sepa_failed_count, invoice.sepa_retry_date), (1, D(2026, 12, 23)))
        told = self.env["mail.mail"].search([("model", "=", "account.move"), ("res_id", "=", invoice.id)])
        self.assertEqual(len(told), 1, "the customer is told, once")
        self.assertIn("Insufficient funds", told.body_html)
        self.assertIn("12/23/2026", told.body_html)
        self.assertIn(self.customer, told.recipient_ids)
        with freeze_time("2026-12-17 09:00"):
            self.assertFalse(self._run("2026-12-22").line_ids)
            second = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-23").action_create()["res_id"])
        self.assertEqual(second.line_ids.sequence_type, "RCUR", "the first collection's FRST is not repeated")
        second.action_sent()
        with freeze_time("2026-12-23 18:00"):
            second.action_collected()
        self._return_with(second, "MS03", "2026-12-28")
        self.assertEqual((invoice.sepa_failed_count, invoice.sepa_hold), (2, False))
        with freeze_time("2026-12-29 09:00"):
            third = self.env["sale.recurring.sepa.batch"].browse(self._run("2027-01-05").action_create()["res_id"])
            third.action_sent()
        with freeze_time("2027-01-05 18:00"):
            third.action_collected()
        self._return_with(third, "AM04", "2027-01-07")
        self.assertEqual((invoice.sepa_failed_count, invoice.sepa_hold), (3, True))
        self.assertEqual((order.recurring_state, order.recurring_close_reason_id),
                         ("closed", self.env.ref("sale_weekly_subscription.close_reason_unpaid")))
        last = self.env["mail.mail"].search([("model", "=", "account.move"), ("res_id", "=", invoice.id)],
                                            order="id desc", limit=1)
        self.assertIn("will not collect it again automatically", last.body_html)
        activity = order.activity_ids.filtered(lambda a: a.summary == "Direct debit failed")
        self.assertEqual(activity.user_id, self.env.user)
        with freeze_time("2027-01-08 09:00"):
            run = self._run("2027-01-20")
        self.assertFalse(run.line_ids)
        self.assertIn("held from direct debit", run.left_out_html)

    def test_a_refund_holds_the_invoice_and_a_closed_account_asks_for_a_new_mandate(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self._return_with(self._collected_batch(order), "MD06", "2026-12-16")
        self.assertTrue(invoice.sepa_hold)
        self.assertEqual(self.mandate.state, "active")
        self.assertTrue(order.activity_ids.filtered(lambda a: a.summary == "Direct debit disputed"))
        with freeze_time("2026-12-17 09:00"):
            self.assertFalse(self._run("2026-12-28").line_ids)
            invoice.sepa_hold = False  # agreed with the customer
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-28").action_create()["res_id"])
            batch.action_sent()
        with freeze_time("2026-12-28 18:00"):
            batch.action_collected()
        self._return_with(batch, "AC04", "2026-12-30")
        self.assertEqual(self.mandate.state, "revoked")
        self.assertTrue(order.activity_ids.filtered(lambda a: a.summary == "Get a new direct-debit mandate"))
        for code, action in (("AM04", "represent"), ("MS03", "represent"), ("MD01", "revoke"), ("MD06", "hold"),
                             ("SL01", "hold"), ("MS02", "hold"), ("AC04", "revoke")):
            self.assertEqual(self.env["sale.recurring.return.reason"].search([("code", "=", code)]).action, action)

    def test_the_banks_charges_on_a_return_are_booked_and_billed_on_the_next_invoice(self):
        self.plan.charge_return_fees = True
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        batch = self._collected_batch(order)
        line = batch.line_ids
        entry = self._entry(f"{line.amount + 2.5:.2f}", False, "2026-12-16", (
            f"<TxDtls><Refs><EndToEndId>{line.end_to_end_id}</EndToEndId></Refs>"
            f'<Amt Ccy="EUR">{line.amount:.2f}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
            f'<Chrgs><Rcrd><Amt Ccy="EUR">2.50</Amt><CdtDbtInd>DBIT</CdtDbtInd></Rcrd></Chrgs>'
            f"<RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls>"))
        moves = self.env["account.move"].search_count([])
        with freeze_time("2026-12-16 19:00"), self.assertRaisesRegex(UserError, "Return Charges Account"):
            self._import(("camt.xml", self._camt054([entry])))
        self.assertEqual(self.env["account.move"].search_count([]), moves, "nothing booked")
        self.assertEqual(line.state, "collected")
        expense = self.company_data["default_account_expense"]
        self.company_data["company"].sepa_charges_account_id = expense
        with freeze_time("2026-12-16 19:00"):
            self._import(("camt.xml", self._camt054([entry])))
        self.assertEqual(line.state, "returned")
        charged = self.env["account.move.line"].search([("account_id", "=", expense.id), ("date", "=", "2026-12-16")])
        self.assertEqual(charged.balance, 2.5)
        self.assertEqual(order.recurring_pending_fees, 2.5)
        with freeze_time("2026-12-21 08:00"):
            self._run_billing()  # catches up 2 weeks: the fee is on the first invoice only
        fee_lines = order.recurring_invoice_ids.invoice_line_ids.filtered(lambda aml: aml.account_id == expense)
        self.assertEqual(fee_lines.mapped("price_unit"), [2.5])
        self.assertIn("Bank charges", fee_lines.name)
        self.assertEqual(order.recurring_pending_fees, 0.0)

    def test_a_rejected_block_and_a_duplicate_notice_touch_only_what_they_name(self):
        with freeze_time("2026-11-30 08:00"):
            for _i in range(2):
                self._debit_subscription()
            self._run_billing()
        with freeze_time("2026-11-30 09:00"):
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-14").action_create()["res_id"])
            batch.action_sent()
        frst = batch.line_ids.filtered(lambda line: line.sequence_type == "FRST")
        rcur = batch.line_ids - frst
        ns = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"

        def status(group, block=""):
            return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><CstmrPmtStsRpt><GrpHdr>'
                    f"<MsgId>STS-2</MsgId><CreDtTm>2026-12-01T10:00:00</CreDtTm></GrpHdr><OrgnlGrpInfAndSts>"
                    f"<OrgnlMsgId>{batch.name}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId>{group}"
                    f"</OrgnlGrpInfAndSts>{block}</CstmrPmtStsRpt></Document>").encode()
        duplicate = status("<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>DU01</Cd></Rsn></StsRsnInf>")
        with freeze_time("2026-12-01 10:00"):
            self._import(("dup.xml", duplicate))
        self.assertEqual(set(batch.line_ids.mapped("state")), {"open"}, "a duplicate notice changes nothing")
        block = status("<GrpSts>PART</GrpSts>", f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{batch.name[:30]}-0002"
                       f"</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts><StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf>"
                       f"</OrgnlPmtInfAndSts>")
        with freeze_time("2026-12-01 10:00"):
            self._import(("block.xml", block))
        self.assertEqual((frst.state, rcur.state), ("open", "rejected"), "block 2 is the RCUR block")
        with freeze_time("2026-12-14 19:00"):
            self._import(("camt.xml", self._camt054([self._credit_entry(batch, frst.amount, block=1)])))
        self.assertEqual((frst.state, batch.state), ("collected", "collected"))

    def test_two_returns_without_ids_take_two_different_collections(self):
        """The same mandate and amount collected in two batches: two returns that give neither the
        end-to-end id nor the settlement date are two different transactions, the latest first."""
        with freeze_time("2026-11-30 08:00"):
            self._debit_subscription()
            self._run_billing()
        first = self._collected_batch(None)
        with freeze_time("2026-12-07 08:00"):
            self._run_billing()
        with freeze_time("2026-12-07 09:00"):
            second = self.env["sale.recurring.sepa.batch"].browse(self._run("2026-12-22").action_create()["res_id"])
            second.action_sent()
        with freeze_time("2026-12-22 18:00"):
            second.action_collected()
        line = first.line_ids

        def anonymous():
            return self._entry(f"{line.amount:.2f}", False, "2026-12-23", (
                f"<TxDtls><Refs><MndtId>{line.mandate_id.name}</MndtId></Refs>"
                f"<RtrInf><Rsn><Cd>MS03</Cd></Rsn></RtrInf></TxDtls>"))
        with freeze_time("2026-12-23 19:00"):
            self._import(("camt.xml", self._camt054([anonymous()])))
            self.assertEqual((first.line_ids.state, second.line_ids.state), ("collected", "returned"),
                             "the most recent collection first")
            self._import(("camt2.xml", self._camt054([anonymous()])))
        self.assertEqual(first.line_ids.state, "returned", "not the same transaction twice")

    def test_a_file_returning_two_batches_and_two_reasons_books_one_entry_per_batch_and_reason(self):
        """Booked all at once (one create, one post, one unmatching, one reconciliation), a file returning
        transactions of two batches with two reasons books what returning each group alone books: one
        entry per batch and reason, each payment line reconciled with its reversal, the invoices open."""
        with freeze_time("2026-11-30 08:00"):
            orders = [self._debit_subscription() for _i in range(3)]
            self._run_billing()
        invoices = [order.recurring_invoice_ids for order in orders]
        Batch = self.env["sale.recurring.sepa.batch"]
        with freeze_time("2026-11-30 09:00"):
            one = Batch._create_run(invoices[0] | invoices[1], self.journal, D(2026, 12, 14), "CORE")
            two = Batch._create_run(invoices[2], self.journal, D(2026, 12, 15), "CORE")
            (one | two).action_sent()
        with freeze_time("2026-12-15 18:00"):
            (one | two).action_collected()
        lines = [(one | two).line_ids.filtered(lambda line, inv=inv: line.invoice_id == inv) for inv in invoices]
        paid = [line.payment_line_id for line in lines]
        moves_before = self.env["account.move"].search([])
        notification = self._camt054([self._return_entry(lines[0], "AM04"), self._return_entry(lines[2], "AM04"),
                                      self._return_entry(lines[1], "MS03")])
        with freeze_time("2026-12-16 19:00"):
            result = self._import(("camt054.xml", notification))
        self.assertIn("3 returned", result)
        entries = self.env["account.move"].search([("id", "not in", moves_before.ids)])
        self.assertEqual(sorted(entries.mapped("ref")), sorted([
            f"Returns AM04 ({one.name})", f"Returns AM04 ({two.name})", f"Returns MS03 ({one.name})"]))
        outstanding = one._outstanding_account()
        for line, payment, code in zip(lines, paid, ("AM04", "MS03", "AM04"), strict=True):
            entry = entries.filtered(lambda move, c=code, b=line.batch_id: move.ref == f"Returns {c} ({b.name})")
            self.assertEqual((entry.state, entry.date, entry.journal_id, entry.move_type),
                             ("posted", D(2026, 12, 16), self.journal, "entry"))
            back = entry.line_ids - entry.line_ids.filtered(lambda aml: aml.account_id == outstanding)
            total = entry.line_ids - back
            self.assertEqual(back.name, f"Return {code} of {line.invoice_id.name} ({line.batch_id.name})")
            self.assertEqual((back.account_id, back.partner_id, back.debit, back.credit),
                             (payment.account_id, payment.partner_id, line.amount, 0.0))
            self.assertEqual((total.name, total.debit, total.credit),
                             (f"Returns {code} ({line.batch_id.name})", 0.0, line.amount))
            # the payment line is matched with its reversal only; the invoice is open again
            self.assertTrue(payment.reconciled)
            self.assertEqual(payment.full_reconcile_id.reconciled_line_ids, payment | back)
            self.assertEqual(back.matching_number, payment.matching_number)
            invoice = line.invoice_id
            receivable = invoice.line_ids.filtered(lambda aml: aml.account_type == "asset_receivable")
            self.assertEqual((receivable.reconciled, receivable.matched_credit_ids, receivable.matching_number),
                             (False, self.env["account.partial.reconcile"], False))
            self.assertEqual((invoice.payment_state, invoice.amount_residual), ("not_paid", invoice.amount_total))
            self.assertEqual((line.state, line.return_reason_id.code, line.return_date),
                             ("returned", code, D(2026, 12, 16)))
            notes = invoice.message_ids.filtered(lambda message: "returned by the bank" in str(message.body))
            self.assertEqual(len(notes), 1)
            self.assertIn(code, str(notes.body))
            told = self.env["mail.mail"].search([("model", "=", "account.move"), ("res_id", "=", invoice.id)])
            self.assertEqual(len(told), 1, "each customer is told once")
        self.assertEqual((one.state, two.state), ("returned", "returned"))
        self.assertEqual([invoice.sepa_failed_count for invoice in invoices], [1, 1, 1])
        # a balanced ledger: the outstanding account has the collections minus the returns, here nothing
        balance = sum(self.env["account.move.line"].search([
            ("account_id", "=", outstanding.id), ("move_id", "in", (one | two).collection_move_id.ids + entries.ids)
        ]).mapped("balance"))
        self.assertAlmostEqual(balance, 0.0, places=2)

    def test_the_invoices_a_return_leaves_paid_keep_the_values_odoo_computes(self):
        """A return does not recompute the other invoices of its collection entry (their values cannot
        change): after it, their stored amounts and payment state are what Odoo computes from scratch."""
        with freeze_time("2026-11-30 08:00"):
            orders = [self._debit_subscription() for _i in range(2)]
            self._run_billing()
        batch = self._collected_batch(None)
        returned, kept = (batch.line_ids.filtered(lambda line, o=order: line.invoice_id.recurring_order_id == o)
                          for order in orders)
        self._return_with_lines(returned, "AM04", "2026-12-16")
        self.assertEqual((returned.invoice_id.payment_state, kept.state), ("not_paid", "collected"))
        invoice = kept.invoice_id
        names = ["amount_residual", "amount_residual_signed", "amount_total", "payment_state"]
        stored = invoice.read(names)[0]
        self.env.invalidate_all()
        self.env.add_to_compute(invoice._fields["amount_residual"], invoice)
        self.env.add_to_compute(invoice._fields["payment_state"], invoice)
        invoice._recompute_recordset()
        self.assertEqual(invoice.read(names)[0], stored)
        self.assertIn(stored["payment_state"], ("paid", "in_payment"))
        self.assertEqual(stored["amount_residual"], 0.0)

    def _return_with_lines(self, lines, code, day):
        with freeze_time(f"{day} 10:00"):
            self.env["sale.recurring.sepa.return"].create({
                "line_ids": [Command.set(lines.ids)],
                "reason_id": self.env["sale.recurring.return.reason"].search([("code", "=", code)]).id,
                "return_date": day}).action_return()
