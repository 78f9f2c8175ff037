"""Applying what the bank sends back (engine.bankfiles) to the direct-debit batches."""

import re
from collections import defaultdict
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from ..engine import bankfiles, sepa


class SaleRecurringSepaBatch(models.Model):
    _inherit = "sale.recurring.sepa.batch"

    booking_date = fields.Date(
        string="Booked On", readonly=True, copy=False, tracking=True,
        help="The day the bank booked the collection, from its notification or statement; the collection "
             "entry is dated on it.")

    def _prepare_collection_move_vals(self, line_commands):
        vals = super()._prepare_collection_move_vals(line_commands)
        if self.booking_date:
            vals["date"] = self.booking_date
        return vals

    @api.model
    def _company_ibans(self, company):
        accounts = self.env["res.partner.bank"].sudo().search([("partner_id", "=", company.partner_id.id)])
        return {re.sub(r"\s+", "", account.acc_number or "").upper() for account in accounts}

    @api.model
    def _import_bank_file(self, data, filename):
        """Apply one bank file: rejects take transactions out of their batch, returns book the
        money back, a credit booking marks its batch collected.  Returns a summary
        {"file", "version", "rejected", "returned", "collected", "known", "unknown": [text]}.
        Raises UserError, and books nothing, when the file cannot be read, is for an account of
        another company, or a credit booking does not add up."""
        company = self.env.company
        try:
            found = bankfiles.read(data)
        except bankfiles.BankFileError as error:
            raise UserError(self.env._("File %(file)s cannot be read: %(error)s", file=filename,
                                       error=str(error))) from None
        summary = {"file": filename, "version": found.version, "rejected": 0, "returned": 0, "collected": 0,
                   "known": 0, "unknown": []}
        failed = self.env["sale.recurring.sepa.line"]
        if found.kind != "pain.002":
            foreign = found.accounts - self._company_ibans(company)
            if foreign or not found.accounts:
                raise UserError(self.env._(
                    "File %(file)s is for the account %(account)s, which is not a bank account of %(company)s.",
                    file=filename, account=", ".join(sorted(foreign)) or "?", company=company.name))
        Line = self.env["sale.recurring.sepa.line"]
        Reason = self.env["sale.recurring.return.reason"].with_context(active_test=False)

        def reason_of(code):
            code = code or "MS03"
            return Reason.search([("code", "=", code)], limit=1) or Reason.create(
                {"code": code[:4], "name": self.env._("%(code)s (from a bank file)", code=code)})

        # the batches the status report is about, and their lines by end-to-end id, read once
        reported = self.search([("name", "in", list(found.original_message_ids)), ("company_id", "=", company.id)])
        by_e2e = defaultdict(list)
        for line in reported.line_ids:
            by_e2e[(line.batch_id.name, line.end_to_end_id)].append(line.id)
        rejected, taken = defaultdict(lambda: Line), set()
        for reject in found.rejects:
            batches = reported.filtered(lambda batch, name=reject.original_message_id: batch.name == name)
            lines = batches.line_ids
            if reject.end_to_end_id:
                lines = Line.browse(by_e2e.get((reject.original_message_id, reject.end_to_end_id), []))
            elif reject.reason == "DU01":
                summary["known"] += 1  # the bank saw this file twice: the first one stands, nothing changes
                continue
            elif reject.payment_info_id:
                lines = batches._block_lines().get(reject.payment_info_id, Line)
            if not lines:
                summary["unknown"].append(self.env._(
                    "reject %(id)s (%(amount)s)", id=reject.end_to_end_id or reject.original_message_id,
                    amount=reject.amount or ""))
                continue
            todo = lines.filtered(lambda line: line.state == "open" and line.id not in taken)
            summary["known"] += len(lines) - len(todo)
            taken.update(todo.ids)
            rejected[reject.reason] |= todo
        # rejects: applied per reason, and told of once for the whole file
        for code, todo in rejected.items():
            todo._reject(reason_of(code), company._recurring_today(), tell=False)
            summary["rejected"] += len(todo)
            failed |= todo
        failed._tell_failure()
        collected = set()
        for credit in found.credits:
            batch = self._batch_of_credit(credit, company)
            if not batch:
                summary["unknown"].append(self.env._("credit %(ref)s (%(amount)s)", ref=credit.bank_reference or "",
                                                     amount=credit.amount))
                continue
            if batch.state == "generated":
                batch.action_sent()  # the bank booked it: it had the file
            # booked per transaction (its end-to-end id), per payment block, or for the whole batch
            references = set(credit.references)
            target = batch.line_ids.filtered(lambda line, refs=references: line.end_to_end_id in refs)
            if not target:
                blocks = batch._block_lines()
                target = Line.browse([line.id for ref in credit.references for line in blocks.get(ref, Line)])
            target = (target or batch.line_ids).filtered(lambda line: line.state == "open")
            if not target:
                summary["known"] += 1
                continue
            expected = sepa.exact_sum(target.mapped("amount"))
            if Decimal(credit.amount) != expected:
                raise UserError(self.env._(
                    "File %(file)s: the bank booked %(booked)s for batch %(batch)s, but its open transactions "
                    "come to %(expected)s (control sum minus rejects). Nothing was booked.", file=filename,
                    booked=format_amount(self.env, float(credit.amount), batch.currency_id), batch=batch.name,
                    expected=format_amount(self.env, float(expected), batch.currency_id)))
            batch.booking_date = credit.booking_date or company._recurring_today()
            batch._register_payments(target)
            if not batch.line_ids.filtered(lambda line: line.state == "open"):
                batch.state = "collected"
            collected.add(batch.id)  # a batch booked in several credits (one per block) counts once
        summary["collected"] = len(collected)
        # returns: matched in bulk, then booked per reason and day, one entry per batch
        matched = Line._find_returned_all(found.returns, company)
        groups, charges, seen = defaultdict(list), [], set()
        for returned, line in zip(found.returns, matched, strict=True):
            if not line:
                summary["unknown"].append(self.env._(
                    "return %(id)s (%(amount)s)", id=returned.end_to_end_id or returned.mandate or "",
                    amount=returned.amount))
                continue
            if line.state == "returned" or line.id in seen:
                summary["known"] += 1
                continue
            seen.add(line.id)
            day = returned.booking_date or company._recurring_today()
            groups[(returned.reason or "MS03", day)].append(line.id)
            if returned.charges:
                charges.append((line, returned.charges, day))
        Line._return_groups([(Line.browse(ids), reason_of(code), day) for (code, day), ids in groups.items()])
        summary["returned"] += sum(len(ids) for ids in groups.values())
        failed |= Line.browse([line_id for ids in groups.values() for line_id in ids])
        if charges:
            Line._book_charges(charges, filename)
        summary.update(failed._failure_outcome())
        return summary

    def _block_lines(self):
        """{payment information id: lines} of these batches, as their files numbered the PmtInf blocks:
        by scheme, sequence type and collection date (one scheme and date per batch)."""
        blocks = {}
        for batch in self:
            for index, sequence_type in enumerate(sorted(set(batch.line_ids.mapped("sequence_type"))), start=1):
                blocks[f"{batch.name[:30]}-{index:04d}"] = batch.line_ids.filtered(
                    lambda line, st=sequence_type: line.sequence_type == st)
        return blocks

    @api.model
    def _batch_of_credit(self, credit, company):
        """The batch a credit booking is for: its message id, one of its payment information ids, or (a
        credit booked per transaction) the end-to-end id of one of its transactions."""
        names = set()
        for reference in credit.references:
            names.add(reference)
            match = re.match(r"^(.*)-\d{4}$", reference)
            if match:
                names.add(match.group(1))
        # a cancelled batch never went to the bank: a credit naming it is reported as unknown
        batch = self.search([("name", "in", list(names)), ("company_id", "=", company.id),
                             ("state", "!=", "cancelled")], limit=1)
        if not batch and credit.references:
            # booked per transaction, naming only its end-to-end id (Dutch banks' single booking)
            batch = self.env["sale.recurring.sepa.line"].search([
                ("end_to_end_id", "in", list(credit.references)), ("company_id", "=", company.id),
                ("batch_id.state", "!=", "cancelled")], limit=1).batch_id
        return batch


class SaleRecurringSepaLine(models.Model):
    _inherit = "sale.recurring.sepa.line"

    # a return is matched by its end-to-end id, else by mandate reference, amount and collection date
    end_to_end_id = fields.Char(index=True)
    mandate_id = fields.Many2one(index=True)
    state = fields.Selection(selection_add=[("rejected", "Rejected")], ondelete={"rejected": "set default"})
    # the "Returns" report: by reason, by month and by plan, with the return rate
    collection_date = fields.Date(related="batch_id.collection_date", store=True, string="Collection Date")
    plan_id = fields.Many2one(related="invoice_id.recurring_order_id.recurring_plan_id", store=True,
                              string="Subscription Plan")
    failed_rate = fields.Float(
        string="Return Rate (%)", compute="_compute_failed_rate", store=True, aggregator="avg",
        help="100 for a transaction the bank returned or rejected, 0 for one it collected or still holds: "
             "averaged, the share of collections that failed.")

    @api.depends("state")
    def _compute_failed_rate(self):
        for line in self:
            line.failed_rate = 100.0 if line.state in ("returned", "rejected") else 0.0

    @api.model
    def _book_charges(self, charges, filename):
        """The bank's charges on returned transactions (``charges``: [(line, amount, day)]): one entry per
        batch and day from the outstanding account to the company's "Return Charges Account", and, with
        the plan option, a fee on each subscriber's next invoice."""
        by_entry = {}
        for line, amount, day in charges:
            by_entry.setdefault((line.batch_id, day), []).append((line, amount))
        for (batch, day), items in by_entry.items():
            account = batch.company_id.sepa_charges_account_id
            if not account:
                line, amount = items[0]
                raise UserError(self.env._(
                    "File %(file)s: the bank charged %(charges)s on the return of %(invoice)s, but the setting "
                    "'Return Charges Account' is empty (Settings, SEPA direct debit). Nothing was booked.",
                    file=filename, charges=format_amount(self.env, float(amount), batch.currency_id),
                    invoice=line.invoice_id.name))
            commands = []
            for line, amount in items:
                commands.append(fields.Command.create({
                    "name": self.env._("Bank charges on the return of %(invoice)s", invoice=line.invoice_id.name),
                    "account_id": account.id, "balance": float(amount),
                    "partner_id": line.invoice_id.commercial_partner_id.id}))
            total = sepa.exact_sum([amount for _line, amount in items])
            label = self.env._("Bank charges on returns (%(batch)s)", batch=batch.name)
            commands.append(fields.Command.create({"name": label, "account_id": batch._outstanding_account().id,
                                                   "balance": -float(total)}))
            move = self.env["account.move"].with_context(tracking_disable=True).create({
                "move_type": "entry", "journal_id": batch.journal_id.id, "date": day, "ref": label,
                "line_ids": commands})
            move.action_post()
            for line, amount in items:
                order = line.invoice_id.recurring_order_id
                if order.recurring_plan_id.charge_return_fees:
                    pending = sepa.exact_sum([order.recurring_pending_fees, amount])
                    order._recurring_flow_write({"recurring_pending_fees": float(pending)})

    def _reject(self, reason, day, tell=True):
        """The bank rejected these transactions before settlement (pain.002): out of the batch, nothing
        was booked, the invoice waits for a later run.  Without ``tell``, the caller tells of them
        (``_tell_failure``), with the other rejects of its file."""
        self.write({"state": "rejected", "return_reason_id": reason.id, "return_date": day})
        reason._apply_to_lines(self)
        if tell:
            self._tell_failure()

    def _failure_outcome(self):
        """What these failed transactions led to, for the import's result: invoices to re-present and
        held, mandates revoked, subscriptions suspended or closed, customers told now or by the scheduled
        action (``_tell_failure``)."""
        invoices = self.invoice_id
        held = invoices.filtered("sepa_hold")
        # the plan's After Failed Collections acts on the subscriptions of the invoices held now
        orders = held.recurring_order_id
        revoking = self.filtered(lambda line: line.return_reason_id.action == "revoke")
        return {
            "represented": len(invoices.filtered(lambda move: move.sepa_retry_date and not move.sepa_hold)),
            "held": len(held),
            "revoked": len(revoking.mandate_id.filtered(lambda mandate: mandate.state == "revoked")),
            "suspended": len(orders.filtered(lambda order: order.recurring_state == "suspended")),
            "closed": len(orders.filtered(lambda order: order.recurring_state == "closed")),
            "queued": len(self.filtered("followup_pending")),
        }

    @api.model
    def _find_returned_all(self, returns, company):
        """The collected (or already returned) line each of ``returns`` is about, or an empty recordset:
        by end-to-end id, in one query; when the bank left the id out, by mandate reference, amount and
        collection date."""
        base = [("company_id", "=", company.id), ("state", "in", ("collected", "returned"))]
        ids = [returned.end_to_end_id for returned in returns if returned.end_to_end_id]
        by_id = {}
        for line in self.search([*base, ("end_to_end_id", "in", ids)]) if ids else self:
            known = by_id.get(line.end_to_end_id)
            if not known or (known.state != "collected" and line.state == "collected"):
                by_id[line.end_to_end_id] = line
        found, taken = [], set()
        for returned in returns:
            line = by_id.get(returned.end_to_end_id) if returned.end_to_end_id else None
            if not line and returned.mandate:
                # a collected line only, not one this file already matched: the most recent collection
                domain = [("company_id", "=", company.id), ("state", "=", "collected"), ("id", "not in", list(taken)),
                          ("mandate_id.name", "=", returned.mandate), ("amount", "=", float(returned.amount))]
                if returned.collection_date:
                    domain.append(("batch_id.collection_date", "=", returned.collection_date))
                line = self.search(domain, order="id desc", limit=1)
            if line:
                taken.add(line.id)
            found.append(line or self.browse())
        return found
