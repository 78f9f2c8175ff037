"""Bank files in the layouts Belgian, Dutch and German banks publish, imported end to end, and the ISO list of
return reasons the add-on ships.  The files are engine/tests/bank_layouts/ (their pytest names the document
each follows); here the database's own references (batch, end-to-end ids, mandates) are put in them."""

import base64
from datetime import date
from pathlib import Path

from freezegun import freeze_time

from odoo.fields import Command
from odoo.tests import Form, tagged
from odoo.tools import convert_file

from .common import SubscriptionCase

LAYOUTS = Path(__file__).resolve().parent.parent / "engine" / "tests" / "bank_layouts"
D = date


@tagged("post_install", "-at_install")
class TestBankLayouts(SubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_data["company"]
        cls.pricelist = cls._setup_euro_company()
        cls._setup_sepa_creditor(sepa_sequence_policy="frst")
        cls.env["res.partner.bank"].create({"acc_number": "NL69INGB0123456789", "partner_id": company.partner_id.id})
        company.sepa_charges_account_id = cls.company_data["default_account_expense"]
        cls.journal = cls.company_data["default_journal_bank"]
        cls.plan = cls._create_plan(name="Weekly box", auto_send=False, payment_method="sepa")
        cls.customers = cls.env["res.partner"].create([
            {"name": name, "city": "Liège", "country_id": cls.env.ref("base.be").id, "email": f"{i}@example.com"}
            for i, name in enumerate(["An Peeters", "Marc Dubois", "Fleischerei Kessel"])])
        cls.mandates = cls.env["sale.recurring.mandate"].create([
            {"partner_id": partner.id, "iban": iban, "signed_on": "2026-01-05"}
            for partner, iban in zip(cls.customers, ["BE68539007547034", "BE62510007547061", "BE43068999999501"],
                                     strict=True)])
        cls.mandates.action_validate()

    def _subscriptions(self, prices):
        """One weekly subscription per price, each paid with its customer's mandate, billed on 30 November,
        collected in one batch on 14 December, sent to the bank."""
        with freeze_time("2026-11-30 08:00"):
            for partner, mandate, price in zip(self.customers, self.mandates, prices, strict=False):
                self._create_subscription(
                    self.plan, "2026-11-30", partner_id=partner.id, recurring_mandate_id=mandate.id,
                    pricelist_id=self.pricelist.id, order_line=[Command.create(
                        {"product_id": self.product_box.id, "product_uom_qty": 1, "price_unit": price})])
            self._run_billing()
        with freeze_time("2026-11-30 09:00"):
            wizard = Form(self.env["sale.recurring.sepa.run"])
            wizard.journal_id = self.journal
            wizard.requested_date = "2026-12-14"
            batch = self.env["sale.recurring.sepa.batch"].browse(wizard.save().action_create()["res_id"])
            batch.action_sent()
        return batch

    def _layout(self, name, batch, sample_batch, sample_lines):
        """The layout file ``name`` with this database's references: ``sample_lines`` maps each of the file's
        (end-to-end id, mandate) to the batch line it stands for."""
        data = (LAYOUTS / name).read_text()
        for (e2e, mandate), line in sample_lines.items():
            data = data.replace(e2e, line.end_to_end_id).replace(mandate, line.mandate_id.name)
        return data.replace(sample_batch, batch.name).encode()

    def _import(self, name, data):
        wizard = self.env["sale.recurring.sepa.import"].create({"attachment_ids": [Command.create(
            {"name": name, "datas": base64.b64encode(data)})]})
        wizard.action_import()
        return wizard.result_html

    def _booked(self, batch, day):
        """{account code: balance} of the posted entries of ``batch``'s journal on ``day`` but its collection."""
        moves = self.env["account.move"].search([
            ("journal_id", "=", batch.journal_id.id), ("date", "=", day), ("state", "=", "posted"),
            ("id", "!=", batch.collection_move_id.id)])
        totals = {}
        for aml in moves.line_ids:
            totals[aml.account_id.code] = round(totals.get(aml.account_id.code, 0.0) + aml.balance, 2)
        return totals

    def test_a_belgian_statement_collects_the_batch_then_books_two_globalised_returns(self):
        """Febelfin camt.053.001.02 (XML message for statement, Implementation Guidelines 2.0/2.1): the
        collection booked globally with one TxDtls per collection, two returns booked globally (AM04, MD06),
        two statements in one file, an account charge that is no direct debit."""
        batch = self._subscriptions([39.90, 39.90, 39.90])
        lines = batch.line_ids.sorted("end_to_end_id")
        self.assertEqual(len(lines), 3)
        sample = {(f"SWS-DD-20261130-0001-00000{i}", f"SWS-MDT-2026-0000{i}"): line
                  for i, line in enumerate(lines, start=1)}
        data = self._layout("be_febelfin_camt053_001_02.xml", batch, "SWS-DD-20261130-0001", sample)
        with freeze_time("2026-12-16 21:30"):
            result = self._import("CODA-XML-20261216.xml", data)
        self.assertIn("2 returned, 1 batch(es) collected", result)
        self.assertEqual((batch.booking_date, batch.collection_move_id.date), (D(2026, 12, 14), D(2026, 12, 14)))
        self.assertEqual(batch.collection_move_id.amount_total, 119.70)
        first, second, third = lines
        self.assertEqual([line.state for line in lines], ["returned", "returned", "collected"])
        self.assertEqual((first.return_reason_id.code, second.return_reason_id.code), ("AM04", "MD06"))
        self.assertEqual((first.return_date, second.return_date), (D(2026, 12, 16), D(2026, 12, 16)))
        outstanding = batch._outstanding_account()
        booked = self._booked(batch, "2026-12-16")
        self.assertEqual(booked[outstanding.code], -79.80, "the two returns, out of the outstanding account")
        self.assertEqual(self.env["account.move"].search_count([
            ("journal_id", "=", batch.journal_id.id), ("date", "=", "2026-12-16")]), 2, "one entry per reason")
        self.assertEqual(first.invoice_id.payment_state, "not_paid")
        self.assertTrue(first.invoice_id.sepa_retry_date, "AM04: re-presented later")
        self.assertFalse(first.invoice_id.sepa_hold)
        self.assertTrue(second.invoice_id.sepa_hold, "MD06: held, the responsible asks the customer")
        self.assertIn(third.invoice_id.payment_state, ("paid", "in_payment"))
        self.assertEqual(second.mandate_id.state, "active")
        with freeze_time("2026-12-16 21:40"):
            self.assertIn("nothing new booked", self._import("CODA-XML-20261216.xml", data))

    def test_a_dutch_notification_collects_per_transaction_and_books_returns_with_charges(self):
        """ING camt.054.001.02 (Format Description, CGI version, 28 August 2018): each collection credited on
        its own entry naming only its end-to-end id, the returns booked one per entry with the bank's charge
        (on the transaction for AC04, on the entry for MS02)."""
        batch = self._subscriptions([24.95, 59.00])
        small, large = batch.line_ids.sorted("amount")
        sample = {("SWS-DD-20261130-0002-000001", "SWS-MDT-2026-00011"): small,
                  ("SWS-DD-20261130-0002-000002", "SWS-MDT-2026-00012"): large}
        data = self._layout("nl_ing_camt054_001_02.xml", batch, "SWS-DD-20261130-0002", sample)
        with freeze_time("2026-12-17 07:00"):
            result = self._import("camt054_INGB.xml", data)
        self.assertIn("2 returned, 1 batch(es) collected", result)  # two credits of one batch
        self.assertEqual((small.state, large.state), ("returned", "returned"))
        self.assertEqual((small.return_reason_id.code, small.return_date), ("AC04", D(2026, 12, 16)))
        self.assertEqual((large.return_reason_id.code, large.return_date), ("MS02", D(2026, 12, 17)))
        self.assertEqual(small.mandate_id.state, "revoked", "AC04: the account is closed")
        self.assertTrue(large.invoice_id.sepa_hold, "MS02: refused by the debtor, held")
        expense = self.company_data["default_account_expense"]
        outstanding = batch._outstanding_account()
        for day, returned in (("2026-12-16", 24.95), ("2026-12-17", 59.00)):
            booked = self._booked(batch, day)
            self.assertEqual(booked[expense.code], 0.45, f"the bank's charge on {day}")
            self.assertEqual(booked[outstanding.code], round(-returned - 0.45, 2), day)

    def test_a_german_notification_matches_a_return_without_end_to_end_id_by_its_mandate(self):
        """DK camt.054.001.08 (DFÜ-Abkommen Anlage 3): a return whose booked amount includes the fee, and one
        whose end-to-end id is NOTPROVIDED, found by mandate, amount and collection date; a pending entry."""
        self.env["res.partner.bank"].create({"acc_number": "DE89370400440532013000",
                                             "partner_id": self.company_data["company"].partner_id.id})
        batch = self._subscriptions([39.90, 15.00])
        with freeze_time("2026-12-14 18:00"):
            batch.action_collected()
        fee, silent = batch.line_ids.sorted("amount", reverse=True)
        sample = {("SWS-DD-20261130-0003-000001", "SWS-MDT-2026-00021"): fee,
                  ("SWS-DD-20261130-0003-000002", "SWS-MDT-2026-00022"): silent}
        data = self._layout("de_dk_camt054_001_08.xml", batch, "SWS-DD-20261130-0003", sample)
        with freeze_time("2026-12-16 19:00"):
            result = self._import("camt054.xml", data)
        self.assertIn("2 returned", result)
        self.assertEqual((fee.return_reason_id.code, silent.return_reason_id.code), ("AC06", "MD06"))
        self.assertEqual(self._booked(batch, "2026-12-16")[self.company_data["default_account_expense"].code], 3.0)


@tagged("post_install", "-at_install")
class TestReturnReasonCodes(SubscriptionCase):
    def test_every_iso_return_reason_ships_with_the_action_of_its_category(self):
        Reason = self.env["sale.recurring.return.reason"]
        reasons = {reason.code: reason for reason in Reason.search([])}
        self.assertGreaterEqual(len(reasons), 105, "the 104 codes of ExternalReturnReason1Code, and FF01")
        actions = {code: reasons[code].action for code in reasons}
        for code in ("AM04", "MS03", "AG07", "ED05"):
            self.assertEqual(actions[code], "represent", code)
        for code in ("AC01", "AC04", "AG01", "MD01", "MD07", "RC01", "AC16"):
            self.assertEqual(actions[code], "revoke", code)
        for code in ("MD06", "SL01", "MS02", "AC06", "SP01", "FR01"):
            self.assertEqual(actions[code], "hold", code)
        self.assertEqual(actions["BE05"], "reopen", "shipped before: keeps the action it had")
        self.assertEqual(reasons["AM04"].definition,
                         "Amount of funds available to cover specified message amount is insufficient.")
        self.assertEqual(reasons["SL11"].name, "Creditor not on whitelist of debtor")
        self.assertFalse([code for code, reason in reasons.items() if not reason.definition and code != "FF01"
                          and not code.isdigit()])
        self.assertEqual(self.env.ref("sale_weekly_subscription.return_reason_narr").action, "hold")
        # an accountant changes what a code does
        reasons["AM04"].action = "hold"
        self.assertEqual(Reason.search([("code", "=", "AM04")]).action, "hold")

    def test_an_upgrade_adopts_a_code_the_database_had_from_a_bank_file(self):
        """Before the full list shipped, a code a bank file brought was added on the fly; loading the data
        file again (as an upgrade does) gives that record the shipped name, definition and action instead of
        failing on the unique code, and leaves a record an accountant described alone."""
        Reason = self.env["sale.recurring.return.reason"]
        for code in ("AG07", "SP01"):
            shipped = self.env.ref(f"sale_weekly_subscription.return_reason_{code.lower()}")
            self.env["ir.model.data"].search([("model", "=", Reason._name), ("res_id", "=", shipped.id)]).unlink()
            shipped.unlink()
        from_file = Reason.create({"code": "AG07", "name": "AG07 (from a bank file)"})
        described = Reason.create({"code": "SP01", "name": "Opposition", "action": "revoke", "note": "Call them."})
        convert_file(self.env, "sale_weekly_subscription", "data/sale_recurring_return_reason_data.xml", {},
                     mode="update", noupdate=True)
        self.assertEqual(self.env.ref("sale_weekly_subscription.return_reason_ag07"), from_file)
        self.assertEqual((from_file.name, from_file.action, from_file.definition),
                         ("Unsuccessful direct debit", "represent",
                          "Debtor account cannot be debited for a generic reason."))
        self.assertEqual(self.env.ref("sale_weekly_subscription.return_reason_sp01"), described)
        self.assertEqual((described.name, described.action, described.note), ("Opposition", "revoke", "Call them."))
        self.assertEqual(Reason.search_count([("code", "in", ("AG07", "SP01"))]), 2)
