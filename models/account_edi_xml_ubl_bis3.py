from odoo import models

# UBL 2.1 cac:PaymentMandate, in the schema's order: the mandate reference (BT-89), then the debited
# account (BT-91).  Odoo's PaymentMeans template stops at PayeeFinancialAccount.
PAYMENT_MANDATE = {
    "cbc:ID": {},
    "cac:PayerFinancialAccount": {"cbc:ID": {}},
}


class AccountEdiXmlUblBis3(models.AbstractModel):
    """Peppol BIS Billing 3.0 of a subscription invoice: the period it bills, the direct debit that
    pays it, and, for a pause credit note, the invoice it corrects."""

    _inherit = "account.edi.xml.ubl_bis3"

    def _recurring_mandate(self, invoice):
        """The mandate that collects ``invoice``, when it is a customer invoice paid by direct debit."""
        return invoice._sepa_debit_mandate().sudo()

    def _get_document_template(self, vals):
        template = super()._get_document_template(vals)
        if vals.get("document_type") == "invoice" and self._recurring_mandate(vals["invoice"]):
            template = {**template, "cac:PaymentMeans": {**template["cac:PaymentMeans"],
                                                          "cac:PaymentMandate": PAYMENT_MANDATE}}
        return template

    def _add_invoice_header_nodes(self, document_node, vals):
        result = super()._add_invoice_header_nodes(document_node, vals)
        invoice = vals["invoice"]
        # BG-14: the billed period, from the subscription invoice's own period fields
        if invoice.recurring_period_start and invoice.recurring_period_end:
            document_node["cac:InvoicePeriod"] = {
                "cbc:StartDate": {"_text": invoice.recurring_period_start},
                "cbc:EndDate": {"_text": invoice.recurring_period_end},
            }
        # BG-3: a pause credit note names the invoice it gives days back on
        origin = invoice.reversed_entry_id
        if invoice.move_type == "out_refund" and invoice.recurring_order_id and origin and not document_node.get(
                "cac:BillingReference"):
            document_node["cac:BillingReference"] = {
                "cac:InvoiceDocumentReference": {
                    "cbc:ID": {"_text": origin.name},
                    "cbc:IssueDate": {"_text": origin.invoice_date},
                },
            }
        return result

    def _add_invoice_payment_means_nodes(self, document_node, vals):
        result = super()._add_invoice_payment_means_nodes(document_node, vals)
        invoice = vals["invoice"]
        mandate = self._recurring_mandate(invoice)
        if not mandate:
            return result
        # UNCL4461 code 59, SEPA direct debit: the customer is debited, not asked to transfer
        # (PEPPOL-EN16931-R061: with the mandate reference).  No payee account: nothing to pay to.
        document_node["cac:PaymentMeans"] = {
            "cbc:PaymentMeansCode": {"_text": 59, "name": "SEPA direct debit"},
            "cbc:PaymentID": {"_text": invoice.payment_reference or invoice.name},
            "cac:PaymentMandate": {
                "cbc:ID": {"_text": mandate.name},
                "cac:PayerFinancialAccount": {"cbc:ID": {"_text": mandate.iban}},
            },
        }
        return result

    def _get_party_node(self, vals):
        party_node = super()._get_party_node(vals)
        invoice = vals.get("invoice")
        if vals.get("role") != "supplier" or not invoice or not self._recurring_mandate(invoice):
            return party_node
        # BT-90, the bank-assigned creditor identifier: a seller identification of scheme SEPA
        identifier = invoice.company_id.recurring_sepa_creditor_identifier
        if identifier:
            known = party_node.get("cac:PartyIdentification")
            known = [node for node in ([known] if isinstance(known, dict) else known or []) if node]
            party_node["cac:PartyIdentification"] = [*known, {"cbc:ID": {"_text": identifier, "schemeID": "SEPA"}}]
        return party_node
