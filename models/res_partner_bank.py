from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.res_bank import sanitize_account_number

from ..engine import sepa


class ResPartnerBank(models.Model):
    _inherit = "res.partner.bank"

    recurring_mandate_ids = fields.One2many(
        "sale.recurring.mandate", "bank_account_id", string="Subscription Mandates",
        groups="account.group_account_invoice",
        help="The subscriptions' direct-debit mandates that collect from this account.")

    @api.depends_context("uid")
    def _compute_display_name(self):
        """An account a mandate collects from is named by its last 4 digits for users outside
        invoicing: Odoo reads a many-to-one's name as superuser, so the rule alone would not hide it."""
        super()._compute_display_name()
        if self.env.user.has_group("account.group_account_invoice"):
            return
        for account in self.sudo().filtered("recurring_mandate_ids"):
            number = account.sanitized_acc_number or ""
            account.with_env(self.env).display_name = f"{number[:2]}** **** **** {number[-4:]}"

    def _recurring_set_bic(self, bic):
        """Give these accounts the bank with ``bic`` (made when Odoo has none with it yet)."""
        bic = (bic or "").replace(" ", "").upper()
        if not bic:
            return
        for account in self.sudo().filtered(lambda account: not same_bic(account.bank_id.bic, bic)):
            account.bank_id = self._recurring_bank(bic, account.sanitized_acc_number)

    @api.model
    def _recurring_bank(self, bic, iban=None):
        banks = self.env["res.bank"].sudo()
        return banks.search([("bic", "=", bic)], order="active desc, id", limit=1) or banks.create({
            "name": (iban and sepa.bank_name_of_iban(iban)) or bic, "bic": bic,
            "country": self.env["res.country"].search([("code", "=", bic[4:6])], limit=1).id,
        })

    @api.constrains("bank_id", "acc_number", "partner_id")
    def _check_recurring_mandates(self):
        """A mandate's account stays a valid SEPA account of its debtor, with a BIC of its country."""
        self.sudo().recurring_mandate_ids._check_bank_account()

    def write(self, vals):
        if {"acc_number", "sanitized_acc_number", "partner_id"} & set(vals):
            for account in self.sudo().filtered("recurring_mandate_ids"):
                number = vals.get("acc_number", vals.get("sanitized_acc_number", account.acc_number))
                partner = vals.get("partner_id", account.partner_id.id)
                if sanitize_account_number(number) != account.sanitized_acc_number or partner != account.partner_id.id:
                    raise ValidationError(self.env._(
                        "Bank account %(account)s: the fields 'Account Number' and 'Account Holder' cannot change, "
                        "because direct-debit mandate %(mandate)s collects from it. Add the customer's new "
                        "account and choose it on the mandate instead: the bank is then told of the amendment.",
                        account=account.display_name, mandate=", ".join(account.recurring_mandate_ids.mapped("name"))))
        return super().write(vals)



def same_bic(one, other):
    """Whether two BICs name the same bank office: an 8-character BIC is its 11-character form with XXX."""
    def full(bic):
        bic = (bic or "").replace(" ", "").upper()
        return f"{bic}XXX" if len(bic) == 8 else bic
    return full(one) == full(other)
