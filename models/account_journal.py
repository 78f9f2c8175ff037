from odoo import fields, models

from ..engine import sepa


class AccountJournal(models.Model):
    _inherit = "account.journal"

    sepa_pain_version = fields.Selection(
        [(sepa.V08, "pain.008.001.08"), (sepa.V02, "pain.008.001.02")], string="SEPA Direct Debit Version",
        default=sepa.V08,
        help="pain.008.001.08 is what the EPC rulebooks require since 2024; pick .02 only for a bank that "
             "still wants it.")


class AccountPaymentMethod(models.Model):
    _inherit = "account.payment.method"

    def _get_payment_method_information(self):
        res = super()._get_payment_method_information()
        res["sepa_direct_debit"] = {"mode": "multi", "type": ("bank",), "currency_ids": None}
        return res
