from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import format_amount, format_date, frozendict

from ..engine import target2


class AccountMove(models.Model):
    _inherit = "account.move"

    recurring_order_id = fields.Many2one(
        "sale.order", string="Subscription Order", index="btree_not_null", copy=False, readonly=True,
        help="The subscription this invoice bills one period of.")
    recurring_period_start = fields.Date(
        string="Period Start", copy=False, readonly=True,
        help="First day of the subscription period this invoice covers.")
    recurring_period_end = fields.Date(
        string="Period End", copy=False, readonly=True,
        help="Last day of the subscription period this invoice covers.")
    recurring_period_label = fields.Char(
        string="Period Billed", compute="_compute_recurring_period_label",
        help="The subscription period this invoice bills, as its invoice lines name it "
             "(for a weekly plan: the week numbers and the dates).")
    recurring_monthly_amount = fields.Monetary(
        string="Monthly Value", copy=False, readonly=True,
        help="The subscription's monthly recurring revenue when this invoice was made: its untaxed amount "
             "for a full period, turned into a month (52/12 weeks), whatever proration or deduction the "
             "invoice itself carries. The MRR of the month ends this invoice covers, as billed.")

    recurring_correction = fields.Boolean(
        string="Correction", copy=False, readonly=True, index="btree_not_null",
        help="A correction of a period already invoiced: a quantity, price or product changed inside it "
             "(plan option 'Changes in an Invoiced Period'). An invoice for an increase, a credit note for a "
             "decrease, on top of the period's own invoice, which stays the period's one invoice.")
    recurring_corrected_move_id = fields.Many2one(
        "account.move", string="Corrects", copy=False, readonly=True, index="btree_not_null",
        help="The period's invoice this correction corrects.")
    recurring_pause_id = fields.Many2one(
        "sale.recurring.pause", string="Pause", index="btree_not_null", copy=False, readonly=True,
        help="The pause whose unused paid days this credit note gives back.")
    recurring_carry_over_pause_ids = fields.One2many(
        "sale.recurring.pause", "carry_over_move_id", string="Deducted Pauses", readonly=True,
        help="Pauses whose unused paid days this invoice deducts.")

    sepa_mandate_id = fields.Many2one(
        "sale.recurring.mandate", string="Mandate", index="btree_not_null", copy=False, check_company=True,
        tracking=True, help="The SEPA direct-debit mandate this invoice is collected with.")
    sepa_line_ids = fields.One2many(
        "sale.recurring.sepa.line", "invoice_id", string="Direct Debits", readonly=True,
        help="The direct-debit batches this invoice was put in, and what became of each collection.")
    recurring_fees_billed = fields.Monetary(
        string="Return Fees Billed", copy=False, readonly=True,
        help="The bank's charges on returned direct debits this invoice bills to the subscriber.")
    sepa_failed_count = fields.Integer(
        string="Failed Collections", copy=False, readonly=True,
        help="How many direct debits of this invoice the bank returned or rejected with a temporary reason.")
    sepa_retry_date = fields.Date(
        string="Re-present From", copy=False, readonly=True,
        help="After a temporary return (insufficient funds, say): the first collection date a run may offer "
             "this invoice again on.")
    sepa_hold = fields.Boolean(
        string="Held from Direct Debit", copy=False, tracking=True,
        help="Not offered in direct-debit runs: the debtor disputed or refunded a collection, or it failed "
             "too often. Untick once agreed with the customer.")
    sepa_activity_ids = fields.Many2many(
        "mail.activity", "account_move_sepa_activity_rel", "move_id", "activity_id", string="Dunning Activities",
        readonly=True, copy=False,
        help="The to-dos made when this invoice's direct debit failed (failed too often, disputed): marked done "
             "when the invoice is paid another way. The to-do to get a new mandate stays: it is about the mandate.")
    sepa_failure_reason = fields.Char(
        string="Last Return Reason", compute="_compute_sepa_failure_reason",
        help="Why the bank last returned or rejected this invoice's direct debit, in plain words.")
    sepa_collection_date = fields.Date(
        string="Expected Collection", compute="_compute_sepa_collection_date",
        help="The day the direct debit is expected: the first TARGET2 business day at least the "
             "pre-notification days after the invoice date, and not before the payment terms' date. The "
             "invoice falls due on that day.")

    @api.depends("recurring_order_id", "recurring_period_start", "recurring_period_end")
    @api.depends_context("lang")
    def _compute_recurring_period_label(self):
        # in the reader's language; the plan's unit is read as superuser, for accountants who see
        # the invoice but not the subscription
        lang = self.env.lang or "en_US"
        for move in self:
            order = move.recurring_order_id.sudo()
            start, end = move.recurring_period_start, move.recurring_period_end
            move.recurring_period_label = order._recurring_period_label(start, end, lang=lang) \
                if order and start and end else False

    @api.depends("sepa_mandate_id", "invoice_date", "invoice_date_due")
    def _compute_sepa_collection_date(self):
        for move in self:
            move.sepa_collection_date = move._sepa_expected_collection_date(move.invoice_date_due)

    def _sepa_expected_collection_date(self, due):
        """The day the direct debit of this invoice is expected when its terms make it due on ``due``: the
        first TARGET2 business day on or after ``due`` that leaves the debtor the company's pre-notification
        days after the invoice date.  False for an invoice not collected by direct debit (no mandate) or
        without an invoice date yet.  The one home of that rule: the due date and the run read it."""
        self.ensure_one()
        if not (self.move_type == "out_invoice" and self.sepa_mandate_id and self.invoice_date):
            return False
        notice = self.invoice_date + timedelta(days=self.company_id.sepa_prenotification_days)
        return target2.next_business_day(max(notice, due or notice))

    @api.depends("sepa_mandate_id")
    def _compute_needed_terms(self):
        """A direct-debit invoice falls due when it is collected: its receivable lines mature on its expected
        collection date (all of it: the run collects the whole amount due at once), so that it is not
        overdue while it waits for its pre-notified collection."""
        result = super()._compute_needed_terms()
        for move in self.with_context(bin_size=False):
            terms = move.needed_terms
            if not terms:
                continue
            due = max((key["date_maturity"] for key in terms if key.get("date_maturity")), default=False)
            day = move._sepa_expected_collection_date(due)
            if not day or all(key.get("date_maturity") == day for key in terms):
                continue
            merged = {}
            for key, values in terms.items():
                key = frozendict({**key, "date_maturity": day})
                if key not in merged:
                    merged[key] = dict(values)
                    continue
                # two instalments become one: added in their currencies' rounding
                merged[key]["balance"] = move.company_currency_id.round(
                    merged[key]["balance"] + values["balance"])
                merged[key]["amount_currency"] = move.currency_id.round(
                    merged[key]["amount_currency"] + values["amount_currency"])
            move.needed_terms = merged
        return result

    def _sepa_debit_mandate(self):
        """The mandate this invoice is collected with: a customer invoice whose mandate is active and that
        is not held from direct debit; else empty, and the invoice is paid another way.  The PDF prints the
        debit notice in place of the bank-transfer block, and the UBL file names the mandate, for it."""
        self.ensure_one()
        mandate = self.sepa_mandate_id
        if self.move_type == "out_invoice" and mandate.state == "active" and not self.sepa_hold:
            return mandate
        return mandate.browse()

    def _sepa_debit_notice(self):
        """The pre-notification the PDF prints in place of the bank-transfer block: the amount (still due, or
        the total once collected), the masked
        account, the mandate, the day and the creditor identifier, in one sentence of the document's language
        (the report renders the invoice in its customer's)."""
        self.ensure_one()
        mandate = self._sepa_debit_mandate()
        if not mandate:
            return False
        return self.env._(
            "This invoice will be collected by SEPA direct debit: %(amount)s from account %(account)s (mandate "
            "%(mandate)s) on or about %(date)s, creditor identifier %(creditor)s.",
            amount=format_amount(self.env, self.amount_residual or self.amount_total, self.currency_id),
            account=mandate.iban_masked or "", mandate=mandate.name,
            date=format_date(self.env, self.sepa_collection_date),
            creditor=self.company_id.recurring_sepa_creditor_identifier or "")

    @api.depends("sepa_mandate_id.state", "sepa_hold")
    def _compute_display_qr_code(self):
        """No bank-transfer QR code on an invoice collected by direct debit: it would invite a transfer on top
        of the debit."""
        result = super()._compute_display_qr_code()
        for move in self.filtered("display_qr_code"):
            if move._sepa_debit_mandate():
                move.display_qr_code = False
        return result

    # One invoice per subscription and period, whatever runs at the same time:
    # the billing run relies on it as its last line of defence.  Corrections of a period
    # (recurring_correction) come on top of its one invoice.
    _recurring_period_unique = models.UniqueIndex(
        "(recurring_order_id, recurring_period_start) "
        "WHERE recurring_order_id IS NOT NULL AND move_type = 'out_invoice' AND state != 'cancel' "
        "AND recurring_correction IS NOT TRUE",
        "A subscription period can be invoiced only once.",
    )

    @api.depends("sepa_line_ids.return_reason_id")
    def _compute_sepa_failure_reason(self):
        for move in self:
            failed = move.sepa_line_ids.filtered("return_reason_id").sorted("id")[-1:]
            move.sepa_failure_reason = failed.return_reason_id.with_context(
                lang=move.partner_id.lang or self.env.lang).name or False

    def _sepa_notify_failure(self):
        """Tell each customer (who has an e-mail address) that their direct debit failed: the amount, the
        reason in plain words, and the next attempt or how to pay otherwise (mail template, queued)."""
        template = self.env.ref("sale_weekly_subscription.mail_template_direct_debit_failed", raise_if_not_found=False)
        to_tell = self.filtered(lambda move: move.partner_id.email)
        if template and to_tell:
            template.send_mail_batch(to_tell.ids)

    def _sepa_plan_representation(self, day, reason):
        """A temporary return: offer these invoices again after the company's business days, at most its
        number of times; then hold them, with an activity.  Written in one call per outcome."""
        by_vals, held = {}, []
        for move in self:
            company = move.company_id
            failed = move.sepa_failed_count + 1
            if failed > company.sepa_represent_max:
                vals = (("sepa_failed_count", failed), ("sepa_hold", True))
                held.append(move.id)
            else:
                vals = (("sepa_failed_count", failed),
                        ("sepa_retry_date", target2.add_business_days(day, company.sepa_represent_days)))
            by_vals.setdefault(vals, []).append(move.id)
        for vals, ids in by_vals.items():
            self.browse(ids).write(dict(vals))
        held = self.browse(held)
        held._sepa_apply_unpaid_action()
        for move in held:
            move._sepa_schedule_activity(self.env._("Direct debit failed"), self.env._(
                "The direct debit of %(invoice)s failed %(count)s times (last: %(reason)s). It is no longer "
                "collected automatically: remind the customer, or agree another way to pay.",
                invoice=move.name, count=move.sepa_failed_count, reason=reason.display_name))

    def _sepa_apply_unpaid_action(self):
        """These invoices failed more often than the company re-presents them: their subscriptions do what
        their plan says (*After Failed Collections*): keep billing, close today with the reason *Unpaid
        invoices*, or suspend deliveries (``sale.order._recurring_suspend``)."""
        orders = self.recurring_order_id
        unpaid = self.env.ref("sale_weekly_subscription.close_reason_unpaid")
        for order in orders.filtered(lambda o: o.recurring_plan_id.unpaid_action == "close" and o.recurring_can_close):
            order._recurring_close(order._recurring_today(), unpaid, self.env._(
                "Closed: the direct debit failed %(count)s times.", count=order.company_id.sepa_represent_max + 1))
        orders.filtered(lambda o: o.recurring_plan_id.unpaid_action == "suspend" and o.recurring_state in (
            "progress", "to_renew", "paused", "suspended"))._recurring_suspend(self)

    def _sepa_schedule_activity(self, summary, note, remember=True):
        """A to-do for whoever answers for these invoices: on the subscription when there is one.  With
        ``remember``, each invoice keeps it (``sepa_activity_ids``), to mark it done once paid another way."""
        for move in self:
            order = move.recurring_order_id
            target = order or move
            user = order._recurring_error_responsible() if order else (move.invoice_user_id or self.env.user)
            activity = target.activity_schedule("mail.mail_activity_data_todo", summary=summary, note=note,
                                                user_id=user.id)
            if remember:
                move.sudo().sepa_activity_ids |= activity

    # -- paid another way: the dunning ladder stops ---------------------------

    def _sepa_unpaid_after_failure(self):
        """The invoices of ``self`` still unpaid after a failed collection: posted, or reset to draft (it is
        owed again once posted), not (fully) paid, with a direct debit the bank returned or rejected.  A
        cancelled one is owed no more."""
        return self.filtered(lambda move: move.state in ("posted", "draft")
                             and move.payment_state in ("not_paid", "partial")
                             and move.sepa_line_ids.filtered(lambda line: line.state in ("returned", "rejected")))

    def _invoice_paid_hook(self):
        """Odoo calls this once an invoice is paid, after any reconciliation (a payment, a bank statement line,
        a manual match; ``account.move.line._reconcile_post_hook``): the dunning ladder may stop
        (``_sepa_settled``)."""
        result = super()._invoice_paid_hook()
        self._sepa_settled()
        return result

    def _sepa_settled(self):
        """These invoices were just paid or fully credited.  One in the dunning ladder (held, failed, waiting
        to be re-presented) settled by anything but our own direct debit leaves it (``_sepa_stop_ladder``); a
        subscription suspended for non-payment resumes when none of its invoices is still unpaid after a
        failed collection (``sale.order._recurring_resume_if_paid``)."""
        paid = self.filtered(lambda move: move.move_type == "out_invoice"
                             and move.payment_state in ("paid", "in_payment", "reversed"))
        if not self.env.context.get("recurring_sepa_collection"):
            paid.filtered(lambda move: move.sepa_hold or move.sepa_failed_count or move.sepa_retry_date
                          or move.sepa_activity_ids)._sepa_stop_ladder()
        paid.sudo().recurring_order_id._recurring_resume_if_paid()

    def _sepa_stop_ladder(self, cancelled=False):
        """These invoices were paid another way (a transfer, a manual payment, a credit note), or, with
        ``cancelled``, cancelled: no more hold, no re-presentation, no failure count; their dunning to-dos are
        done, and the chatter says so."""
        moves = self.sudo()
        for move in moves:
            count = move.sepa_failed_count or len(move.sepa_line_ids.filtered(
                lambda line: line.state in ("returned", "rejected")))
            if cancelled:
                body = self.env._(
                    "Cancelled after %(count)s failed direct debit(s): it is no longer held nor re-presented.",
                    count=count)
            else:
                body = self.env._(
                    "Paid another way after %(count)s failed direct debit(s): it is no longer held nor "
                    "re-presented.", count=count)
            move.message_post(body=body)
        moves.write({"sepa_hold": False, "sepa_failed_count": 0, "sepa_retry_date": False})
        moves.sepa_activity_ids.action_feedback(
            feedback=self.env._("Invoice cancelled.") if cancelled else self.env._("Paid another way."))

    def button_cancel(self):
        """Odoo's cancel (from posted or draft): a cancelled invoice is owed no more, so it leaves the dunning
        ladder (``_sepa_cancelled``).  Resetting to draft alone changes nothing: the invoice is owed again
        once posted."""
        result = super().button_cancel()
        self._sepa_cancelled()
        return result

    def _sepa_cancelled(self):
        """These invoices were just cancelled.  One in the dunning ladder leaves it, as when paid another way
        (``_sepa_stop_ladder``, the chatter saying *cancelled*); a subscription suspended for non-payment
        resumes when none of its invoices is still unpaid after a failed collection
        (``sale.order._recurring_resume_if_paid``)."""
        cancelled = self.filtered(lambda move: move.move_type == "out_invoice" and move.state == "cancel")
        cancelled.filtered(lambda move: move.sepa_hold or move.sepa_failed_count or move.sepa_retry_date
                           or move.sepa_activity_ids)._sepa_stop_ladder(cancelled=True)
        cancelled.sudo().recurring_order_id._recurring_resume_if_paid(resumed_by="cancel")

    def action_view_recurring_order(self):
        self.ensure_one()
        return self.recurring_order_id._recurring_form_action()

    def _get_invoice_computed_reference(self):
        """With the company's 'One Payment Reference per Subscription', a subscription invoice carries
        its subscription's reference, in the journal's communication standard."""
        order = self.recurring_order_id
        if order and self.move_type == "out_invoice" and self.company_id.recurring_stable_payment_reference:
            reference = order._recurring_payment_reference(self.journal_id)
            if reference:
                return reference
        return super()._get_invoice_computed_reference()

    def _recurring_post(self):
        """Post the subscription invoices the billing run made (plans with "Post automatically"),
        in one call.  Override to post differently, or to check something first."""
        if self:
            self._post(soft=False)

    def _recurring_send(self):
        """Queue posted subscription invoices for Odoo's standard sending (``account.move.send``, in
        batches, by the "Send invoices" scheduled action), which follows each customer's preferred
        sending method: e-mail with the PDF, or Peppol when ``account_peppol`` is installed and the
        customer's endpoint is verified.  Plans decide; a customer who can only be e-mailed and has
        no e-mail address is reported on the subscription instead."""
        to_send = self.filtered(lambda move: move.state == "posted"
                                and move.recurring_order_id.recurring_plan_id.auto_send)
        sender = self.env["account.move.send"]
        no_email = to_send.filtered(lambda move: not move.partner_id.email and not (
            sender._get_default_sending_methods(move) - {"email"}))
        for move in no_email:
            move.recurring_order_id.message_post(body=self.env._(
                "Invoice %(invoice)s was not sent: %(partner)s has no e-mail address (field 'Email').",
                invoice=move.name, partner=move.partner_id.display_name))
        queued = to_send - no_email
        if queued:
            queued.sending_data = {
                "author_user_id": self.env.user.id,
                "author_partner_id": self.env.user.partner_id.id,
            }
            self.env.ref("account.ir_cron_account_move_send")._trigger()


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    def _reconcile_post_hook(self, data):
        """Odoo calls ``_invoice_paid_hook`` for the invoices a reconciliation paid, not for those it settled
        with their credit note (payment status *Reversed*): those leave the dunning ladder too."""
        result = super()._reconcile_post_hook(data)
        data["not_paid_invoices"].filtered(lambda move: move.payment_state == "reversed")._sepa_settled()
        return result

    recurring_period_start = fields.Date(
        string="Line Period Start", copy=False, readonly=True,
        help="First day of the subscription period this line bills: an invoice with a lead-in merged into its "
             "first full period bills two periods, one set of lines each.")
    recurring_period_end = fields.Date(
        string="Line Period End", copy=False, readonly=True,
        help="Last day of the subscription period this line bills.")
    recurring_base_before = fields.Monetary(
        string="Period Amount Before", copy=False, readonly=True,
        help="On a correction: what the period's invoice charged for this line's period so far (its "
             "untaxed amount, or the taxed one when the price includes a tax). The correction bills the "
             "corrected days' share of the difference with the amount after; a pause gives back the same "
             "share of both.")
    recurring_base_after = fields.Monetary(
        string="Period Amount After", copy=False, readonly=True,
        help="On a correction: what the period's invoice line would bill for this line's period after the "
             "change.")
