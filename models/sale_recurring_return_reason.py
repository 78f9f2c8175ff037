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
        [("represent", "Re-present later"), ("revoke", "Revoke the mandate"), ("hold", "Hold and ask the customer"),
         ("reopen", "Reopen the invoice only")],
        required=True, default="reopen",
        help="What a return or reject with this reason does; the invoice is always open again and any money "
             "booked back.\n"
             "Re-present later (temporary: insufficient funds, no reason given): the invoice is offered again "
             "in a run the company's 'Re-present After' business days later, as RCUR, at most 'Re-present At "
             "Most' times; then it is held.\n"
             "Revoke the mandate (the account or the mandate is gone): the mandate can no longer be collected "
             "and the subscription gets an activity to get a new one.\n"
             "Hold and ask the customer (a refund or a dispute): the invoice is not offered again until an "
             "accountant releases it; the responsible gets an activity.\n"
             "Reopen the invoice only: nothing else.")
    definition = fields.Text(
        string="ISO Definition", translate=True,
        help="The definition ISO 20022 gives this code in its ExternalReturnReason1Code list (the External Code "
             "Sets), word for word.")
    note = fields.Text(
        string="How to Act", translate=True,
        help="What the accountant does next, shown with the return: ask for another account, collect again, ...")
    active = fields.Boolean(default=True)

    _code_unique = models.Constraint("UNIQUE(code)", "A return reason code exists only once.")

    @api.depends("code", "name")
    def _compute_display_name(self):
        for reason in self:
            reason.display_name = f"{reason.code} - {reason.name}" if reason.code else reason.name

    def _load_records_create(self, vals_list):
        """A code the add-on ships that a database already has (added from a bank file before it shipped, or by
        an accountant) is adopted by its data record rather than created twice (the code is unique): an upgrade
        that brings new codes never fails on them.  See :meth:`_adopt_shipped_values`."""
        codes = [vals.get("code") for vals in vals_list]
        known = {reason.code: reason for reason in self.with_context(active_test=False).search(
            [("code", "in", [code for code in codes if code])])}
        if not known:
            return super()._load_records_create(vals_list)
        created = iter(super()._load_records_create([vals for vals in vals_list if vals.get("code") not in known]))
        ids = []
        for vals in vals_list:
            reason = known.get(vals.get("code"))
            if reason:
                reason._adopt_shipped_values(vals)
            ids.append(reason.id if reason else next(created).id)
        return self.browse(ids)

    def _adopt_shipped_values(self, vals):
        """Give this reason, which the database had before the add-on shipped its code, what the add-on ships,
        without undoing an accountant's work: the ISO name and definition while it has no definition and its
        name is still the one a bank file's import gave it (it starts with the code), the action and the note
        while it still has the import's default action and no note."""
        self.ensure_one()
        values = {}
        if not self.definition and (self.name or "").startswith(self.code):
            values.update({key: vals[key] for key in ("name", "definition") if key in vals})
        if self.action == "reopen" and not self.note:
            values.update({key: vals[key] for key in ("action", "note") if key in vals})
        if values:
            self.write(values)

    def _apply_to_lines(self, lines):
        """What this reason does after the money is booked back, to the invoices and mandates of the
        returned or rejected ``lines`` (sale.recurring.sepa.line).  Override to add an action of your own."""
        self.ensure_one()
        invoices = lines.invoice_id
        if self.action == "represent":
            invoices._sepa_plan_representation(lines[:1].return_date or self.env.company._recurring_today(), self)
        elif self.action == "revoke":
            lines.mandate_id.action_revoke(self.env._(
                "Revoked: the bank returned a collection with %(reason)s.", reason=self.display_name))
            invoices._sepa_schedule_activity(self.env._("Get a new direct-debit mandate"), self.env._(
                "The bank returned the direct debit with %(reason)s: the mandate is revoked. Ask the customer for "
                "a new mandate, or another way to pay.", reason=self.display_name),
                remember=False)  # about the mandate: an invoice paid another way does not settle it
        elif self.action == "hold":
            invoices.write({"sepa_hold": True})
            invoices._sepa_schedule_activity(self.env._("Direct debit disputed"), self.env._(
                "The bank returned the direct debit with %(reason)s. It is not collected again automatically: "
                "talk to the customer, then release the invoice ('Held from Direct Debit').",
                reason=self.display_name))
