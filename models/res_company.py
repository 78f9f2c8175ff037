import logging
from datetime import datetime, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..engine import sepa, target2

_logger = logging.getLogger(__name__)

MODULE = "sale_weekly_subscription"
# the company field of OCA's account_banking_sepa_direct_debit (bank-payment)
OCA_CREDITOR_FIELD = "sepa_creditor_identifier"


class ResCompany(models.Model):
    _inherit = "res.company"

    recurring_invoice_date_policy = fields.Selection(
        [("scheduled", "Scheduled send day"), ("run", "Date of the run")],
        string="Subscription Invoice Date", default="scheduled", required=True,
        help="Scheduled send day: an invoice made late (the run was down) keeps the date it was "
             "due.\nDate of the run: it is dated on the day it is made.")

    recurring_billing_hour = fields.Integer(
        string="Billing Hour", default=0,
        help="The billing run invoices a send day's subscriptions from this hour (0-23, company time "
             "zone) on, so that invoices go out in the morning rather than at midnight.")
    recurring_catch_up_limit = fields.Integer(
        string="Catch-up Limit", default=3,
        help="The most invoices the billing runs make for one subscription in one day. A subscription "
             "further behind (a start date years ago, a run that was down) catches up over the next days "
             "and is flagged, unless the catch-up is approved: at confirmation, or with 'Approve Catch-up' "
             "on the subscription.")
    recurring_stable_payment_reference = fields.Boolean(
        string="One Payment Reference per Subscription",
        help="Every invoice of a subscription carries the same payment reference, made from the subscription in "
             "the sales journal's communication standard (with l10n_be, a structured communication "
             "+++123/4567/89012+++). For rent or fees paid by standing order: the customer's bank sends the same "
             "reference every time. Off: each invoice has its own, as Odoo makes it.")
    recurring_error_user_id = fields.Many2one(
        "res.users", string="Billing Errors To", domain="[('share', '=', False)]",
        help="Who gets the to-do when the billing run cannot invoice a subscription that has no "
             "salesperson. Empty: a subscription administrator of the company.")
    recurring_default_plan_id = fields.Many2one(
        "sale.recurring.plan", string="Default Plan",
        help="The plan a new subscription starts with, from the Subscriptions menu.")
    recurring_forecast_months = fields.Integer(
        string="Forecast Months", default=12,
        help="How many calendar months the expected-revenue report looks ahead, from this month.")

    # -- SEPA direct debit ----------------------------------------------------
    recurring_sepa_creditor_identifier = fields.Char(
        string="Creditor Identifier",
        help="The identifier the company's bank gave it for SEPA direct debits, e.g. BE68ZZZ0123456789. "
             "With OCA's SEPA Direct Debit installed, this is the same value as its 'SEPA Creditor "
             "Identifier': changing one changes the other.")
    sepa_creditor_bank_id = fields.Many2one(
        "res.partner.bank", string="Creditor Bank Account",
        domain="[('partner_id', '=', partner_id)]",
        help="The company's account the collections are credited to (an IBAN with its BIC).")
    sepa_scheme = fields.Selection(
        sepa.SCHEME_SELECTION, string="Default Scheme", default="CORE", required=True,
        help="Scheme of new mandates: CORE for consumers, B2B for businesses.")
    sepa_lead_days = fields.Integer(
        string="Lead Time (Business Days)", default=1,
        help="TARGET2 business days between sending the file and the collection date: 1 (D-1) under "
             "the rulebooks since 2016, more if the bank asks.")
    sepa_batch_booking = fields.Boolean(
        string="Batch Booking", default=True,
        help="The bank books each payment block as one credit instead of one per transaction.")
    sepa_sequence_policy = fields.Selection(
        [("rcur", "Always RCUR"), ("frst", "FRST for first collections")], string="Sequence Types",
        default="rcur", required=True,
        help="Always RCUR: allowed since the 2016 rulebook. FRST for first collections: the first "
             "collection of each mandate is sent as FRST.")
    sepa_address_form = fields.Selection(
        [("structured", "Structured"), ("hybrid", "Hybrid")], string="Creditor Address", default="structured",
        required=True,
        help="Structured: street, number, postcode, town and country in their own fields. Hybrid: town "
             "and country structured, street and number on an address line.")
    sepa_prenotification_days = fields.Integer(
        string="Pre-notification (Days)", default=14,
        help="Days between the invoice telling the debtor the amount and the collection date. 14 by "
             "default; shorter when agreed with the debtor.")
    sepa_charges_account_id = fields.Many2one(
        "account.account", string="Return Charges Account", check_company=True,
        help="Where the bank's charges on a returned direct debit are booked (an expense account), when a bank "
             "file is imported.")
    sepa_represent_days = fields.Integer(
        string="Re-present After (Business Days)", default=5,
        help="After a temporary return (insufficient funds, no reason given), the invoice is offered again for "
             "a collection at least this many TARGET2 business days after the return.")
    sepa_represent_max = fields.Integer(
        string="Re-present At Most", default=2,
        help="How many times an invoice is re-presented after temporary returns; after that it is held from "
             "direct debit and the responsible gets an activity.")
    sepa_grouping = fields.Selection(
        [("invoice", "One per invoice"), ("mandate", "One per mandate and date")], string="Transactions",
        default="invoice", required=True,
        help="One per invoice: each invoice is its own collection. One per mandate and date: a debtor's "
             "invoices due together are collected at once; the remittance lists the invoice numbers.")

    @api.constrains("recurring_billing_hour", "recurring_forecast_months", "sepa_lead_days",
                    "sepa_prenotification_days", "recurring_catch_up_limit", "sepa_represent_days",
                    "sepa_represent_max")
    def _check_recurring_numbers(self):
        for company in self:
            if company.recurring_catch_up_limit < 1:
                raise ValidationError(self.env._(
                    "Company %(company)s: the field 'Catch-up Limit' must be at least 1.", company=company.name))
            if not 0 <= company.recurring_billing_hour <= 23:
                raise ValidationError(self.env._(
                    "Company %(company)s: the field 'Billing Hour' must be between 0 and 23.", company=company.name))
            if not 1 <= company.recurring_forecast_months <= 60:
                raise ValidationError(self.env._(
                    "Company %(company)s: the field 'Forecast Months' must be between 1 and 60.",
                    company=company.name))
            if company.sepa_lead_days < target2.MIN_LEAD_DAYS:
                raise ValidationError(self.env._(
                    "Company %(company)s: the field 'Lead Time (Business Days)' must be at least %(min)s: a "
                    "collection is at least one TARGET2 business day after the file is made.",
                    company=company.name, min=target2.MIN_LEAD_DAYS))
            if company.sepa_represent_days < 1 or company.sepa_represent_max < 0:
                raise ValidationError(self.env._(
                    "Company %(company)s: the field 'Re-present After (Business Days)' must be at least 1 and "
                    "'Re-present At Most' cannot be negative.", company=company.name))
            if company.sepa_prenotification_days < 0:
                raise ValidationError(self.env._(
                    "Company %(company)s: the field 'Pre-notification (Days)' cannot be negative.",
                    company=company.name))

    # -- one creditor identifier, also next to OCA's account_banking_sepa_direct_debit --------
    def init(self):
        """Called whenever a module that extends res.company is installed or updated, so also when
        OCA's add-on arrives after this one, or this one after it: the two columns get one value.
        Where both were already filled in differently, OCA's value is kept apart and logged."""
        super().init()
        if not self._recurring_oca_creditor_field():
            return
        self.env.cr.execute(SQL(
            """UPDATE res_company
                  SET recurring_sepa_creditor_identifier = COALESCE(
                          NULLIF(recurring_sepa_creditor_identifier, ''), sepa_creditor_identifier),
                      sepa_creditor_identifier = COALESCE(
                          NULLIF(sepa_creditor_identifier, ''), recurring_sepa_creditor_identifier)
                WHERE recurring_sepa_creditor_identifier IS DISTINCT FROM sepa_creditor_identifier
            RETURNING id, name, recurring_sepa_creditor_identifier, sepa_creditor_identifier"""))
        for company_id, name, ours, theirs in self.env.cr.fetchall():
            if ours != theirs:
                _logger.warning(
                    "Company %s (id %s) has two SEPA creditor identifiers, %s for subscriptions and %s in "
                    "OCA's SEPA Direct Debit: set the right one in the settings, the other follows.",
                    name, company_id, ours, theirs)

    def _recurring_oca_creditor_field(self):
        """OCA account_banking_sepa_direct_debit's own company field, when that add-on is installed."""
        field = self._fields.get(OCA_CREDITOR_FIELD)
        return field if field is not None and field.store and MODULE not in field._modules else None

    @api.model
    def _recurring_sync_creditor_identifier(self, vals):
        """The values a write or create gives either field, given to both."""
        if not self._recurring_oca_creditor_field():
            return vals
        ours, theirs = "recurring_sepa_creditor_identifier", OCA_CREDITOR_FIELD
        if ours in vals and theirs in vals and (vals[ours] or False) != (vals[theirs] or False):
            raise ValidationError(self.env._(
                "The fields 'Creditor Identifier' (%(ours)s) and OCA's 'SEPA Creditor Identifier' (%(theirs)s) "
                "are one value for the company: give only one of them.", ours=vals[ours], theirs=vals[theirs]))
        if ours in vals:
            return {**vals, theirs: vals[ours]}
        if theirs in vals:
            return {**vals, ours: vals[theirs]}
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._recurring_sync_creditor_identifier(vals) for vals in vals_list]
        if self._recurring_oca_creditor_field():
            for vals in vals_list:  # before OCA's own check, whose message names no cause
                self._recurring_check_creditor_identifier(
                    vals.get("recurring_sepa_creditor_identifier"), vals.get("name", ""))
        return super().create(vals_list)

    def write(self, vals):
        vals = self._recurring_sync_creditor_identifier(vals)
        if self._recurring_oca_creditor_field() and vals.get("recurring_sepa_creditor_identifier"):
            for company in self:
                company._recurring_check_creditor_identifier(vals["recurring_sepa_creditor_identifier"], company.name)
        return super().write(vals)

    @api.constrains("recurring_sepa_creditor_identifier")
    def _check_sepa_creditor_identifier(self):
        for company in self.filtered("recurring_sepa_creditor_identifier"):
            company._recurring_check_creditor_identifier(company.recurring_sepa_creditor_identifier, company.name)

    def _recurring_check_creditor_identifier(self, value, company_name):
        """Refuse a creditor identifier with wrong check digits or shape, saying which."""
        if not value or not sepa.creditor_id_problem(value):
            return
        expected = sepa.expected_check_digits(value)
        if expected:
            raise ValidationError(self.env._(
                "Company %(company)s: the field 'Creditor Identifier' (%(value)s) has wrong check "
                "digits: expected %(expected)s in positions 3 and 4.",
                company=company_name, value=value, expected=expected))
        raise ValidationError(self.env._(
            "Company %(company)s: the field 'Creditor Identifier' (%(value)s) is not a creditor "
            "identifier: a country code, 2 check digits, a business code and the national identifier.",
            company=company_name, value=value))

    # -- the add-on's one clock ------------------------------------------------

    def _recurring_now(self):
        """Now in this company's time zone (``_recurring_tz``).

        Every rule of the add-on that needs "today" reads it from here: what is due, the
        billing run's lock, the terms action, pauses, SEPA dates and mandate expiry.
        """
        return datetime.now(self._recurring_tz())

    def _recurring_tz(self):
        """This company's time zone, as pytz's: its address's; lacking one, the internal user's (the
        scheduler's, an accountant's), else UTC. A portal visitor's own time zone never moves the
        company's clock (a cut-off, a pause's first day): for them the administrator's stands in."""
        company = self[:1] or self.env.company
        user = self.env.user
        tz = company.sudo().partner_id.tz
        if not tz and user.share:
            admin = self.env.ref("base.user_admin", raise_if_not_found=False)
            tz = admin and admin.sudo().tz
        elif not tz:
            tz = user.tz
        return pytz.timezone(tz or "UTC")

    def _recurring_today(self):
        """Today in this company's time zone."""
        return self._recurring_now().date()

    def _recurring_billing_day(self):
        """The day the billing run bills up to: today in the company's time zone, or yesterday
        before the company's billing hour (invoices go out from that hour on)."""
        company = self[:1] or self.env.company
        now = company._recurring_now()
        return now.date() - timedelta(days=1) if now.hour < company.recurring_billing_hour else now.date()
