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
    iban = fields.Char(
        string="IBAN", required=True, tracking=True, groups="account.group_account_invoice",
        help="The debtor's account. Spaces are removed and letters put in capitals. Changing it on "
             "an active mandate is an amendment: the next collection tells the bank the original "
             "account.")
    iban_masked = fields.Char(string="Account", compute="_compute_iban_masked",
                              help="The debtor's IBAN with all but its last 4 digits hidden.")
    bic = fields.Char(
        string="BIC", tracking=True,
        help="The debtor bank's BIC; filled in from the IBAN when it is known.")
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
    original_iban = fields.Char(
        readonly=True, copy=False, groups="account.group_account_invoice",
        help="The account before an amendment, sent with the next collection (AmdmntInd).")
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

    @api.model
    def _normalise(self, vals):
        if vals.get("iban"):
            try:
                vals["iban"] = sepa.normalise_iban(vals["iban"])
            except ValueError as error:
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'IBAN' (%(iban)s) is not a valid IBAN: %(error)s",
                    mandate=vals.get("name") or self.display_name or "", iban=vals["iban"], error=str(error))) from None
            if not sepa.in_sepa_zone(vals["iban"]):
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'IBAN' (%(iban)s) is of an account in %(country)s, outside the "
                    "SEPA zone: it cannot be collected by SEPA direct debit.",
                    mandate=vals.get("name") or self.display_name or "", iban=vals["iban"], country=vals["iban"][:2]))
            # the bank's BIC when schwifty knows the bank: a typed one that contradicts it is replaced
            vals["bic"] = sepa.bic_of_iban(vals["iban"]) or vals.get("bic") or False
        if vals.get("bic"):
            vals["bic"] = vals["bic"].replace(" ", "").upper()
        return vals

    @api.onchange("iban")
    def _onchange_iban(self):
        if self.iban:
            try:
                self.iban = sepa.normalise_iban(self.iban)
            except ValueError:
                return
            known = sepa.bic_of_iban(self.iban)
            if known and self.bic and known != self.bic.replace(" ", "").upper():
                self.bic = known
                return {"warning": {"title": self.env._("BIC replaced"), "message": self.env._(
                    "The IBAN belongs to the bank with BIC %(bic)s: the BIC now says so.", bic=known)}}
            self.bic = known or self.bic

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

    @api.constrains("bic", "iban")
    def _check_bic(self):
        for mandate in self.filtered("bic"):
            problems = []
            sepa.check_bic(mandate.bic, mandate.name, "BIC", problems)
            if problems:
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'BIC' (%(bic)s) is not a valid BIC.",
                    mandate=mandate.name, bic=mandate.bic))
            iban = mandate.sudo().iban or ""
            if iban and mandate.bic[4:6] != iban[:2]:
                raise ValidationError(self.env._(
                    "Mandate %(mandate)s: the field 'BIC' (%(bic)s) is of a bank in %(bic_country)s, but the IBAN "
                    "is of %(iban_country)s.", mandate=mandate.name, bic=mandate.bic, bic_country=mandate.bic[4:6],
                    iban_country=iban[:2]))

    # -- create / write: amendments -----------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([self._normalise(dict(vals)) for vals in vals_list])

    def write(self, vals):
        if vals.get("iban"):
            vals = self._normalise(dict(vals))
            for mandate in self.filtered(lambda m: m.state == "active" and m.sudo().iban != vals["iban"]):
                old = mandate.sudo().iban
                # the first amendment since the last collection keeps the original account
                if not mandate.sudo().original_iban:
                    super(SaleRecurringMandate, mandate).write({
                        "original_iban": old,
                        "original_bank_changed": sepa.bic_of_iban(old) != sepa.bic_of_iban(vals["iban"])
                        or old[:2] != vals["iban"][:2],
                    })
                mandate.message_post(body=self.env._(
                    "Amendment: the debtor's account changed; the next collection tells the bank the "
                    "original account."))
        return super().write(vals)

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
        mandates.filtered(lambda m: m.original_iban or m.original_bank_changed).write(
            {"original_iban": False, "original_bank_changed": False})
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
