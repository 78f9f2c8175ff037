"""In a Belgian database with Odoo Community's ``l10n_be`` and ``account_peppol`` (tag ``peppol``,
run by ``make peppol``): the billing run sends by Peppol to customers that can receive it, through
``account.move.send``; the invoices follow the journal's Belgian structured communication, or carry
one stable reference per subscription.

Only the Peppol access point is outside the machine: its HTTP API is answered by
``_request_handler``, the hook Odoo's test framework gives for outgoing requests.
"""

import json
import re
from base64 import b64decode, b64encode
from unittest.mock import patch

import requests
from freezegun import freeze_time
from lxml import etree
from requests import Response

from odoo.tests import tagged
from odoo.tools.misc import file_open

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from .common import SubscriptionCase
from .test_ubl import NS, UblCase

ACCESS_POINT_CLIENT = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
MESSAGE_UUID = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
STRUCTURED = re.compile(r"^\+\+\+(\d{3})/(\d{4})/(\d{3})(\d{2})\+\+\+$")


def check_structured(reference):
    """Whether ``reference`` is a valid Belgian structured communication (modulo 97)."""
    match = STRUCTURED.match(reference or "")
    if not match:
        return False
    base = int("".join(match.groups()[:3]))
    return (base % 97 or 97) == int(match[4])


@tagged("post_install", "-at_install", "-standard", "peppol")
class TestPeppolAndStructuredCommunication(UblCase, SubscriptionCase):

    sent_documents = []

    @classmethod
    @AccountTestInvoicingCommon.setup_country("be")
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("account_peppol.edi.mode", "test")
        company = cls.company_data["company"]
        company.write({"recurring_sepa_creditor_identifier": "BE68ZZZ0123456789"})
        cls._belgian_parties()
        company.write({"peppol_eas": "0208", "peppol_endpoint": "0477472701",
                       "account_peppol_proxy_state": "receiver"})
        key = cls.env["certificate.key"].create({
            "name": "Peppol test key",
            "content": b64encode(file_open("account_peppol/tests/assets/private_key.pem", "rb").read())})
        cls.env["account_edi_proxy_client.user"].create({
            "id_client": ACCESS_POINT_CLIENT, "proxy_type": "peppol", "edi_mode": "test",
            "edi_identification": cls.env["account_edi_proxy_client.user"]._get_proxy_identification(
                company, "peppol"),
            "private_key_id": key.id, "refresh_token": MESSAGE_UUID})
        cls.plan = cls._create_plan(name="Weekly box", auto_send=True)
        # Odoo routes outgoing HTTP to _request_handler for 'standard' tests only; these are not
        # (they need account_peppol), so they route it themselves
        patcher = patch.object(requests.sessions.Session, "send",
                               lambda session, request, **kwargs: cls._request_handler(session, request, **kwargs))
        patcher.start()
        cls.addClassCleanup(patcher.stop)

    @classmethod
    def _request_handler(cls, session, request, /, **kwargs):
        """The Peppol access point: the customer's endpoint is on the network, documents are taken."""
        response = Response()
        response.status_code = 200
        if request.path_url.startswith("/api/peppol/1/lookup"):
            identifier = request.path_url.split("peppol_identifier=")[1].split("&")[0].lower()
            if identifier.replace("%3a", ":") != "0208:0897223670":
                response.status_code = 404
                response.json = lambda: {"error": {"code": "NOT_FOUND", "message": "no naptr record"}}
                return response
            document = ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017"
                        "#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1")
            response.json = lambda: {"result": {
                "identifier": "0208:0897223670", "smp_base_url": "http://iap-services.odoo.com", "ttl": 60,
                "service_group_url": "http://iap-services.odoo.com/iso6523-actorid-upis%3A%3A0208%3A0897223670",
                "services": [{"href": "http://iap-services.odoo.com/x", "document_id": document}]}}
            return response
        body = json.loads(request.body or "{}")
        if request.path_url == "/api/peppol/1/send_document":
            documents = body["params"]["documents"]
            cls.sent_documents.extend(documents)
            response.json = lambda: {"result": {"messages": [{"message_uuid": MESSAGE_UUID}] * len(documents)}}
            return response
        response.json = lambda: {"result": {}}
        return response

    def test_the_run_sends_by_peppol_to_a_customer_on_the_network(self):
        self.customer.write({"email": False, "invoice_sending_method": "peppol"})
        self.customer.button_account_peppol_check_partner_endpoint(company=self.company_data["company"])
        self.assertEqual(self.customer.peppol_verification_state, "valid")
        type(self).sent_documents = []
        with freeze_time("2026-11-30 08:00"):
            order = self._create_subscription(self.plan, "2026-11-30")
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertTrue(invoice.sending_data, "queued, although the customer has no e-mail address")
        self.assertIn("peppol", self.env["account.move.send"]._get_default_sending_methods(invoice))
        self.assertFalse(any("not sent" in str(message.body) for message in order.message_ids))
        with freeze_time("2026-11-30 09:00"), self.enter_registry_test_mode():
            self.env.ref("account.ir_cron_account_move_send").method_direct_trigger()
        self.assertEqual(invoice.peppol_move_state, "processing")
        self.assertEqual(len(self.sent_documents), 1)
        ubl = b64decode(self.sent_documents[0]["ubl"])
        tree = etree.fromstring(ubl)
        self.assertEqual(tree.findtext("cbc:ID", namespaces=NS), invoice.name)
        self.assertIsNotNone(tree.find("cac:InvoicePeriod", NS))

    def test_a_customer_off_the_network_is_still_emailed(self):
        other = self.env["res.partner"].create({
            "name": "Snackbar Peeters", "email": "peeters@example.com", "country_id": self.env.ref("base.be").id,
            "peppol_eas": "0208", "peppol_endpoint": "0123456749"})
        with freeze_time("2026-11-30 08:00"):
            order = self._create_subscription(self.plan, "2026-11-30", partner_id=other.id)
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.assertTrue(invoice.sending_data)
        self.assertEqual(self.env["account.move.send"]._get_default_sending_methods(invoice), {"email"})

    def test_invoices_carry_the_journals_structured_communication(self):
        journal = self.company_data["default_journal_sale"]
        self.assertEqual(journal.invoice_reference_model, "be", "l10n_be's sales journal")
        with freeze_time("2026-11-30 08:00"):
            order = self._create_subscription(self._create_plan(name="Weekly", auto_send=False), "2026-11-30")
            self._run_billing()
        with freeze_time("2026-12-07 08:00"):
            self._run_billing()
        first, second = order.recurring_invoice_ids.sorted("recurring_period_start")
        self.assertTrue(check_structured(first.payment_reference), first.payment_reference)
        self.assertTrue(check_structured(second.payment_reference), second.payment_reference)
        self.assertNotEqual(first.payment_reference, second.payment_reference, "one per invoice, as Odoo makes it")
        self.assertFalse(order.recurring_payment_reference)

    def test_one_stable_structured_reference_per_subscription(self):
        self.company_data["company"].recurring_stable_payment_reference = True
        plan = self._create_plan(name="Rent", billing_unit="month", auto_send=False)
        with freeze_time("2026-12-01 08:00"):
            order = self._create_subscription(plan, "2026-12-01")
            other = self._create_subscription(plan, "2026-12-01")
            self._run_billing()
        with freeze_time("2027-01-01 08:00"):
            self._run_billing()
        references = set(order.recurring_invoice_ids.mapped("payment_reference"))
        self.assertEqual(len(order.recurring_invoice_ids), 2)
        self.assertEqual(references, {order.recurring_payment_reference})
        self.assertTrue(check_structured(order.recurring_payment_reference), order.recurring_payment_reference)
        self.assertNotIn(order.recurring_payment_reference, other.recurring_invoice_ids.mapped("payment_reference"))
        # never one that Odoo gives an invoice from its id
        self.assertNotIn(order.recurring_payment_reference,
                         [move._get_invoice_reference_be_invoice() for move in order.recurring_invoice_ids])
        # and the UBL's payment id is that reference
        _xml, tree = self._ubl(order.recurring_invoice_ids[:1])
        self.assertEqual(tree.findtext("cac:PaymentMeans/cbc:PaymentID", namespaces=NS),
                         order.recurring_payment_reference)
