from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount, format_date

from ..engine import sepa
from ..models.account_journal import SDD_CODE

# the reasons to leave an invoice out that a later collection date cures
WAITING = ("notice", "due", "retry")


class SaleRecurringSepaRun(models.TransientModel):
    """The direct-debit run: pick the collection date and the journal, untick, then create the file."""

    _name = "sale.recurring.sepa.run"
    _description = "SEPA Direct Debit Run"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    journal_id = fields.Many2one(
        "account.journal", required=True, domain="[('type', '=', 'bank'), ('company_id', '=', company_id)]",
        default=lambda self: self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.env.company.id)], limit=1),
        help="The bank journal the collections are paid into; its message version is used.")
    scheme = fields.Selection(sepa.SCHEME_SELECTION, required=True,
                              default=lambda self: self.env.company.sepa_scheme)
    requested_date = fields.Date(string="Collect On", required=True,
                                 default=lambda self: self.env.company._recurring_today())
    collection_date = fields.Date(
        compute="_compute_collection_date",
        help="The requested date moved to the first TARGET2 business day at least the lead time after today.")
    line_ids = fields.One2many("sale.recurring.sepa.run.line", "run_id", string="Invoices",
                               compute="_compute_line_ids", store=True, readonly=False)
    currency_id = fields.Many2one(
        "res.currency", compute="_compute_currency_id",
        help="The currency of the invoices collected, that the totals are in: the euro, the only currency of "
             "SEPA direct debits, whatever the company keeps its books in.")
    amount_total = fields.Monetary(
        string="Total", compute="_compute_summary_html",
        help="What the file collects: the amounts due of the selected invoices.")
    summary_html = fields.Html(string="Totals", compute="_compute_summary_html", sanitize=False)
    sequence_plan = fields.Json(
        compute="_compute_sequence_plan",
        help="The transactions the file would hold (invoices and sequence type), worked out once per change.")

    @api.depends("requested_date", "company_id")
    def _compute_collection_date(self):
        for run in self:
            run.collection_date = run.requested_date and self.env["sale.recurring.sepa.batch"]._collection_date(
                run.requested_date, run.company_id)

    left_out_html = fields.Html(
        string="Left Out", compute="_compute_left_out_html", sanitize=False,
        help="Open direct-debit invoices this run does not offer, and why: not in euros, no active mandate, "
             "not yet pre-notified by the collection date, or not due by then.")
    waiting_count = fields.Integer(
        string="Waiting Invoices", compute="_compute_left_out_html",
        help="Direct-debit invoices left out of this run only because their day has not come yet: their "
             "pre-notification has not run, they are not due, or a return is re-presented later.")
    waiting_date = fields.Date(
        string="Earliest Collection", compute="_compute_left_out_html",
        help="The first collection date a run can take the earliest of the waiting invoices on.")
    waiting_note = fields.Char(
        string="Waiting", compute="_compute_left_out_html",
        help="How many invoices wait for a later collection date, and from which date the first can be "
             "collected; or that none waits for a direct debit at all.")

    def _open_debit_invoices(self):
        """Posted, unpaid customer invoices meant for direct debit (a mandate, or SEPA as preferred payment
        method) of the run's scheme, not in an open batch."""
        self.ensure_one()
        return self.env["account.move"].search([
            ("company_id", "=", self.company_id.id), ("move_type", "=", "out_invoice"), ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")), ("sepa_line_ids", "not any", [("state", "=", "open")]),
            "|", ("sepa_mandate_id", "!=", False), ("preferred_payment_method_line_id.code", "=", SDD_CODE),
        ], order="invoice_date_due, name")

    def _why_left_out(self, invoice):
        """Why ``invoice`` is not offered (a key of ``_left_out_labels``), or None when it is."""
        mandate = invoice.sepa_mandate_id
        if invoice.currency_id.name != "EUR":
            return "currency"
        if mandate.state != "active" or mandate.scheme != self.scheme:
            return "mandate"
        if invoice.sepa_hold:
            return "hold"
        if invoice.recurring_order_id.recurring_state == "suspended":
            return "suspended"
        if invoice.sepa_retry_date and invoice.sepa_retry_date > self.collection_date:
            return "retry"
        # the debtor was told the date: never collect before it
        if invoice.sepa_collection_date and invoice.sepa_collection_date > self.collection_date:
            return "notice"
        if invoice.invoice_date_due and invoice.invoice_date_due > self.collection_date:
            return "due"
        return None

    def _ready_date(self, invoice):
        """The first day ``invoice`` can be collected on, as far as dates go: its pre-notified collection
        date, its due date and, after a temporary return, its re-presentation date."""
        return max((day for day in (invoice.sepa_collection_date, invoice.invoice_date_due, invoice.sepa_retry_date)
                    if day), default=self.collection_date)

    def _left_out_labels(self):
        return {
            "currency": self.env._("not in euros"),
            "mandate": self.env._("no active mandate of this scheme"),
            "notice": self.env._("not yet pre-notified by the collection date"),
            "hold": self.env._("held from direct debit (disputed, refunded, or failed too often)"),
            "suspended": self.env._("subscription suspended for non-payment: collected again once it resumes"),
            "retry": self.env._("returned lately: re-presented on a later collection date"),
            "due": self.env._("not due by the collection date"),
        }

    def _proposed_invoices(self):
        self.ensure_one()
        return self._open_debit_invoices().filtered(lambda move: self._why_left_out(move) is None)

    @api.depends("collection_date", "scheme", "company_id")
    def _compute_left_out_html(self):
        for run in self:
            counts, ready, offered = {}, [], 0
            if run.collection_date:
                for invoice in run._open_debit_invoices():
                    why = run._why_left_out(invoice)
                    if why:
                        counts[why] = counts.get(why, 0) + 1
                    else:
                        offered += 1
                    if why in WAITING:
                        ready.append(run._ready_date(invoice))
            labels = run._left_out_labels()
            run.left_out_html = Markup("<ul class='mb-0'>%s</ul>") % Markup("").join(
                Markup("<li>%s</li>") % self.env._("%(count)s invoice(s): %(why)s", count=count, why=labels[why])
                for why, count in counts.items()) if counts else False
            run.waiting_count = len(ready)
            run.waiting_date = ready and self.env["sale.recurring.sepa.batch"]._collection_date(
                min(ready), run.company_id)
            run.waiting_note = run._waiting_note(offered, counts) if run.collection_date else False

    def _waiting_note(self, offered, counts):
        """What the run says above its list: the invoices waiting for a later collection date and the first
        date one can be collected on; or, with nothing to offer, that no invoice waits for a direct debit."""
        day = format_date(self.env, self.waiting_date) if self.waiting_date else ""
        if self.waiting_count == 1:
            return self.env._("1 invoice is waiting for collection; it can be collected from %(date)s "
                              "(pre-notification lead time).", date=day)
        if self.waiting_count:
            return self.env._("%(count)s invoices are waiting for collection; the earliest can be collected from "
                              "%(date)s (pre-notification lead time).", count=self.waiting_count, date=day)
        if not offered and not counts:
            return self.env._("No posted, unpaid invoice is waiting for a direct debit.")
        return False

    def action_use_waiting_date(self):
        """Collect on the first date a waiting invoice can be collected on; the run shows what it offers then."""
        self.ensure_one()
        if not self.waiting_date:
            raise UserError(self.env._("No invoice is waiting for a later collection date."))
        self.requested_date = self.waiting_date
        return {
            "type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form",
            "target": "new", "name": self.env._("Direct Debit Run"),
        }

    @api.depends("collection_date", "scheme", "journal_id")
    def _compute_line_ids(self):
        for run in self:
            if not run.collection_date:
                run.line_ids = [fields.Command.clear()]
                continue
            run.line_ids = [fields.Command.clear()] + [
                fields.Command.create({"invoice_id": invoice.id, "selected": True})
                for invoice in run._proposed_invoices()]

    @api.depends("line_ids.selected", "line_ids.invoice_id", "company_id")
    def _compute_sequence_plan(self):
        """The transactions the file would hold, as the batch makes them: [[invoice ids], sequence type]."""
        batches = self.env["sale.recurring.sepa.batch"]
        for run in self:
            invoices = run.line_ids.filtered("selected").invoice_id
            groups = batches._transaction_groups(invoices, run.company_id) if invoices else []
            run.sequence_plan = [[group.ids, sequence_type]
                                 for group, sequence_type in zip(groups, batches._sequence_types(groups), strict=True)]

    @api.depends("line_ids.invoice_id.currency_id")
    def _compute_currency_id(self):
        euro = self.env.ref("base.EUR")
        for run in self:
            run.currency_id = run.line_ids.invoice_id.currency_id[:1] or euro

    @api.depends("sequence_plan", "currency_id")
    def _compute_summary_html(self):
        for run in self:
            due = {line.invoice_id.id: line.amount for line in run.line_ids}
            totals = {}
            for invoice_ids, sequence_type in run.sequence_plan or []:
                key = (run.scheme, sequence_type)
                count, amount = totals.get(key, (0, sepa.exact_sum(())))
                totals[key] = (count + 1, amount + sepa.exact_sum(due[invoice_id] for invoice_id in invoice_ids))
            currency = run.currency_id
            run.amount_total = float(sepa.exact_sum(amount for _count, amount in totals.values()))
            rows = Markup("").join(
                Markup("<tr><td>%s</td><td>%s</td><td class='text-end'>%s</td><td class='text-end'>%s</td></tr>") % (
                    scheme, seq, count, format_amount(self.env, float(amount), currency))
                for (scheme, seq), (count, amount) in sorted(totals.items()))
            head = Markup("<tr><th>%s</th><th>%s</th><th class='text-end'>%s</th><th class='text-end'>%s</th></tr>") % (
                self.env._("Scheme"), self.env._("Sequence Type"), self.env._("Transactions"), self.env._("Amount"))
            run.summary_html = Markup("<table class='table table-sm'><thead>%s</thead><tbody>%s</tbody></table>") % (
                head, rows)

    def action_create(self):
        self.ensure_one()
        invoices = self.line_ids.filtered("selected").invoice_id
        if not invoices:
            raise UserError(self.env._("Select at least one invoice to collect."))
        batch = self.env["sale.recurring.sepa.batch"]._create_run(
            invoices, self.journal_id, self.collection_date, self.scheme)
        return {
            "type": "ir.actions.act_window", "res_model": batch._name, "res_id": batch.id, "view_mode": "form",
        }


class SaleRecurringSepaRunLine(models.TransientModel):
    _name = "sale.recurring.sepa.run.line"
    _description = "SEPA Direct Debit Run Invoice"

    run_id = fields.Many2one("sale.recurring.sepa.run", required=True, ondelete="cascade")
    selected = fields.Boolean(default=True)
    invoice_id = fields.Many2one("account.move", required=True)
    partner_id = fields.Many2one(related="invoice_id.partner_id")
    mandate_id = fields.Many2one(related="invoice_id.sepa_mandate_id")
    invoice_date_due = fields.Date(related="invoice_id.invoice_date_due")
    currency_id = fields.Many2one(related="invoice_id.currency_id")
    amount = fields.Monetary(related="invoice_id.amount_residual", string="Amount Due")
    sequence_type = fields.Char(
        compute="_compute_sequence_type",
        help="As the file will say: FRST for a new mandate's first collection (once), RCUR for the next ones, "
             "OOFF for a one-off mandate.")

    @api.depends("mandate_id", "run_id.sequence_plan")
    def _compute_sequence_type(self):
        """As the file would say: a mandate's first collection is FRST once, its other invoices RCUR."""
        planned = {invoice_id: sequence_type for run in self.run_id
                   for invoice_ids, sequence_type in run.sequence_plan or [] for invoice_id in invoice_ids}
        for line in self:
            line.sequence_type = planned.get(line.invoice_id.id) or (
                line.mandate_id._sequence_type() if line.mandate_id else False)
