from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    recurring_invoice_date_policy = fields.Selection(
        related="company_id.recurring_invoice_date_policy", readonly=False)
