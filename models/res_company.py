from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    recurring_invoice_date_policy = fields.Selection(
        [("scheduled", "Scheduled send day"), ("run", "Date of the run")],
        string="Subscription Invoice Date", default="scheduled", required=True,
        help="Scheduled send day: an invoice made late (the run was down) keeps the date it was "
             "due.\nDate of the run: it is dated on the day it is made.")
