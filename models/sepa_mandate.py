from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date

from ..engine import sepa

EXPIRY_MONTHS = 36


class SaleRecurringMandate(models.Model):
    """A SEPA direct-debit mandate: the debtor's authorisation to collect from an account."""

    _name = "sale.recurring.mandate"
    _description = "SEPA Direct Debit Mandate"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "signed_on desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Mandate Reference", required=True, copy=False, tracking=True,
        default=lambda self: self.env["ir.sequence"].next_by_code("sale.recurring.mandate") or "/",
        help="Unique mandate reference (UMR): at most 35 characters of the SEPA set, given to the "
             "debtor and sent with every collection.")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    partner_id = fields.Many2one(
        "res.partner", string="Debtor", required=True, index=True, tracking=True, check_company=True,
        help="The customer (commercial entity) whose account is debited.")
    commercial_partner_id = fields.Many2one(related="partner_id.commercial_partner_id", string="Debtor Company")
    bank_account_id = fields.Many2one(
        "res.partner.bank", tracking=True, index=True, ondelete="restrict",
        check_company=True, groups="account.group_account_invoice",
        domain="[('partner_id', '=', commercial_partner_id)]",
        help="The debtor's bank account, one of the customer's bank accounts (Contacts, Invoicing tab): "
             "Odoo keeps its IBAN, its bank (BIC) and its holder. Choosing another account on an active "
             "mandate is an amendment: the next collection tells the bank the original account.")
    iban = fields.Char(
        string="IBAN", compute="_compute_account", search="_search_iban",
        groups="account.group_account_invoice",
        help="The IBAN of the bank account, without spaces. Given one, the mandate takes the customer's bank "
             "account with that IBAN, or makes it.")
    iban_masked = fields.Char(string="Account", compute="_compute_iban_masked",
                              help="The debtor's IBAN with all but its last 4 digits hidden.")
    bic = fields.Char(
        string="BIC", compute="_compute_account", inverse="_inverse_bic",
        help="The BIC of the bank account's bank; filled in from the IBAN when it is known.")
    signed_on = fields.Date(string="Signature Date", required=True, tracking=True,
                            default=lambda self: self.env.company._recurring_today())
    scheme = fields.Selection(
        sepa.SCHEME_SELECTION, required=True, default="CORE", tracking=True,
        help="CORE: any debtor, who may ask a refund for 8 weeks. B2B: businesses only, no refund; "
             "the debtor registers the mandate with their bank.")
    mandate_type = fields.Selection(
        [("recurrent", "Recurrent"), ("oneoff", "One-off")], string="Type", required=True,
        default="recurrent", tracking=True,
        help="Recurrent: collects invoice after invoice (FRST/RCUR). One-off: a single collection (OOFF); "
             "the mandate is closed once it is sent to the bank.")
    state = fields.Selection(
        [("draft", "Draft"), ("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired"),
         ("closed", "Closed")], required=True, default="draft", tracking=True, copy=False, index=True,
        help="Only active mandates are collected. Revoked: the debtor or the bank withdrew it (MD01 and "
             "AC04 returns revoke it). Expired: no collection for 36 months. Closed: ended by you, or a "
             "one-off mandate used.")
    last_collection_date = fields.Date(
        readonly=True, copy=False, tracking=True,
        help="Collection date of the last run sent to the bank with this mandate.")
    is_first = fields.Boolean(
        string="Next Collection Is the First", compute="_compute_is_first",
        help="No collection sent yet: with the company's 'FRST for first collections' setting, the "
             "next one is sent as FRST, later ones as RCUR.")
    original_bank_account_id = fields.Many2one(
        "res.partner.bank", readonly=True, copy=False, ondelete="restrict",
        groups="account.group_account_invoice",
        help="The account before an amendment, sent with the next collection (AmdmntInd).")
    original_iban = fields.Char(
        compute="_compute_account", groups="account.group_account_invoice",
        help="The IBAN of the original bank account.")
    original_bank_changed = fields.Boolean(
        readonly=True, copy=False,
        help="The amendment moved the account to another bank: the next collection says SMNDA.")
    # the signed form shows the debtor's full IBAN: invoicing users only, as the IBAN field
    scan = fields.Binary(string="Signed Mandate", attachment=True, copy=False, groups="account.group_account_invoice",
                         help="The scan of the mandate signed by the debtor.")
    scan_name = fields.Char(groups="account.group_account_invoice")
    address_warning = fields.Char(
        compute="_compute_address_warning",
        help="Set when the debtor's bank is in a SEPA country outside the EEA and the debtor has no town "
             "or country: the rulebook asks an address there, and the direct-debit run refuses the "
             "collection until it is filled in.")
    order_ids = fields.One2many("sale.order", "recurring_mandate_id", string="Subscriptions")
    invoice_ids = fields.One2many("account.move", "sepa_mandate_id", string="Invoices")

    _name_company_unique = models.Constraint(
        "UNIQUE(name, company_id)", "The mandate reference must be unique per company.")

    @api.depends("bank_account_id.sanitized_acc_number", "bank_account_id.bank_id.bic",
                 "original_bank_account_id.sanitized_acc_number")
    def _compute_account(self):
        for mandate, sudo in zip(self, self.sudo(), strict=True):
            mandate.iban = sudo.bank_account_id.sanitized_acc_number or False
            mandate.bic = sudo.bank_account_id.bank_id.bic or False
            mandate.original_iban = sudo.original_bank_account_id.sanitized_acc_number or False

    def _inverse_bic(self):
        for mandate in self.sudo().filtered("bank_account_id"):
            mandate.bank_account_id._recurring_set_bic(mandate.bic)

    def _search_iban(self, operator, value):
        def clean(iban):
            return iban.replace(" ", "").upper() if isinstance(iban, str) else iban
        value = clean(value) if isinstance(value, str) or not value else [clean(iban) for iban in value]
        return [("bank_account_id.sanitized_acc_number", operator, value)]

    @api.model
    def _recurring_bank_account(self, partner, iban, bic=None, mandate_name=""):
        """The debtor's bank account with ``iban``: the one the customer has (archived ones too), or a
        new one.  The IBAN is checked first, so that the error names the mandate and the field."""
        iban = self._recurring_checked_iban(iban, mandate_name)
        partner = partner.commercial_partner_id
        accounts = self.env["res.partner.bank"].sudo().with_context(active_test=False)
        account = accounts.search([("partner_id", "=", partner.id), ("sanitized_acc_number", "=", iban)],
                                  order="active desc, id", limit=1)
        if not account:
            account = accounts.create({"partner_id": partner.id, "acc_number": iban})
        account._recurring_set_bic(sepa.bic_of_iban(iban) or bic)
        return account.sudo(False).with_env(self.env)

    @api.model
    def _recurring_checked_iban(self, iban, mandate_name):
        try:
            iban = sepa.normalise_iban(iban)
        except ValueError as error:
            raise ValidationError(self.env._(
                "Mandate %(mandate)s: the field 'IBAN' (%(iban)s) is not a valid IBAN: %(error)s",
                mandate=mandate_name or "", iban=iban, error=str(error))) from None
        if not sepa.in_sepa_zone(iban):
            raise ValidationError(self.env._(
                "Mandate %(mandate)s: the field 'IBAN' (%(iban)s) is of an account in %(country)s, outside the "
                "SEPA zone: it cannot be collected by SEPA direct debit.",
                mandate=mandate_name or "", iban=iban, country=iban[:2]))
        return iban

    @api.depends("iban")
    def _compute_iban_masked(self):
        for mandate in self:
            iban = mandate.sudo().iban or ""
            mandate.iban_masked = f"{iban[:2]}** **** **** {iban[-4:]}" if iban else False

    @api.depends("iban", "partner_id.commercial_partner_id.city", "partner_id.commercial_partner_id.country_id")
    def _compute_address_warning(self):
        for mandate in self:
            iban = mandate.sudo().iban or ""
            debtor = mandate.partner_id.commercial_partner_id
            if iban and sepa.address_required(iban) and not (debtor.city and debtor.country_id):
                mandate.address_warning = self.env._(
                    "The bank of this account is in %(country)s, outside the EEA: the customer %(partner)s needs "
                    "a town and a country (field 'City' and 'Country') before it can be collected.",
                    country=iban[:2], partner=debtor.display_name)
            else:
                mandate.address_warning = False

    @api.depends("last_collection_date")
    def _compute_is_first(self):
        for mandate in self:
            mandate.is_first = not mandate.last_collection_date

    def _sequence_type(self):
        self.ensure_one()
        if self.mandate_type == "oneoff":
            return "OOFF"
        if self.is_first and self.company_id.sepa_sequence_policy == "frst":
            return "FRST"
        return "RCUR"

    # -- checks --------------------------------------------------------------

    @api.onchange("partner_id")
    def _onchange_partner_bank_account(self):
        """The customer's account, when they have exactly one."""
        partner = self.partner_id.commercial_partner_id
        if partner and self.bank_account_id.partner_id != partner:
            accounts = self.env["res.partner.bank"].search([("partner_id", "=", partner.id)], limit=2)
            self.bank_account_id = accounts if len(accounts) == 1 else False

    @api.constrains("name", "signed_on")
    def _check_reference_and_date(self):
        for mandate in self:
            problems = []
            sepa.check_identifier(mandate.name, mandate.name, "Mandate Reference", problems)
            if problems:
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'Mandate Reference' must have 1 to 35 characters among "
                    "letters, digits and / - ? : ( ) . , ' + and spaces, and neither start nor end with '/' "
                    "nor hold '//'.", mandate=mandate.name))
            if mandate.signed_on and mandate.signed_on > mandate.company_id._recurring_today():
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'Signature Date' (%(day)s) cannot be in the future.",
                    mandate=mandate.name, day=format_date(self.env, mandate.signed_on)))

    @api.constrains("bank_account_id", "partner_id")
    def _check_bank_account(self):
        for mandate in self.sudo():
            account = mandate.bank_account_id
            if not account:
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'Bank Account' is empty.", mandate=mandate.name))
            if account.partner_id != mandate.partner_id.commercial_partner_id:
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'Bank Account' (%(account)s) belongs to %(holder)s, not to the "
                    "debtor %(partner)s.", mandate=mandate.name, account=account.display_name,
                    holder=account.partner_id.display_name, partner=mandate.partner_id.display_name))
            self._recurring_checked_iban(account.acc_number, mandate.name)
            bic = account.bank_id.bic
            if not bic:
                continue
            problems = []
            sepa.check_bic(bic, mandate.name, "BIC", problems)
            if problems:
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'BIC' (%(bic)s) is not a valid BIC.",
                    mandate=mandate.name, bic=bic))
            iban = account.sanitized_acc_number
            if bic[4:6] != iban[:2]:
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'BIC' (%(bic)s) is of a bank in %(bic_country)s, but the IBAN "
                    "is of %(iban_country)s.", mandate=mandate.name, bic=bic, bic_country=bic[4:6],
                    iban_country=iban[:2]))

    # -- create / write: amendments -----------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        """``iban`` (and ``bic``) may be given instead of ``bank_account_id``: the customer's account
        with that IBAN is taken, or made."""
        vals_list = [self._recurring_account_vals(dict(vals)) for vals in vals_list]
        return super().create(vals_list)

    def write(self, vals):
        vals = self._recurring_account_vals(dict(vals), self)
        if vals.get("bank_account_id"):
            new = self.env["res.partner.bank"].sudo().browse(vals["bank_account_id"])
            for mandate in self.sudo().filtered(lambda m: m.state == "active" and m.bank_account_id != new):
                old = mandate.bank_account_id
                # the first amendment since the last collection keeps the original account
                if not mandate.original_bank_account_id:
                    old_iban, new_iban = old.sanitized_acc_number or "", new.sanitized_acc_number or ""
                    super(SaleRecurringMandate, mandate).write({
                        "original_bank_account_id": old.id,
                        "original_bank_changed": (old.bank_id.bic or sepa.bic_of_iban(old_iban))
                        != (new.bank_id.bic or sepa.bic_of_iban(new_iban)) or old_iban[:2] != new_iban[:2],
                    })
                mandate.message_post(body=self.env._(
                    "Amendment: the debtor's account changed; the next collection tells the bank the "
                    "original account."))
        return super().write(vals)

    @api.model
    def _recurring_account_vals(self, vals, mandates=None):
        """``vals`` with an ``iban`` (and ``bic``) turned into the ``bank_account_id`` they name."""
        if not vals.get("iban"):
            if vals.get("bic") and "bank_account_id" in vals and vals["bank_account_id"]:
                self.env["res.partner.bank"].sudo().browse(vals["bank_account_id"])._recurring_set_bic(
                    vals.pop("bic"))
            return vals
        iban, bic = vals.pop("iban"), vals.pop("bic", None)
        partners = self.env["res.partner"].browse(vals["partner_id"]) if vals.get("partner_id") else (
            mandates.partner_id if mandates else self.env["res.partner"])
        name = vals.get("name") or (mandates.name if mandates and len(mandates) == 1 else "")
        if len(partners.commercial_partner_id) != 1:
            raise ValidationError(self.env._(
                "Mandate %(mandate)s: the field 'Debtor' is needed to find the bank account of IBAN %(iban)s.",
                mandate=name, iban=iban))
        vals["bank_account_id"] = self._recurring_bank_account(partners, iban, bic, name).id
        return vals

    # -- life cycle ----------------------------------------------------------

    def action_validate(self):
        for mandate in self:
            if mandate.state != "draft":
                raise UserError(self.env._("Mandate %(mandate)s is not a draft.", mandate=mandate.name))
        self.state = "active"

    def action_revoke(self, reason=None):
        self.filtered(lambda m: m.state in ("draft", "active")).state = "revoked"
        if reason:
            for mandate in self:
                mandate.message_post(body=reason)

    def action_close(self):
        self.filtered(lambda m: m.state in ("draft", "active")).state = "closed"

    def _mark_collected(self, collection_date):
        """A run with this mandate went to the bank: first collections become recurring and the
        amendment has been told."""
        mandates = self.sudo()
        mandates.filtered(lambda m: not m.last_collection_date or m.last_collection_date < collection_date).write(
            {"last_collection_date": collection_date})
        mandates.filtered(lambda m: m.original_bank_account_id or m.original_bank_changed).write(
            {"original_bank_account_id": False, "original_bank_changed": False})
        self.filtered(lambda m: m.mandate_type == "oneoff").state = "closed"

    @api.model
    def _cron_expire(self):
        """Mandates with no collection for 36 months expire (SEPA rulebook)."""
        stale = self.browse()
        # each company's own today (its time zone), archived companies included
        for [company] in self._read_group([("state", "=", "active")], ["company_id"]):
            limit = company._recurring_today() - relativedelta(months=EXPIRY_MONTHS)
            stale |= self.search([("company_id", "=", company.id), ("state", "=", "active"), "|",
                                  ("last_collection_date", "<", limit),
                                  "&", ("last_collection_date", "=", False), ("signed_on", "<", limit)])
        stale.state = "expired"
        for mandate in stale:
            mandate.message_post(body=self.env._(
                "Expired: no collection for %(months)s months.", months=EXPIRY_MONTHS))
        return len(stale)
