"""The Peppol BIS Billing 3.0 UBL of subscription invoices: the period billed, the direct debit that
pays them, the invoice a pause credit note corrects; checked against the UBL 2.1 schemas (shipped
unchanged in tests/data/ubl-2.1, from the OASIS release package)."""

from datetime import date
from pathlib import Path

from freezegun import freeze_time
from lxml import etree

from odoo.tests import tagged

from .schematron import failed_asserts
from .test_sepa import TestSepa

UBL = Path(__file__).resolve().parent / "data" / "ubl-2.1" / "xsd" / "maindoc"
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
_SCHEMAS = {}


def ubl_schema(name):
    if name not in _SCHEMAS:
        _SCHEMAS[name] = etree.XMLSchema(etree.parse(str(UBL / f"UBL-{name}-2.1.xsd")))
    return _SCHEMAS[name]


class UblCase:
    """A Belgian seller and a Belgian business buyer, each with a VAT number and a Peppol endpoint
    (scheme 0208, the enterprise number)."""

    @classmethod
    def _belgian_parties(cls):
        company = cls.company_data["company"]
        company.write({"vat": "BE0477472701", "company_registry": "0477472701"})
        company.partner_id.write({"peppol_eas": "0208", "peppol_endpoint": "0477472701"})
        cls.product_box.taxes_id = cls.company_data["default_tax_sale"]
        cls.customer.write({
            "is_company": True, "vat": "BE0897223670", "street": "Rue de la Loi 16", "zip": "1000",
            "city": "Bruxelles", "country_id": cls.env.ref("base.be").id,
            "peppol_eas": "0208", "peppol_endpoint": "0897223670", "invoice_edi_format": "ubl_bis3",
        })

    def _ubl(self, move):
        xml, errors = self.env["account.edi.xml.ubl_bis3"]._export_invoice(move)
        self.assertFalse(errors, f"Odoo's own BIS 3 checks: {errors}")
        tree = etree.fromstring(xml)
        name = "CreditNote" if move.move_type == "out_refund" else "Invoice"
        schema = ubl_schema(name)
        self.assertTrue(schema.validate(tree), f"UBL 2.1 schema: {schema.error_log}")
        # PEPPOL-EN16931-R008: no empty element
        empty = [element.tag for element in tree.iter()
                 if not len(element) and not (element.text or "").strip() and not element.attrib]
        self.assertFalse(empty, f"empty elements: {empty}")
        # the official rules, as an access point runs them: EN 16931 and Peppol BIS 3
        fatal = [rule for rule in failed_asserts(xml) if rule[1] == "fatal"]
        self.assertFalse(fatal, f"Peppol BIS 3 / EN 16931 rules: {fatal}")
        return xml, tree


@tagged("post_install", "-at_install")
class TestUbl(UblCase, TestSepa):
    """Only the UBL tests, on TestSepa's SEPA set-up (its own tests are not run again here)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._belgian_parties()

    def test_a_direct_debit_invoice_says_debit_with_its_mandate_and_period(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        invoice = order.recurring_invoice_ids
        _xml, tree = self._ubl(invoice)
        period = tree.find("cac:InvoicePeriod", NS)
        self.assertEqual([period.findtext(f"cbc:{tag}", namespaces=NS) for tag in ("StartDate", "EndDate")],
                         ["2026-11-30", "2026-12-06"])
        means = tree.findall("cac:PaymentMeans", NS)
        self.assertEqual(len(means), 1)
        self.assertEqual(means[0].findtext("cbc:PaymentMeansCode", namespaces=NS), "59")
        # PEPPOL-EN16931-R061: the mandate reference; BT-91 the debited account; no transfer account
        self.assertEqual(means[0].findtext("cac:PaymentMandate/cbc:ID", namespaces=NS), self.mandate.name)
        self.assertEqual(means[0].findtext("cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID", namespaces=NS),
                         "BE68539007547034")
        self.assertIsNone(means[0].find("cac:PayeeFinancialAccount", NS))
        # the rules really run: without the mandate, R061 refuses the invoice
        means[0].remove(means[0].find("cac:PaymentMandate", NS))
        self.assertIn("PEPPOL-EN16931-R061", [rule for rule, flag, _text in failed_asserts(etree.tostring(tree))
                                              if flag == "fatal"])
        # BT-90, the creditor identifier, as a seller identification of scheme SEPA
        seller_ids = tree.findall("cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID", NS)
        self.assertIn(("SEPA", "BE68ZZZ0123456789"), [(node.get("schemeID"), node.text) for node in seller_ids])
        # both parties' Peppol addresses (PEPPOL-EN16931-R010/R020)
        self.assertEqual(
            [(node.get("schemeID"), node.text) for node in tree.findall(".//cac:Party/cbc:EndpointID", NS)],
            [("0208", "0477472701"), ("0208", "0897223670")])

    def test_an_invoice_without_mandate_keeps_odoos_payment_means(self):
        plan = self._create_plan(name="Transfer", auto_send=False)
        with freeze_time("2026-11-30 08:00"):
            order = self._create_subscription(plan, "2026-11-30", pricelist_id=self.pricelist.id)
            self._run_billing()
        _xml, tree = self._ubl(order.recurring_invoice_ids)
        self.assertNotEqual(tree.findtext("cac:PaymentMeans/cbc:PaymentMeansCode", namespaces=NS), "59")
        self.assertIsNone(tree.find("cac:PaymentMeans/cac:PaymentMandate", NS))
        self.assertIsNotNone(tree.find("cac:InvoicePeriod", NS), "the period is there for every subscription invoice")

    def test_a_pause_credit_note_names_the_invoice_it_corrects(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        invoice = order.recurring_invoice_ids
        with freeze_time("2026-12-01 09:00"):
            self._pause_from(order, date(2026, 12, 3), 1)
        credit = order.recurring_pause_ids.refund_ids
        self.assertEqual((len(credit), credit.state), (1, "posted"))
        _xml, tree = self._ubl(credit)
        self.assertEqual(tree.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=NS),
                         invoice.name)
        self.assertIsNone(tree.find("cac:PaymentMeans/cac:PaymentMandate", NS))
