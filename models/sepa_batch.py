import base64
import io
import logging
from collections import defaultdict

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import LockError, UserError
from odoo.tools import format_amount, format_date

from ..engine import sepa, target2
from .account_journal import SDD_CODE

_logger = logging.getLogger(__name__)


class SaleRecurringSepaBatch(models.Model):
    """One direct-debit run: the pain.008 file sent to the bank and what became of it."""

    _name = "sale.recurring.sepa.batch"
    _description = "SEPA Direct Debit Batch"
    _inherit = ["mail.thread"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(string="Message Id", required=True, readonly=True, copy=False)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    journal_id = fields.Many2one("account.journal", required=True, readonly=True, check_company=True,
                                 help="The bank journal the collections are paid into.")
    currency_id = fields.Many2one("res.currency", readonly=True)
    scheme = fields.Selection(sepa.SCHEME_SELECTION, required=True, readonly=True)
    version = fields.Selection(
        sepa.VERSION_SELECTION, string="Message Version",
        required=True, readonly=True)
    collection_due = fields.Boolean(
        compute="_compute_collection_due",
        help="The collection date has come (the company's today): the batch can be marked collected.")
    collection_date = fields.Date(required=True, readonly=True, tracking=True,
                                  help="The day the bank collects: a TARGET2 business day.")
    created_at = fields.Datetime(string="Created On", required=True, readonly=True)
    transaction_count = fields.Integer(string="Transactions", readonly=True)
    control_sum = fields.Monetary(readonly=True, help="Sum of the amounts of the file.")
    # every debtor's IBAN is in it: invoicing users only, as the IBAN field of the mandates
    xml_file = fields.Binary(string="File", attachment=True, readonly=True, copy=False,
                             groups="account.group_account_invoice")
    xml_filename = fields.Char(readonly=True)
    state = fields.Selection(
        [("generated", "Generated"), ("sent", "Sent to Bank"), ("collected", "Collected"),
         ("returned", "Partially Returned"), ("cancelled", "Cancelled")], required=True, default="generated",
        readonly=True, tracking=True, index=True,
        help="Generated: the file waits to be sent to the bank (it can still be cancelled, which frees its "
             "invoices). Sent to Bank: the bank has it. Collected: paid. Partially Returned: the bank returned "
             "some collections. Cancelled: never sent; its file was deleted.")
    line_ids = fields.One2many("sale.recurring.sepa.line", "batch_id", string="Invoices", readonly=True)
    collection_move_id = fields.Many2one(
        "account.move", string="Collection Entry", readonly=True, copy=False,
        help="The bank journal entry of the collection: one line per invoice, reconciled with it.")
    collection_move_ids = fields.Many2many(
        "account.move", string="Collection Entries", compute="_compute_collection_move_ids",
        help="Every bank journal entry that booked collections of this batch: one, or one per credit when the "
             "bank booked the batch in several (per payment block, per transaction). 'Collection Entry' is the "
             "last one; each invoice's payment line links to its own.")
    collection_move_count = fields.Integer(string="Collection Entry Count", compute="_compute_collection_move_ids")
    returned_count = fields.Integer(compute="_compute_returned_count")

    @api.depends("line_ids.payment_line_id", "collection_move_id")
    def _compute_collection_move_ids(self):
        for batch in self:
            moves = batch.line_ids.payment_line_id.move_id | batch.collection_move_id
            batch.collection_move_ids = moves.sorted("id")
            batch.collection_move_count = len(moves)

    def action_view_collection_moves(self):
        """The batch's collection entries: the one entry, or the list of them."""
        self.ensure_one()
        moves = self.collection_move_ids
        action = {"type": "ir.actions.act_window", "name": self.env._("Collection Entries"),
                  "res_model": "account.move", "context": {"create": False}}
        if len(moves) == 1:
            return {**action, "res_id": moves.id, "view_mode": "form", "views": [(False, "form")]}
        return {**action, "domain": [("id", "in", moves.ids)], "view_mode": "list,form",
                "views": [(False, "list"), (False, "form")]}

    def _compute_returned_count(self):
        counts = dict(self.env["sale.recurring.sepa.line"]._read_group(
            [("batch_id", "in", self.ids), ("state", "=", "returned")], ["batch_id"], ["__count"]))
        for batch in self:
            batch.returned_count = counts.get(batch, 0)

    # -- the run -------------------------------------------------------------

    @api.model
    def _create_run(self, invoices, journal, collection_date, scheme):
        """Check, build, validate and store the file of ``invoices``; mark them.

        Nothing is written when anything is wrong: the UserError lists every problem.
        """
        company = journal.company_id
        # two runs at once must not both send a mandate's FRST, or collect a one-off mandate twice
        try:
            invoices.sepa_mandate_id.lock_for_update(allow_referencing=True)
        except LockError:
            raise UserError(self.env._("Another direct-debit run is using the mandates of these invoices right "
                                       "now; try again in a moment.")) from None
        self._check_run_invoices(invoices, company)
        # the mandates' IBAN, BIC and holder come from their bank accounts: computed for all the
        # mandates at once, not once per transaction
        mandates = invoices.sepa_mandate_id.sudo()
        mandates.mapped("iban")
        mandates.mapped("bic")
        mandates.bank_account_id.mapped("acc_holder_name")
        version = journal.sepa_pain_version or sepa.V08
        message_id = self.env["ir.sequence"].with_company(company).next_by_code("sale.recurring.sepa.batch")
        created = self.env["sale.order"].with_company(company)._recurring_now().replace(tzinfo=None)
        groups = self._transaction_groups(invoices, company)
        sequence_types = self._sequence_types(groups)
        txs = [self._transaction(message_id, index, group, collection_date, sequence_type)
               for index, (group, sequence_type) in enumerate(zip(groups, sequence_types, strict=True), start=1)]
        batch = sepa.Batch(message_id, created, self._creditor(company), txs, scheme=scheme, version=version,
                           batch_booking=company.sepa_batch_booking)
        buffer = io.BytesIO()
        try:
            summary = sepa.write(batch, buffer)
            sepa.validate(buffer.getvalue(), version)
        except sepa.SepaError as error:
            raise UserError("\n".join(self._problem_text(problem) for problem in error.problems)) from None
        except ValueError as error:
            raise UserError(self.env._("The file was not valid against %(version)s: %(error)s",
                                       version=version, error=str(error))) from None
        record = self.create({
            "name": message_id,
            "company_id": company.id,
            "journal_id": journal.id,
            "currency_id": (invoices[:1].currency_id or company.currency_id).id,  # EUR: SEPA collects euros
            "scheme": scheme,
            "version": version,
            "collection_date": collection_date,
            "created_at": fields.Datetime.now(),
            "transaction_count": summary["count"],
            "control_sum": float(summary["control_sum"]),
            "xml_file": base64.b64encode(buffer.getvalue()),
            "xml_filename": f"{message_id}.xml",
        })
        self.env["sale.recurring.sepa.line"].create([
            {"batch_id": record.id, "invoice_id": invoice.id, "mandate_id": invoice.sepa_mandate_id.id,
             "amount": invoice.amount_residual, "end_to_end_id": tx.end_to_end_id,
             "sequence_type": tx.sequence_type}
            for group, tx in zip(groups, txs, strict=True) for invoice in group])
        return record

    def _check_run_invoices(self, invoices, company):
        problems = []
        if not company.recurring_sepa_creditor_identifier:
            problems.append(self.env._("Company %(company)s: the field 'Creditor Identifier' is empty.",
                                       company=company.name))
        if not company.sepa_creditor_bank_id:
            problems.append(self.env._("Company %(company)s: the field 'Creditor Bank Account' is empty.",
                                       company=company.name))
        if len(invoices) != len(set(invoices.ids)):
            problems.append(self.env._("The same invoice is selected twice."))
        busy = self.env["sale.recurring.sepa.line"].search(
            [("invoice_id", "in", invoices.ids), ("state", "=", "open")])
        for line in busy:
            problems.append(self.env._(
                "Invoice %(invoice)s (%(partner)s) is already in the open batch %(batch)s.",
                invoice=line.invoice_id.name, partner=line.invoice_id.partner_id.display_name,
                batch=line.batch_id.name))
        for invoice in invoices:
            problems += self._invoice_problems(invoice, company)
        problems += self._one_off_problems(invoices, company)
        if problems:
            raise UserError("\n".join(problems))

    def _one_off_problems(self, invoices, company):
        """A one-off mandate collects once: one transaction in one run, never in two open batches."""
        one_off = invoices.filtered(lambda move: move.sepa_mandate_id.mandate_type == "oneoff")
        if not one_off:
            return []
        problems = []
        pending = self.env["sale.recurring.sepa.line"].search(
            [("mandate_id", "in", one_off.sepa_mandate_id.ids), ("batch_id.state", "=", "generated")]
        ).grouped("mandate_id")
        for mandate, mine in one_off.grouped("sepa_mandate_id").items():
            names = ", ".join(mine.mapped("name"))
            partner = mine[0].partner_id.display_name
            if mandate in pending:
                problems.append(self.env._(
                    "Invoices %(invoices)s (%(partner)s): the one-off mandate %(mandate)s is already in the batch "
                    "%(batch)s.", invoices=names, partner=partner, mandate=mandate.name,
                    batch=pending[mandate][0].batch_id.name))
            elif len(mine) > 1 and company.sepa_grouping != "mandate":
                problems.append(self.env._(
                    "Invoices %(invoices)s (%(partner)s): the one-off mandate %(mandate)s collects only once; "
                    "select one invoice, or collect one transaction per mandate (Settings).",
                    invoices=names, partner=partner, mandate=mandate.name))
        return problems

    def _invoice_problems(self, invoice, company):
        who = {"invoice": invoice.name, "partner": invoice.partner_id.display_name}
        mandate = invoice.sepa_mandate_id
        if invoice.company_id != company:
            return [self.env._("Invoice %(invoice)s (%(partner)s) belongs to another company.", **who)]
        if invoice.move_type != "out_invoice" or invoice.state != "posted" \
                or invoice.payment_state not in ("not_paid", "partial"):
            return [self.env._("Invoice %(invoice)s (%(partner)s) is not a posted, unpaid customer invoice.", **who)]
        if not mandate:
            return [self.env._("Invoice %(invoice)s (%(partner)s): the field 'Mandate' is empty.", **who)]
        order = invoice.recurring_order_id
        if order.recurring_state == "suspended":
            return [self.env._("Invoice %(invoice)s (%(partner)s): its subscription %(order)s is suspended for "
                               "non-payment (field 'Subscription Status'); it is collected again once it resumes.",
                               order=order.name, **who)]
        if mandate.state != "active":
            state = dict(mandate._fields["state"]._description_selection(self.env))[mandate.state]
            return [self.env._("Invoice %(invoice)s (%(partner)s): the mandate %(mandate)s is %(state)s.",
                               mandate=mandate.name, state=state, **who)]
        if mandate.partner_id.commercial_partner_id != invoice.commercial_partner_id:
            return [self.env._("Invoice %(invoice)s (%(partner)s): the mandate %(mandate)s is %(debtor)s's: a "
                               "customer is only debited with their own mandate.",
                               mandate=mandate.name, debtor=mandate.partner_id.display_name, **who)]
        return []

    def _transaction_groups(self, invoices, company):
        """Invoices per transaction: one each, or one per mandate (company setting)."""
        invoices = invoices.sorted(lambda move: (move.sepa_mandate_id.id, move.name or ""))
        if company.sepa_grouping != "mandate":
            return list(invoices)
        groups = defaultdict(lambda: self.env["account.move"])
        for invoice in invoices:
            groups[invoice.sepa_mandate_id] |= invoice
        return list(groups.values())

    def _sequence_types(self, groups):
        """FRST, RCUR or OOFF per transaction.  A mandate collected for the first time is FRST once
        (the company's policy allowing): its other transactions in this run, or while its FRST waits
        in a batch not yet sent to the bank, are RCUR."""
        mandates = self.env["account.move"].concat(*groups).sepa_mandate_id
        own_type = {mandate.id: mandate._sequence_type() for mandate in mandates}
        first_pending = set(self.env["sale.recurring.sepa.line"].search(
            [("mandate_id", "in", mandates.ids), ("sequence_type", "=", "FRST"),
             ("batch_id.state", "=", "generated")]).mandate_id.ids)
        sequence_types = []
        for group in groups:
            mandate_id = group[0].sepa_mandate_id.id
            sequence_type = own_type[mandate_id]
            if sequence_type == "FRST":
                if mandate_id in first_pending:
                    sequence_type = "RCUR"
                first_pending.add(mandate_id)
            sequence_types.append(sequence_type)
        return sequence_types

    def _transaction(self, message_id, index, invoices, collection_date, sequence_type):
        """The engine's ``sepa.Transaction`` of ``invoices`` (one mandate), the ``index``-th of the
        file: amount, mandate, debtor, remittance text.  Override to change what the file carries."""
        mandate = invoices[0].sepa_mandate_id
        sudo_mandate = mandate.sudo()
        partner = invoices[0].partner_id.commercial_partner_id
        names = " ".join(invoices.mapped("name"))
        return sepa.Transaction(
            record=self.env._("Invoice %(invoice)s (%(partner)s)", invoice=names, partner=partner.display_name),
            end_to_end_id=f"{message_id[-20:]}-{index:06d}",
            amount=sepa.exact_sum(invoices.mapped("amount_residual")),
            currency=invoices[0].currency_id.name,
            mandate=sepa.Mandate(mandate.name, mandate.signed_on, mandate.scheme, sudo_mandate.original_iban or None,
                                 mandate.original_bank_changed),
            debtor=sepa.Party(name=sudo_mandate.bank_account_id.acc_holder_name or partner.name or "",
                              iban=sudo_mandate.iban, bic=mandate.bic or None,
                              country=partner.country_id.code or None, town=partner.city or None,
                              zip=partner.zip or None, street=partner.street or None),
            remittance=names,
            collection_date=collection_date,
            sequence_type=sequence_type,
        )

    def _creditor(self, company):
        account = company.sepa_creditor_bank_id
        partner = company.partner_id
        return sepa.Creditor(
            name=company.name, iban=account.sanitized_acc_number or "", bic=account.bank_bic or None,
            country=partner.country_id.code or None, town=partner.city or None, zip=partner.zip or None,
            street=partner.street or None, hybrid=company.sepa_address_form == "hybrid",
            identifier=company.recurring_sepa_creditor_identifier or "")

    def _problem_text(self, problem):
        what = {
            "empty": self.env._("is empty"),
            "not_latin": self.env._("has no character the bank accepts (SEPA Latin set)"),
            "too_long": self.env._("is longer than 35 characters"),
            "bad_chars": self.env._("has characters the bank does not accept"),
            "iban": self.env._("is not a valid IBAN"),
            "bic": self.env._("is not a valid BIC"),
            "creditor_id": self.env._("is not a valid creditor identifier"),
            "currency": self.env._("is not EUR"),
            "amount": self.env._("must be above 0 and at most 999,999,999.99, with 2 decimals"),
            "mandate_future": self.env._("is in the future"),
            "scheme": self.env._("is not the scheme of the run"),
            "sequence": self.env._("is not a SEPA sequence type"),
            "duplicate": self.env._("appears twice"),
            "address": self.env._("needs a town and a country"),
            "not_sepa": self.env._("is of a country outside the SEPA zone"),
            "debtor_address": self.env._("needs a town and a country: the customer's bank is outside the EEA"),
        }.get(problem.code, problem.code)
        field_label = {
            "Name": self.env._("Name"), "Creditor Account": self.env._("Creditor Bank Account"),
            "BIC": self.env._("BIC"), "Creditor Identifier": self.env._("SEPA Creditor Identifier"),
            "Address": self.env._("Address"), "End-to-End Id": self.env._("End-to-End Id"),
            "Currency": self.env._("Currency"), "Amount": self.env._("Amount"),
            "Mandate Reference": self.env._("Mandate Reference"),
            "Mandate Signature Date": self.env._("Signature Date"), "Mandate Scheme": self.env._("Scheme"),
            "Sequence Type": self.env._("Sequence Type"), "Debtor Name": self.env._("Customer Name"),
            "Debtor Account": self.env._("IBAN"), "Debtor BIC": self.env._("BIC"),
            "Original Debtor Account": self.env._("Original IBAN"), "Message Id": self.env._("Message Id"),
            "Transactions": self.env._("Invoices"),
            "Debtor Address": self.env._("Customer Address"),
        }.get(problem.field, problem.field)
        record = problem.record if problem.record not in ("Creditor", "Batch") else self.env.company.name
        return self.env._("%(record)s: the field '%(field)s' %(what)s%(value)s.", record=record, field=field_label,
                          what=what, value=f" ({problem.value})" if problem.value else "")

    # -- after the file ------------------------------------------------------

    def _check_not_cancelled(self):
        for batch in self.filtered(lambda batch: batch.state == "cancelled"):
            raise UserError(self.env._("Batch %(batch)s was cancelled: its file was deleted and cannot be sent to "
                                       "the bank; collect its invoices in a new run.", batch=batch.name))

    def action_sent(self):
        """The file went to the bank: first collections become recurring, amendments are told."""
        self._check_not_cancelled()
        for batch in self:
            if batch.state != "generated":
                raise UserError(self.env._("Batch %(batch)s was already sent.", batch=batch.name))
            batch.line_ids.mandate_id._mark_collected(batch.collection_date)
            batch.state = "sent"
        return True

    def action_cancel(self):
        """The file was not sent to the bank after all: cancel the batch.  Its file is deleted, so that it can
        no longer be downloaded or sent, and its invoices are freed for another run (with a new message id:
        the bank never sees one twice).  Invoicing users only, and only a batch not yet sent to the bank."""
        self.check_access("write")
        try:
            self.lock_for_update(allow_referencing=True)
        except LockError:
            raise UserError(self.env._("Someone else is working on these direct-debit batches right now; try "
                                       "again in a moment.")) from None
        self.invalidate_recordset(["state"])
        states = dict(self._fields["state"]._description_selection(self.env))
        for batch in self:
            if batch.state != "generated":
                raise UserError(self.env._(
                    "Batch %(batch)s cannot be cancelled: its field 'Status' is '%(state)s'. Only a batch not yet "
                    "sent to the bank can be; once the bank has the file, record its rejections or returns.",
                    batch=batch.name, state=states[batch.state]))
        for batch in self:
            batch.message_post(body=self.env._(
                "Batch cancelled before it was sent to the bank: its file %(file)s was deleted, and its invoices "
                "(%(invoices)s) can be collected in another run.",
                file=batch.xml_filename or batch.name, invoices=", ".join(batch.line_ids.invoice_id.mapped("name"))))
        self.line_ids.write({"state": "cancelled"})
        self.write({"state": "cancelled", "xml_file": False})
        return True

    @api.depends("collection_date")
    def _compute_collection_due(self):
        for batch in self:
            batch.collection_due = bool(batch.collection_date) and \
                batch.company_id._recurring_today() >= batch.collection_date

    def action_collected(self):
        """The bank collected: one payment per invoice, reconciled with it."""
        for batch in self:
            if batch.state != "sent":
                raise UserError(self.env._("Batch %(batch)s must be sent to the bank first.", batch=batch.name))
            today = batch.company_id._recurring_today()
            if today < batch.collection_date:
                raise UserError(self.env._(
                    "Batch %(batch)s is collected on %(day)s: mark it collected on that day or later.",
                    batch=batch.name, day=format_date(self.env, batch.collection_date)))
            batch._register_payments(batch.line_ids.filtered(lambda line: line.state == "open"))
            batch.state = "collected"
        return True

    def _outstanding_account(self):
        """Where collected money waits for the bank statement: the SEPA payment method's
        outstanding account on the journal, else the company's outstanding receipts."""
        self.ensure_one()
        method = self.journal_id.inbound_payment_method_line_ids.filtered(
            lambda line: line.code == SDD_CODE)[:1]
        account = method.payment_account_id or self.env["account.payment"].with_company(
            self.company_id).new({"company_id": self.company_id.id})._get_outstanding_account("inbound")
        return account

    def _register_payments(self, lines):
        """One payment line per invoice on one bank entry for the batch, each reconciled with its
        invoice: posted and reconciled in batches, so 10,000 invoices take seconds."""
        lines = lines.filtered(lambda line: line.invoice_id.payment_state in ("not_paid", "partial"))
        if not lines:
            return
        outstanding = self._outstanding_account()
        open_receivables = defaultdict(lambda: self.env["account.move.line"])
        for aml in self.env["account.move.line"].search([
                ("move_id", "in", lines.invoice_id.ids), ("account_type", "=", "asset_receivable"),
                ("reconciled", "=", False)]):
            open_receivables[aml.move_id.id] |= aml
        receivables = []
        commands = []
        for line in lines:
            invoice = line.invoice_id
            receivable = open_receivables[invoice.id]
            receivables.append(receivable)
            commands.append(fields.Command.create({
                "name": self.env._("Direct debit %(batch)s: %(invoice)s", batch=self.name, invoice=invoice.name),
                "partner_id": invoice.commercial_partner_id.id,
                "account_id": receivable[:1].account_id.id,
                "currency_id": invoice.currency_id.id,
                "amount_currency": -invoice.amount_residual,
                "balance": -invoice.amount_residual_signed,
                "analytic_distribution": False,
                "tax_ids": [],
            }))
        total = float(sepa.exact_sum(lines.invoice_id.mapped("amount_residual_signed")))
        commands.append(fields.Command.create({
            "name": self.env._("Direct debit %(batch)s", batch=self.name),
            "account_id": outstanding.id,
            "balance": total,
            "currency_id": self.company_id.currency_id.id,
            "amount_currency": total,
        }))
        move = self.env["account.move"].with_context(tracking_disable=True, mail_create_nolog=True).create(
            self._prepare_collection_move_vals(commands))
        move.action_post()
        payment_lines = move.line_ids.filtered(lambda aml: aml.account_id != outstanding).sorted("id")
        plan = []
        for line, receivable, payment_line in zip(lines, receivables, payment_lines, strict=True):
            plan.append(receivable + payment_line)
            line.payment_line_id = payment_line
        lines.state = "collected"
        # paid by our own direct debit: the dunning ladder does not stop (account.move._invoice_paid_hook)
        self.env["account.move.line"].with_context(recurring_sepa_collection=True)._reconcile_plan(plan)
        self.collection_move_id = move

    @api.model
    def _book_returns(self, entries):
        """Book the returns of ``entries`` ([(batch, lines, reason code, day)]): one entry each, every
        invoice's payment line booked back out of the outstanding account, unmatched from its invoice
        and reconciled with its reversal.  All entries at once: one create, one post, one unmatching,
        one reconciliation; the entries touch no existing line, so they are posted first and the
        ledger is recomputed once for the unmatching and once for the reconciliation."""
        entries = [(batch, lines.filtered("payment_line_id"), code, day) for batch, lines, code, day in entries]
        entries = [entry for entry in entries if entry[1]]
        if not entries:
            return self.env["account.move"]
        moves = self.env["account.move"].with_context(tracking_disable=True, mail_create_nolog=True).create([
            batch._prepare_return_move_vals(lines, code, day) for batch, lines, code, day in entries])
        moves.action_post()
        paid_lines = self.env["account.move.line"].concat(*(lines.payment_line_id for _b, lines, _c, _d in entries))
        plan = []
        for (batch, lines, _code, _day), move in zip(entries, moves, strict=True):
            outstanding = batch._outstanding_account()
            backs = move.line_ids.filtered(lambda aml, account=outstanding: aml.account_id != account).sorted("id")
            plan += [paid + back for paid, back in zip(lines.payment_line_id, backs, strict=True)]
        Move = self.env["account.move"]
        amounts = [field for field in Move._fields.values() if field.compute and field.store]
        with self.env.protecting(amounts, self._invoices_paid_beside(paid_lines)):
            paid_lines.remove_move_reconcile()
            self.env["account.move.line"]._reconcile_plan(plan)
        return moves

    @api.model
    def _invoices_paid_beside(self, paid_lines):
        """The invoices the other lines of ``paid_lines``' collection entries paid, and nothing else.
        Odoo recomputes an invoice's amounts and payment state whenever any line of an entry matched
        with it changes (``account.move._compute_amount`` depends on
        ``line_ids.matched_*.*.move_id.line_ids.amount_residual``); a return changes only the returned
        invoices' own payment lines, so these invoices' values stay what they are, and are not
        recomputed, twice, for each of the thousands of invoices of a big batch."""
        beside = paid_lines.move_id.line_ids - paid_lines
        touched = (paid_lines.matched_debit_ids.debit_move_id | paid_lines.matched_credit_ids.credit_move_id).move_id
        paid = (beside.matched_debit_ids.debit_move_id | beside.matched_credit_ids.credit_move_id).move_id
        return (paid - touched - paid_lines.move_id).filtered(lambda move: move.is_invoice(include_receipts=True))

    def _prepare_return_move_vals(self, lines, reason_code, day):
        """Values of this batch's entry for its returned ``lines``: each payment line booked back (same
        account, partner and amount, opposite sign) and the total out of the outstanding account, on the
        batch's journal, dated ``day``.  Override to add an analytic account, a reference of your own, ..."""
        self.ensure_one()
        commands = []
        for line in lines:
            paid = line.payment_line_id
            label = self.env._("Return %(code)s of %(invoice)s (%(batch)s)", code=reason_code,
                               invoice=line.invoice_id.name, batch=self.name)
            commands.append(fields.Command.create({
                "name": label, "partner_id": paid.partner_id.id, "account_id": paid.account_id.id,
                "currency_id": paid.currency_id.id, "amount_currency": -paid.amount_currency,
                "balance": -paid.balance}))
        total = float(sepa.exact_sum([line.payment_line_id.balance for line in lines]))
        ref = self.env._("Returns %(code)s (%(batch)s)", code=reason_code, batch=self.name)
        commands.append(fields.Command.create({
            "name": ref, "account_id": self._outstanding_account().id, "currency_id": self.company_id.currency_id.id,
            "amount_currency": total, "balance": total}))
        return {"move_type": "entry", "journal_id": self.journal_id.id, "date": day, "ref": ref, "line_ids": commands}

    def _prepare_collection_move_vals(self, line_commands):
        """Values of the batch's collection entry: one payment line per invoice (``line_commands``)
        and the total on the outstanding account, on the batch's journal and collection date.
        Override to add an analytic account, a reference of your own, ..."""
        self.ensure_one()
        return {
            "move_type": "entry",
            "journal_id": self.journal_id.id,
            "date": self.collection_date,
            "ref": self.env._("SEPA direct debit %(batch)s", batch=self.name),
            "line_ids": line_commands,
        }

    def action_open_return(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "name": self.env._("Record a Return"),
            "res_model": "sale.recurring.sepa.return", "view_mode": "form", "target": "new",
            "context": {"active_id": self.id, "active_model": self._name},
        }

    def action_download(self):
        self.ensure_one()
        self._check_not_cancelled()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/xml_file/{self.xml_filename}?download=true",
            "target": "self",
        }

    @api.model
    def _collection_date(self, requested, company):
        today = company._recurring_today()
        return target2.collection_date(requested, today, company.sepa_lead_days)


class SaleRecurringSepaLine(models.Model):
    _name = "sale.recurring.sepa.line"
    _description = "SEPA Direct Debit Batch Invoice"
    _order = "batch_id desc, end_to_end_id, id"
    _check_company_auto = True
    # "Record a Return" and the lists find a line by its invoice, customer or end-to-end id
    _rec_names_search = ["invoice_id.name", "invoice_id.partner_id.name", "end_to_end_id"]

    batch_id = fields.Many2one("sale.recurring.sepa.batch", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="batch_id.company_id", store=True)
    currency_id = fields.Many2one(related="batch_id.currency_id")
    invoice_id = fields.Many2one("account.move", required=True, index=True, ondelete="restrict")
    partner_id = fields.Many2one(related="invoice_id.partner_id", string="Customer")
    mandate_id = fields.Many2one("sale.recurring.mandate", required=True, ondelete="restrict")
    amount = fields.Monetary()
    end_to_end_id = fields.Char(string="End-to-End Id", help="The transaction's id in the file.")
    sequence_type = fields.Char(
        help="FRST for a mandate's first collection (when the company sends them as such), RCUR for the next "
             "ones, OOFF for a one-off mandate.")
    state = fields.Selection(
        [("open", "In Batch"), ("collected", "Collected"), ("returned", "Returned"), ("cancelled", "Cancelled")],
        default="open", required=True, index=True,
        help="In Batch: waiting for the bank. Cancelled: its batch was cancelled before it was sent; the invoice "
             "can be collected in another run.")
    payment_line_id = fields.Many2one(
        "account.move.line", string="Payment", readonly=True,
        help="The line of the batch's collection entry that paid this invoice.")
    return_reason_id = fields.Many2one("sale.recurring.return.reason", readonly=True, ondelete="restrict")
    return_date = fields.Date(readonly=True)
    followup_pending = fields.Boolean(
        string="Notice Pending", readonly=True, copy=False,
        help="Failed in a bank file too big to tell of at once: the notes and the customer's e-mail are "
             "written by the scheduled action 'tell of failed direct debits', started at the import.")

    # the scheduled action finds the few marked lines among millions
    _followup_pending_index = models.Index("(id) WHERE followup_pending IS TRUE")
    # an invoice is in one open batch at most, whatever runs at the same time
    _invoice_open_unique = models.UniqueIndex(
        "(invoice_id) WHERE state = 'open'", "An invoice can be in one open direct-debit batch only.")

    @api.depends("invoice_id.name", "invoice_id.partner_id", "amount")
    def _compute_display_name(self):
        for line in self:
            amount = format_amount(self.env, line.amount, line.currency_id) if line.currency_id else line.amount
            line.display_name = f"{line.invoice_id.name} - {line.invoice_id.partner_id.display_name} - {amount}"

    def _return(self, reason, day):
        """The bank returned these transactions with ``reason`` (sale.recurring.return.reason): reverse
        their payments (one entry per batch), reopen the invoices, log it, then do what the reason says."""
        self._return_groups([(self, reason, day)])

    @api.model
    def _return_groups(self, groups):
        """``_return`` for several groups of lines at once ([(lines, reason, day)], as a bank file
        gives them): the entries of every group and batch booked in one go (``_book_returns``), then
        each group logged and handled as its reason says, then the customers told in one batch."""
        groups = [(lines._returned_whole(), reason, day) for lines, reason, day in groups]
        seen = set()
        for lines, _reason, _day in groups:
            twice = lines.filtered(lambda line: line.id in seen)[:1]
            if twice:
                raise UserError(self.env._(
                    "Invoice %(invoice)s was not collected in batch %(batch)s: it cannot be returned.",
                    invoice=twice.invoice_id.name, batch=twice.batch_id.name))
            seen.update(lines.ids)
        self.env["sale.recurring.sepa.batch"]._book_returns([
            (batch, lines.filtered(lambda line, b=batch: line.batch_id == b), reason.code, day)
            for lines, reason, day in groups for batch in lines.batch_id])
        for lines, reason, day in groups:
            lines.write({"state": "returned", "return_reason_id": reason.id, "return_date": day})
            reason._apply_to_lines(lines)
        returned = self.browse().concat(*(lines for lines, _reason, _day in groups))
        returned._tell_failure()
        returned.batch_id.write({"state": "returned"})

    # -- telling of a failed collection: now, or soon for a big file ------------

    def _tell_failure(self):
        """Tell of these returned or rejected transactions (``_failure_followup``): at once for up to
        the system parameter ``sale_weekly_subscription.sepa_followup_inline`` of them (100 by default),
        else marked and left to the scheduled action *tell of failed direct debits*, started at once.  The
        booking stays in the caller's transaction; the mark is in it too, so the telling happens exactly
        once, and only if the booking is committed."""
        if not self:
            return
        limit = self.env["ir.config_parameter"].sudo().get_param("sale_weekly_subscription.sepa_followup_inline")
        try:
            limit = int(limit) if limit not in (None, False, "") else 100
        except ValueError:
            limit = 100
        if len(self) <= limit:
            self._failure_followup()
            return
        self.write({"followup_pending": True})
        self.env.ref("sale_weekly_subscription.ir_cron_sepa_failure_followup")._trigger()

    def _failure_followup(self):
        """A note on each failed transaction's mandate, invoice and subscription, then an e-mail to each
        customer whose invoice is still posted and unpaid (the template *Direct debit failed*)."""
        texts = {}
        for line in self:
            if line.state == "rejected":
                texts[line] = self.env._(
                    "Direct debit of %(invoice)s rejected by the bank before collection: %(reason)s.",
                    invoice=line.invoice_id.name, reason=line.return_reason_id.display_name)
            else:
                texts[line] = self.env._("Direct debit of %(invoice)s returned by the bank: %(reason)s.",
                                         invoice=line.invoice_id.name, reason=line.return_reason_id.display_name)
        self._log_on_documents(texts)
        unpaid = self.invoice_id._sepa_unpaid_after_failure()
        unpaid.filtered(lambda move: move.state == "posted")._sepa_notify_failure()  # not one reset to draft since

    def _tell_safely(self):
        """``_failure_followup`` for a batch of the scheduled action; when it fails, line by line, so that
        one transaction that cannot be told of (a broken template, an invalid address) stops none of the
        others: its batch's chatter says which, and why."""
        try:
            with self.env.cr.savepoint():
                self._failure_followup()
            return
        except Exception:  # told line by line below, each error named on its batch
            _logger.warning("Telling of %s failed direct debits at once failed: line by line", len(self),
                            exc_info=True)
        for line in self:
            try:
                with self.env.cr.savepoint():
                    line._failure_followup()
            except Exception as error:  # the error is written on the batch
                line.batch_id.message_post(body=self.env._(
                    "The customer of %(invoice)s could not be told of the failed direct debit: %(error)s",
                    invoice=line.invoice_id.name, error=str(error)))

    @api.model
    def _cron_failure_followup(self, batch_size=500):
        """Scheduled action: tell of the failed transactions a big bank file left marked, batch by batch,
        each batch committed with its marks cleared (exactly once, also after a crash)."""
        cron = self.env["ir.cron"]
        Line = self.sudo()
        domain = [("followup_pending", "=", True)]
        cron._commit_progress(remaining=Line.search_count(domain))
        while True:
            lines = Line.search(domain, order="id", limit=batch_size)
            if not lines:
                break
            for company in lines.company_id:
                lines.filtered(lambda line, c=company: line.company_id == c).with_company(company)._tell_safely()
            lines.write({"followup_pending": False})
            if not cron._commit_progress(len(lines)):
                break

    def _returned_whole(self):
        """These lines and the other invoices of their transactions (a transaction is returned whole),
        all collected: a UserError names the first one that is not."""
        lines = self | self.search([
            ("batch_id", "in", self.batch_id.ids), ("end_to_end_id", "in", self.mapped("end_to_end_id")),
            ("state", "=", "collected")])
        for line in lines:
            if line.state != "collected":
                raise UserError(self.env._(
                    "Invoice %(invoice)s was not collected in batch %(batch)s: it cannot be returned.",
                    invoice=line.invoice_id.name, batch=line.batch_id.name))
        return lines

    def _log_on_documents(self, texts):
        """A note on each line's mandate, invoice and subscription (``texts``: {line: text}), in bulk."""
        for field in ("mandate_id", "invoice_id", "invoice_id.recurring_order_id"):
            notes = defaultdict(list)
            for line, text in texts.items():
                for record in line.mapped(field):
                    notes[record].append(escape(text))
            for model in {record._name for record in notes}:
                records = self.env[model].browse([record.id for record in notes if record._name == model])
                records._message_log_batch(bodies={
                    record.id: Markup("<br/>").join(notes[record]) for record in records})
