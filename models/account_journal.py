from odoo import fields, models

from ..engine import sepa

# The code of the add-on's inbound payment method.  Its own, not 'sepa_direct_debit': OCA's
# account_banking_sepa_direct_debit creates an inbound method with that code, and Odoo allows one
# method per code and direction.
SDD_CODE = "sale_recurring_sdd"


class AccountJournal(models.Model):
    _inherit = "account.journal"

    sepa_pain_version = fields.Selection(
        sepa.VERSION_SELECTION, string="SEPA Direct Debit Version",
        default=sepa.V08,
        help="pain.008.001.08 is what the EPC rulebooks require since 2024; pick .02 only for a bank that "
             "still wants it.")


    def _default_inbound_payment_methods(self):
        """Bank journals made after the add-on can collect by SEPA direct debit too."""
        methods = super()._default_inbound_payment_methods()
        if self.type == "bank":
            methods |= self.env.ref("sale_weekly_subscription.account_payment_method_sepa_direct_debit",
                                    raise_if_not_found=False) or methods.browse()
        return methods


class AccountPaymentMethod(models.Model):
    _inherit = "account.payment.method"

    def _get_payment_method_information(self):
        res = super()._get_payment_method_information()
        res[SDD_CODE] = {"mode": "multi", "type": ("bank",), "currency_ids": None}
        return res
