from datetime import date

from freezegun import freeze_time
from lxml import etree

from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import Form, new_test_user, tagged

from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestSepaDocuments(SubscriptionCase):
    """What a direct-debit invoice and the SEPA screens tell, in a company keeping its books in dollars
    that collects its subscriptions in euros: the invoice's due date and PDF, the run, the batch."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_data["company"]
        cls.euro = cls.setup_other_currency("EUR")
        cls.pricelist = cls.env["product.pricelist"].create(
            {"name": "EUR", "currency_id": cls.euro.id, "company_id": company.id})
        cls._setup_sepa_creditor()
        cls.journal = cls.company_data["default_journal_bank"]
        cls.customer.write({"city": "Liège", "country_id": cls.env.ref("base.be").id})
        cls.plan = cls._create_plan(name="Weekly box", auto_send=False, payment_method="sepa")
        cls.mandate = cls.env["sale.recurring.mandate"].create({
            "partner_id": cls.customer.id, "iban": "BE68 5390 0754 7034", "signed_on": "2026-01-05"})
        cls.mandate.action_validate()
        cls.accountant = new_test_user(
            cls.env, login="sepa_invoicing", groups="account.group_account_invoice",
            company_id=company.id, company_ids=[Command.set(company.ids)])

    def _billed_invoice(self, day="2026-11-30"):
        """The first invoice of a weekly subscription in euros paid with the mandate, billed on ``day``."""
        with freeze_time(f"{day} 08:00"):
            order = self._create_subscription(self.plan, day, recurring_mandate_id=self.mandate.id,
                                              pricelist_id=self.pricelist.id)
            self._run_billing()
        return order.recurring_invoice_ids

    def _receivable(self, invoice):
        return invoice.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable")

    def _overdue(self, invoice):
        """Whether Odoo's "Overdue" filter of the invoices finds ``invoice`` today."""
        return bool(self.env["account.move"].with_user(self.accountant).search_count([
            ("id", "=", invoice.id), ("invoice_date_due", "<", date.today()), ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial"))]))

    # -- the due date -----------------------------------------------------------------

    def test_a_direct_debit_invoice_falls_due_on_its_collection_date(self):
        invoice = self._billed_invoice()
        self.assertEqual(invoice.invoice_date, D(2026, 11, 30))
        # 14 days' pre-notification: Monday 14 December
        self.assertEqual(invoice.sepa_collection_date, D(2026, 12, 14))
        self.assertEqual(invoice.invoice_date_due, D(2026, 12, 14))
        self.assertEqual(self._receivable(invoice).date_maturity, D(2026, 12, 14))
        with freeze_time("2026-12-11 09:00"):
            self.assertFalse(self._overdue(invoice), "not overdue while it waits for its collection")
        with freeze_time("2026-12-15 09:00"):
            self.assertTrue(self._overdue(invoice), "overdue once the collection day has passed unpaid")

    def test_the_payment_terms_still_count_and_the_day_is_a_business_day(self):
        """30 days' terms from Wednesday 2 December 2026: Friday 1 January 2027 is a TARGET2 holiday, so the
        debit, and the due date, are on Monday 4 January; a whole invoice paid in two instalments falls due
        at once, as the run collects it at once."""
        terms = self.env["account.payment.term"].create({
            "name": "Half now, half in 30 days",
            "line_ids": [Command.create({"value": "percent", "value_amount": 50.0, "nb_days": 0}),
                         Command.create({"value": "percent", "value_amount": 50.0, "nb_days": 30})]})
        with freeze_time("2026-12-02 09:00"):
            form = Form(self.env["account.move"].with_user(self.accountant).with_context(
                default_move_type="out_invoice"))
            form.partner_id = self.customer
            form.currency_id = self.euro
            form.invoice_date = D(2026, 12, 2)
            form.invoice_payment_term_id = terms
            form.sepa_mandate_id = self.mandate
            with form.invoice_line_ids.new() as line:
                line.product_id = self.product_box
                line.price_unit = 100.01
            invoice = form.save()
            invoice.action_post()
        self.assertEqual(invoice.invoice_date_due, D(2027, 1, 4))
        receivable = self._receivable(invoice)
        self.assertEqual(receivable.mapped("date_maturity"), [D(2027, 1, 4)])
        self.assertEqual(receivable.amount_currency, 100.01)
        self.assertEqual(invoice.sepa_collection_date, D(2027, 1, 4))
        # without a mandate, the same terms give Odoo's own two instalments
        with freeze_time("2026-12-02 09:00"):
            plain = invoice.copy({"sepa_mandate_id": False, "invoice_date": D(2026, 12, 2)})
            plain.action_post()
        self.assertEqual(sorted(self._receivable(plain).mapped("date_maturity")), [D(2026, 12, 2), D(2027, 1, 1)])

    # -- the invoice PDF --------------------------------------------------------------

    def _html(self, invoice):
        report = self.env["ir.actions.report"].with_user(self.accountant)
        return report._render_qweb_html("account.report_invoice", invoice.ids)[0].decode()

    def test_the_pdf_prints_the_debit_notice_in_place_of_the_transfer_block(self):
        invoice = self._billed_invoice()
        self.assertTrue(invoice.payment_reference)
        html = self._html(invoice)
        self.assertIn("This invoice will be collected by SEPA direct debit", html)
        for text in ("BE** **** **** 7034", self.mandate.name, "BE68ZZZ0123456789", "12/14/2026", "39.90", "€"):
            self.assertIn(text, html)
        self.assertNotIn("Payment Communication", html)
        self.assertNotIn("on this account", html)
        # its own full-width row below the totals, not beside or under them
        document = etree.fromstring(html, etree.HTMLParser())
        notice = document.xpath("//div[@id='sepa_prenotification']")
        self.assertEqual(len(notice), 1)
        self.assertIn("clear: both", notice[0].get("style"))
        self.assertFalse(notice[0].xpath("ancestor::div[@id='right-elements' or @id='total']"))
        self.assertFalse(notice[0].xpath("descendant::*[contains(@class, 'float-')]"))

    def test_an_invoice_paid_otherwise_keeps_the_transfer_block_and_qr_code(self):
        self.company_data["company"].qr_code = True
        invoice = self._billed_invoice()
        self.assertFalse(invoice.display_qr_code, "no bank-transfer QR code on a debited invoice")
        plain = self.init_invoice("out_invoice", partner=self.customer, invoice_date="2026-11-30", amounts=[50.0],
                                  currency=self.euro, post=True)
        self.assertTrue(plain.display_qr_code)
        html = self._html(plain)
        self.assertIn("Payment Communication", html)
        self.assertNotIn("sepa_prenotification", html)
        # held from direct debit (disputed): it is no longer debited, so the transfer block is back
        invoice.sepa_hold = True
        html = self._html(invoice)
        self.assertIn("Payment Communication", html)
        self.assertNotIn("This invoice will be collected by SEPA direct debit", html)
        self.assertTrue(invoice.display_qr_code)

    # -- the direct-debit run ---------------------------------------------------------

    def _run(self, requested=None):
        wizard = Form(self.env["sale.recurring.sepa.run"].with_user(self.accountant))
        wizard.journal_id = self.journal
        if requested:
            wizard.requested_date = requested
        return wizard.save()

    def test_the_run_says_how_many_invoices_wait_and_from_when(self):
        with freeze_time("2026-11-30 07:00"):
            self.assertEqual(self._run().waiting_note, "No posted, unpaid invoice is waiting for a direct debit.")
        first = self._billed_invoice("2026-11-30")
        with freeze_time("2026-11-30 09:00"):
            run = self._run()  # today: collected tomorrow at the earliest, before the 14 days' notice has run
            self.assertEqual(run.collection_date, D(2026, 12, 1))
            self.assertFalse(run.line_ids)
            self.assertEqual((run.waiting_count, run.waiting_date), (1, D(2026, 12, 14)))
            self.assertEqual(run.waiting_note, "1 invoice is waiting for collection; it can be collected from "
                                               "12/14/2026 (pre-notification lead time).")
        with freeze_time("2026-12-07 08:00"):
            self._run_billing()
        second = first.recurring_order_id.recurring_invoice_ids - first
        with freeze_time("2026-12-07 09:00"):
            run = self._run()
            self.assertEqual((run.waiting_count, run.waiting_date), (2, D(2026, 12, 14)))
            self.assertEqual(run.waiting_note, "2 invoices are waiting for collection; the earliest can be collected "
                                               "from 12/14/2026 (pre-notification lead time).")
            run.action_use_waiting_date()
            self.assertEqual((run.requested_date, run.collection_date), (D(2026, 12, 14), D(2026, 12, 14)))
            self.assertEqual(run.line_ids.invoice_id, first)
            self.assertEqual((run.waiting_count, run.waiting_date), (1, D(2026, 12, 21)))
            self.assertEqual(second.invoice_date_due, D(2026, 12, 21))

    def test_the_run_totals_are_in_the_invoices_currency(self):
        self.assertEqual(self.env.company.currency_id, self.env.ref("base.USD"))
        self._billed_invoice()
        with freeze_time("2026-11-30 09:00"):
            run = self._run("2026-12-14")
            self.assertEqual(run.line_ids.invoice_id.currency_id, self.euro)
            self.assertEqual(run.currency_id, self.euro)
            self.assertEqual(run._fields["amount_total"].get_currency_field(run), "currency_id")
            self.assertEqual(run.amount_total, 39.90)
            summary = str(run.summary_html)
            self.assertIn("39.90", summary)
            self.assertIn("€", summary)
            self.assertNotIn("$", summary)

    # -- cancelling a batch -----------------------------------------------------------

    def test_a_batch_not_yet_sent_can_be_cancelled_and_its_invoices_collected_again(self):
        invoice = self._billed_invoice()
        Batch = self.env["sale.recurring.sepa.batch"].with_user(self.accountant)
        with freeze_time("2026-11-30 09:00"):
            batch = Batch.browse(self._run("2026-12-14").action_create()["res_id"])
            self.assertFalse(self._run("2026-12-14").line_ids, "in an open batch: not offered")
        self.assertTrue(batch.xml_file)
        with self.assertRaises(AccessError):
            batch.with_user(self.user).action_cancel()
        batch.action_cancel()
        self.assertEqual((batch.state, batch.line_ids.state), ("cancelled", "cancelled"))
        self.assertFalse(batch.xml_file)
        self.assertFalse(self.env["ir.attachment"].search(
            [("res_model", "=", batch._name), ("res_id", "=", batch.id), ("res_field", "=", "xml_file")]))
        self.assertIn("cancelled", str(batch.message_ids[:1].body))
        with self.assertRaisesRegex(UserError, f"Batch {batch.name} was cancelled"):
            batch.action_download()
        with self.assertRaisesRegex(UserError, f"Batch {batch.name} was cancelled"):
            batch.action_sent()
        # its invoice is offered again, and collected in a new file with a new message id
        with freeze_time("2026-11-30 09:00"):
            run = self._run("2026-12-14")
            self.assertEqual(run.line_ids.invoice_id, invoice)
            again = Batch.browse(run.action_create()["res_id"])
        self.assertNotEqual(again.name, batch.name)
        self.assertEqual((again.state, again.line_ids.invoice_id), ("generated", invoice))
        # once the bank has the file, it is too late
        again.action_sent()
        with self.assertRaisesRegex(UserError, f"Batch {again.name} cannot be cancelled: its field 'Status' is "
                                               "'Sent to Bank'"):
            again.action_cancel()
        self.assertEqual(again.line_ids.state, "open")
