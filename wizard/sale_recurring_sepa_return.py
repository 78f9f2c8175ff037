
from odoo import fields, models


class SaleRecurringSepaReturn(models.TransientModel):
    """The bank returned some transactions (R-transactions)."""

    _name = "sale.recurring.sepa.return"
    _description = "SEPA Direct Debit Return"

    line_ids = fields.Many2many("sale.recurring.sepa.line", string="Returned Invoices", required=True)
    reason_id = fields.Many2one(
        "sale.recurring.return.reason", required=True,
        help="The ISO reason code the bank gave; what it does (reopen the invoice, revoke the mandate) is set "
             "on the reason.")
    return_date = fields.Date(required=True, default=lambda self: self.env.company._recurring_today())

    def action_return(self):
        self.ensure_one()
        self.line_ids._return(self.reason_id, self.return_date)
        return True
