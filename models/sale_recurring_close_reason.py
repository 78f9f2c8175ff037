from odoo import fields, models


class SaleRecurringCloseReason(models.Model):
    _name = "sale.recurring.close.reason"
    _description = "Subscription Close Reason"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    is_churn = fields.Boolean(
        string="Counts as Churn",
        default=True,
        help="Closing with this reason counts as lost revenue in the churn reports. "
             "Untick it for technical closes such as a plan migration or a duplicate.",
    )
    portal_ok = fields.Boolean(
        string="Offered on the Portal", default=True,
        help="Subscribers can pick this reason when they end their subscription on the portal. "
             "Untick it for reasons only the company decides, such as unpaid invoices.")
