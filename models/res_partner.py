from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    sepa_mandate_ids = fields.One2many("sale.recurring.mandate", "partner_id", string="Direct Debit Mandates")
