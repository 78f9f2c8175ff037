from odoo import api, fields, models


class SaleRecurringReturnReason(models.Model):
    """An ISO 20022 reason code a bank gives for a rejected or returned direct debit, and what
    the add-on does about it."""

    _name = "sale.recurring.return.reason"
    _description = "Direct Debit Return Reason"
    _order = "code"
    _rec_names_search = ["code", "name"]

    code = fields.Char(required=True, size=4, help="The ISO 20022 reason code, as the bank's file gives it.")
    name = fields.Char(string="Description", required=True, translate=True)
    action = fields.Selection(
        [("reopen", "Reopen the invoice"), ("revoke", "Reopen the invoice and revoke the mandate")],
        required=True, default="reopen",
        help="What a return with this reason does. The invoice is always open again and the money booked "
             "back. Revoke: the mandate can no longer be collected (no mandate, account closed).")
    note = fields.Text(
        string="How to Act", translate=True,
        help="What the accountant does next, shown with the return: ask for another account, collect again, ...")
    active = fields.Boolean(default=True)

    _code_unique = models.Constraint("UNIQUE(code)", "A return reason code exists only once.")

    @api.depends("code", "name")
    def _compute_display_name(self):
        for reason in self:
            reason.display_name = f"{reason.code} - {reason.name}" if reason.code else reason.name

    def _apply_to_lines(self, lines):
        """What this reason does to the mandates of the returned ``lines`` (sale.recurring.sepa.line),
        after the money is booked back.  Override to add an action of your own."""
        self.ensure_one()
        if self.action == "revoke":
            lines.mandate_id.action_revoke(self.env._(
                "Revoked: the bank returned a collection with %(reason)s.", reason=self.display_name))
