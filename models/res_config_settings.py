from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    recurring_invoice_date_policy = fields.Selection(
        related="company_id.recurring_invoice_date_policy", readonly=False)
    recurring_sepa_creditor_identifier = fields.Char(
        related="company_id.recurring_sepa_creditor_identifier", readonly=False)
    sepa_creditor_bank_id = fields.Many2one(related="company_id.sepa_creditor_bank_id", readonly=False)
    sepa_scheme = fields.Selection(related="company_id.sepa_scheme", readonly=False)
    sepa_lead_days = fields.Integer(related="company_id.sepa_lead_days", readonly=False)
    sepa_batch_booking = fields.Boolean(related="company_id.sepa_batch_booking", readonly=False)
    sepa_sequence_policy = fields.Selection(related="company_id.sepa_sequence_policy", readonly=False)
    sepa_address_form = fields.Selection(related="company_id.sepa_address_form", readonly=False)
    sepa_prenotification_days = fields.Integer(related="company_id.sepa_prenotification_days", readonly=False)
    sepa_grouping = fields.Selection(related="company_id.sepa_grouping", readonly=False)
    recurring_forecast_months = fields.Integer(related="company_id.recurring_forecast_months", readonly=False)
    recurring_billing_hour = fields.Integer(related="company_id.recurring_billing_hour", readonly=False)
    recurring_default_plan_id = fields.Many2one(related="company_id.recurring_default_plan_id", readonly=False)
    recurring_error_user_id = fields.Many2one(related="company_id.recurring_error_user_id", readonly=False)
    recurring_catch_up_limit = fields.Integer(related="company_id.recurring_catch_up_limit", readonly=False)
    recurring_stable_payment_reference = fields.Boolean(
        related="company_id.recurring_stable_payment_reference", readonly=False)
    sepa_represent_days = fields.Integer(related="company_id.sepa_represent_days", readonly=False)
    sepa_represent_max = fields.Integer(related="company_id.sepa_represent_max", readonly=False)
    sepa_charges_account_id = fields.Many2one(related="company_id.sepa_charges_account_id", readonly=False)

    def action_recurring_run_billing_now(self):
        return self.env["sale.order"].action_recurring_run_billing_now()
