from datetime import date, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged

from . import test_sepa
from .common import SubscriptionCase

D = date
# the helpers of the SEPA tests (runs, collected batches, returns, bank files), without their tests
SEPA = test_sepa.TestSepa


@tagged("post_install", "-at_install")
class TestDunning(SubscriptionCase):
    """After failed collections: a plan that suspends deliveries, a payment received another way that
    stops the ladder, and a batch booked in several credits."""

    _mandate = classmethod(SEPA._mandate.__func__)
    _debit_subscription = SEPA._debit_subscription
    _run = SEPA._run
    _collected_batch = SEPA._collected_batch
    _return_with = SEPA._return_with
    _camt054 = SEPA._camt054
    _entry = staticmethod(SEPA._entry)
    _credit_entry = SEPA._credit_entry
    _import = SEPA._import

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_data["company"]
        cls.pricelist = cls._setup_euro_company()
        company.recurring_catch_up_limit = 10
        cls._setup_sepa_creditor(sepa_sequence_policy="frst")
        cls.journal = cls.company_data["default_journal_bank"]
        cls.customer.write({"city": "Liège", "country_id": cls.env.ref("base.be").id, "company_id": False})
        cls.plan = cls._create_plan(name="Weekly box", auto_send=False, payment_method="sepa",
                                    unpaid_action="suspend")
        cls.mandate = cls._mandate("be68 5390 0754 7034")
        cls.unpaid = cls.env.ref("sale_weekly_subscription.close_reason_unpaid")

    # -- helpers -------------------------------------------------------------

    def _batch(self, day, requested):
        with freeze_time(f"{day} 09:00"):
            batch = self.env["sale.recurring.sepa.batch"].browse(self._run(requested).action_create()["res_id"])
            batch.action_sent()
        return batch

    def _collect(self, batch):
        with freeze_time(f"{batch.collection_date} 18:00"):
            batch.action_collected()

    def _pay_by_transfer(self, invoice, day):
        """The customer's bank transfer, booked and reconciled with ``invoice`` by hand."""
        with freeze_time(f"{day} 11:00"):
            manual = self.journal.inbound_payment_method_line_ids.filtered(lambda line: line.code == "manual")[:1]
            payment = self.env["account.payment"].create({
                "payment_type": "inbound", "partner_type": "customer", "partner_id": self.customer.id,
                "amount": invoice.amount_residual, "journal_id": self.journal.id, "date": day,
                "payment_method_line_id": manual.id, "memo": invoice.payment_reference})
            payment.action_post()
            (payment.move_id.line_ids + invoice.line_ids).filtered(
                lambda line: line.account_id.account_type == "asset_receivable" and not line.reconciled).reconcile()
        return payment

    def _two_weeks_in_a_batch(self):
        """A subscription from 30 Nov 2026 billed for its first two weeks, both invoices in one batch sent
        on 7 Dec (not collected yet): (order, first invoice, second invoice, batch)."""
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        with freeze_time("2026-12-07 08:00"):
            self._run_billing()
        first, second = order.recurring_invoice_ids.sorted("recurring_period_start")
        return order, first, second, self._batch("2026-12-07", "2026-12-21")

    def _first_invoices_in_a_batch(self, count):
        """``count`` subscriptions from 30 Nov 2026, their first invoices in one batch sent that day (not
        collected yet)."""
        with freeze_time("2026-11-30 08:00"):
            for _i in range(count):
                self._debit_subscription()
            self._run_billing()
        return self._batch("2026-11-30", "2026-12-14")

    @staticmethod
    def _said(record, text):
        return any(text in (body or "") for body in record.message_ids.mapped("body"))

    def _suspend_at_once(self):
        """A subscription from 30 Nov 2026 whose first direct debit is returned (AM04) on 16 Dec, with a
        company that re-presents none: suspended from the first period not yet invoiced, 21 Dec."""
        self.company_data["company"].sepa_represent_max = 0
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        with freeze_time("2026-12-14 08:00"):
            self._run_billing()  # 7-13 and 14-20 Dec
        self._return_with(self._collected_batch(order), "AM04", "2026-12-16")
        self.assertEqual(order.recurring_state, "suspended")
        self.assertEqual(order.recurring_suspended_from, D(2026, 12, 21))
        return order

    # -- suspend deliveries --------------------------------------------------

    def test_the_third_failure_suspends_until_a_transfer_pays_the_invoice(self):
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self._return_with(self._collected_batch(order), "AM04", "2026-12-16")
        second = self._batch("2026-12-17", "2026-12-23")
        self.assertEqual(second.line_ids.invoice_id, invoice)
        self._collect(second)
        self._return_with(second, "MS03", "2026-12-28")
        self.assertEqual((invoice.sepa_failed_count, order.recurring_state), (2, "progress"))
        third = self._batch("2026-12-29", "2027-01-05")
        with freeze_time("2027-01-04 08:00"):
            self._run_billing()  # 7 Dec to 10 Jan, five weeks
        self.assertEqual(len(order.recurring_invoice_ids), 6)
        self.assertEqual(order.recurring_invoiced_until, D(2027, 1, 10))
        self._collect(third)
        self._return_with(third, "AM04", "2027-01-07")
        # the third failure: held, and the plan suspends deliveries from the first day not yet invoiced
        self.assertEqual((invoice.sepa_failed_count, invoice.sepa_hold), (3, True))
        self.assertEqual(order.recurring_state, "suspended")
        self.assertEqual(order.recurring_suspended_from, D(2027, 1, 11))
        self.assertFalse(order.recurring_close_date, "suspended, not closed")
        self.assertFalse(order.recurring_next_invoice_date)
        suspension = order.recurring_suspension_ids
        self.assertEqual((suspension.state, suspension.start_date, suspension.end_date, suspension.invoice_ids),
                         ("running", D(2027, 1, 11), False, invoice))
        self.assertIn("Suspended for non-payment from", order.recurring_suspension_banner)
        todo = order.activity_ids.filtered(lambda a: a.summary == "Suspended for non-payment")
        self.assertEqual(todo.user_id, self.env.user)
        self.assertTrue(order.activity_ids.filtered(lambda a: a.summary == "Direct debit failed"))
        self.assertTrue(self._said(order, "Suspended for non-payment: the direct debit of"))
        told = self.env["mail.mail"].search([("model", "=", "account.move"), ("res_id", "=", invoice.id)],
                                            order="id desc", limit=1)
        self.assertIn("is suspended", told.body_html)
        self.assertIn("January 11, 2027", told.body_html)
        # nothing is billed from 11 Jan
        for day in ("2027-01-11", "2027-01-18"):
            with freeze_time(f"{day} 08:00"):
                self._run_billing()
        self.assertEqual(len(order.recurring_invoice_ids), 6)
        # no direct debit while suspended: not offered, and refused if forced
        others = order.recurring_invoice_ids - invoice
        with freeze_time("2027-01-08 09:00"):
            run = self._run("2027-01-25")
            self.assertFalse(run.line_ids)
            self.assertIn("suspended for non-payment", run.left_out_html)
            with self.assertRaisesRegex(UserError, "suspended for non-payment"):
                self.env["sale.recurring.sepa.batch"]._create_run(others[:1], self.journal, D(2027, 1, 25), "CORE")
        # the forecast expects nothing from then; the MRR sets it aside, not as churn
        with freeze_time("2027-01-20 09:00"):
            rows = self.env["sale.recurring.forecast"]._compute_rows(D(2027, 1, 1), 6)
            self.assertFalse([row for row in rows if row[2] == order.id])
            self.env["sale.recurring.mrr"]._rebuild(months=2)
        mrr = self.env["sale.recurring.mrr"].search([("order_id", "=", order.id)], order="month")
        self.assertEqual([(row.month, row.status, row.mrr, row.movement) for row in mrr], [
            (D(2026, 12, 1), "active", round(39.90 * 52 / 12, 2), "new"),
            (D(2027, 1, 1), "suspended", 0.0, "suspended")])
        month = self.env["sale.recurring.mrr.month"].search(
            [("company_id", "=", self.company_data["company"].id), ("month", "=", D(2027, 1, 1))])
        self.assertEqual((month.suspended_count, month.churn_mrr, month.closed_count), (1, 0.0, 0))
        self.assertEqual(round(month.suspended_mrr, 2), -round(39.90 * 52 / 12, 2))
        # the customer pays the failed invoice by bank transfer on Wednesday 20 Jan: the ladder stops
        self._pay_by_transfer(invoice, "2027-01-20")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual((invoice.sepa_hold, invoice.sepa_failed_count, invoice.sepa_retry_date), (False, 0, False))
        self.assertFalse(order.activity_ids.filtered(lambda a: a.summary == "Direct debit failed"), "marked done")
        self.assertTrue(self._said(invoice, "Paid another way after 3 failed direct debit(s)"))
        # ... and the subscription resumes from the day of the payment
        self.assertEqual(order.recurring_state, "progress")
        self.assertEqual((suspension.state, suspension.end_date, suspension.resumed_by),
                         ("done", D(2027, 1, 19), "payment"))
        self.assertFalse(order.activity_ids.filtered(lambda a: a.summary == "Suspended for non-payment"))
        self.assertEqual(order.recurring_next_period_start, D(2027, 1, 20))
        with freeze_time("2027-01-20 12:00"):
            self._run_billing()
            run = self._run("2027-02-15")
        new = order.recurring_invoice_ids - invoice - others
        self.assertEqual((new.recurring_period_start, new.recurring_period_end), (D(2027, 1, 20), D(2027, 1, 26)))
        self.assertEqual(run.line_ids.invoice_id, others | new, "collected again; the paid invoice is not")

    def test_resume_and_close_by_hand(self):
        order = self._suspend_at_once()
        invoice = order.recurring_invoice_ids.sorted("recurring_period_start")[0]
        self.assertTrue(order.recurring_can_resume)
        self.assertFalse(order.recurring_can_pause)
        with freeze_time("2026-12-17 09:00"):
            with self.assertRaises(AccessError):
                order.with_user(self.user).action_recurring_resume()
            with self.assertRaisesRegex(UserError, "not running"):
                self.env["sale.recurring.pause"]._check_order_pausable(order)
            order.action_recurring_resume()
        self.assertEqual(order.recurring_state, "progress")
        suspension = order.recurring_suspension_ids
        self.assertEqual((suspension.state, suspension.resumed_by), ("cancel", "user"),
                         "resumed before its first day: nothing was suspended")
        self.assertTrue(invoice.sepa_hold, "a resume by hand pays nothing: the invoice stays held")
        self.assertTrue(self._said(order, "Resumed by"))
        with freeze_time("2026-12-17 09:00"), self.assertRaisesRegex(UserError, "not suspended"):
            order.action_recurring_resume()
        self.assertEqual(order.recurring_next_period_start, D(2026, 12, 21))

        # the next failure suspends it again; the accountant closes it, with the reason "Unpaid invoices"
        with freeze_time("2026-12-21 08:00"):
            self._run_billing()
        self.assertEqual(order.recurring_invoiced_until, D(2026, 12, 27))
        with freeze_time("2026-12-21 09:00"):
            invoice.sepa_hold = False
        batch = self._batch("2026-12-21", "2027-01-05")
        self._collect(batch)
        self._return_with(batch, "AM04", "2027-01-06")
        self.assertEqual((order.recurring_state, order.recurring_suspended_from), ("suspended", D(2027, 1, 11)))
        self.assertEqual(order.recurring_next_invoice_date, D(2026, 12, 28), "the weeks before it are billed")
        with freeze_time("2027-01-07 09:00"):
            self.assertTrue(order.recurring_can_close)
            wizard = self.env["sale.order.recurring.close"].create({
                "order_id": order.id, "reason_id": self.unpaid.id, "close_date": "2027-01-07"})
            wizard.action_close()
        self.assertEqual((order.recurring_state, order.recurring_close_reason_id), ("closed", self.unpaid))
        last = order.recurring_suspension_ids.sorted("id")[-1]
        self.assertEqual(last.state, "cancel", "closed before its first day suspended")
        self.assertFalse(order.activity_ids.filtered(lambda a: a.summary == "Suspended for non-payment"))

    def test_a_suspension_resumes_only_once_every_failed_invoice_is_paid(self):
        self.company_data["company"].sepa_represent_max = 0
        self.plan.unpaid_action = "suspend"
        order, first, second, batch = self._two_weeks_in_a_batch()
        self.assertEqual(batch.line_ids.invoice_id, first | second)
        self._collect(batch)
        self._return_with(batch, "AM04", "2026-12-23")  # the transaction of each invoice
        self.assertEqual(order.recurring_state, "suspended")
        self.assertEqual(order.recurring_suspension_ids.invoice_ids, first | second)
        self._pay_by_transfer(first, "2026-12-28")
        self.assertEqual(order.recurring_state, "suspended", "the second invoice is still unpaid")
        self.assertFalse(first.sepa_hold)
        self._pay_by_transfer(second, "2026-12-30")
        self.assertEqual(order.recurring_state, "progress")
        self.assertEqual(order.recurring_suspension_ids.end_date, D(2026, 12, 29))

    # -- paid another way, keep billing ----------------------------------------

    def test_a_transfer_stops_a_pending_re_presentation_and_a_dispute(self):
        self.plan.unpaid_action = "keep"
        order, first, second, batch = self._two_weeks_in_a_batch()
        self._collect(batch)
        self.env["sale.recurring.sepa.return"].create({
            "line_ids": [Command.set(batch.line_ids.filtered(lambda line: line.invoice_id == first).ids)],
            "reason_id": self.env["sale.recurring.return.reason"].search([("code", "=", "AM04")]).id,
            "return_date": "2026-12-23"}).action_return()
        self.env["sale.recurring.sepa.return"].create({
            "line_ids": [Command.set(batch.line_ids.filtered(lambda line: line.invoice_id == second).ids)],
            "reason_id": self.env["sale.recurring.return.reason"].search([("code", "=", "MD06")]).id,
            "return_date": "2026-12-23"}).action_return()
        self.assertEqual(first.sepa_failed_count, 1)
        self.assertTrue(first.sepa_retry_date)
        self.assertTrue(second.sepa_hold)
        disputed = order.activity_ids.filtered(lambda a: a.summary == "Direct debit disputed")
        self.assertEqual(second.sepa_activity_ids, disputed)
        for invoice in (first, second):
            self._pay_by_transfer(invoice, "2026-12-28")
        self.assertEqual((first.sepa_failed_count, first.sepa_retry_date, first.sepa_hold), (0, False, False))
        self.assertFalse(second.sepa_hold)
        self.assertFalse(disputed.active, "the activity is done")
        self.assertFalse(order.activity_ids & disputed)
        self.assertTrue(self._said(second, "Paid another way"))
        self.assertEqual(order.recurring_state, "progress")
        with freeze_time("2026-12-29 09:00"):
            run = self._run("2027-01-08")
        self.assertFalse(run.line_ids.invoice_id & (first | second), "never re-presented")

    def test_a_credit_note_settling_a_held_invoice_stops_the_ladder_too(self):
        """Fully credited, an invoice is *Reversed*, not *Paid*: Odoo's paid hook is not called for it, the
        add-on's reconciliation hook is."""
        order = self._suspend_at_once()
        invoice = order.recurring_invoice_ids.sorted("recurring_period_start")[0]
        failed = order.activity_ids.filtered(lambda a: a.summary == "Direct debit failed")
        self.assertEqual(invoice.sepa_activity_ids, failed)
        with freeze_time("2026-12-18 10:00"):
            invoice._reverse_moves([{"invoice_date": D(2026, 12, 18), "ref": "Credited"}], cancel=True)
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual((invoice.sepa_hold, invoice.sepa_failed_count), (False, 0))
        self.assertFalse(failed.active)
        self.assertEqual(order.recurring_state, "progress", "nothing unpaid after a failed collection any more")
        self.assertEqual(order.recurring_suspension_ids.state, "cancel", "resumed before its first day")

    # -- cancelled rather than paid ---------------------------------------------

    def test_a_cancelled_failed_invoice_resumes_the_subscription(self):
        """An accountant cancels the unpaid invoice whose direct debit failed (posted -> cancelled, Odoo's
        *Cancel*): it is owed no more, the ladder stops and the subscription resumes that day."""
        order = self._suspend_at_once()
        invoice = order.recurring_invoice_ids.sorted("recurring_period_start")[0]
        failed = order.activity_ids.filtered(lambda a: a.summary == "Direct debit failed")
        self.assertEqual(invoice.sepa_activity_ids, failed)
        with freeze_time("2026-12-23 10:00"):
            invoice.button_cancel()
        self.assertEqual((invoice.state, invoice.sepa_hold, invoice.sepa_failed_count, invoice.sepa_retry_date),
                         ("cancel", False, 0, False))
        self.assertFalse(failed.active, "the dunning to-do is done")
        self.assertTrue(self._said(invoice, "Cancelled after 1 failed direct debit(s)"))
        self.assertFalse(self._said(invoice, "Paid another way"))
        self.assertEqual(order.recurring_state, "progress")
        suspension = order.recurring_suspension_ids
        self.assertEqual((suspension.state, suspension.start_date, suspension.end_date, suspension.resumed_by),
                         ("done", D(2026, 12, 21), D(2026, 12, 22), "cancel"))
        self.assertFalse(order.activity_ids.filtered(lambda a: a.summary == "Suspended for non-payment"))
        self.assertTrue(self._said(order, "Resumed: the invoices whose direct debit failed are paid or cancelled."))
        self.assertEqual(order.recurring_next_period_start, D(2026, 12, 23))
        with freeze_time("2026-12-23 12:00"):
            self._run_billing()
        new = order.recurring_invoice_ids.filtered(lambda move: move.recurring_period_start == D(2026, 12, 23))
        self.assertEqual(new.recurring_period_end, D(2026, 12, 29), "billing starts again the day of the cancellation")

    def test_a_draft_reset_keeps_the_suspension_until_the_invoice_is_cancelled(self):
        """Reset to draft, the invoice is still owed once posted again: nothing changes, neither then nor when
        it is posted again, nor when the other failed invoice is paid meanwhile.  Cancelled from draft, it is
        owed no more and the subscription resumes."""
        self.company_data["company"].sepa_represent_max = 0
        order, first, second, batch = self._two_weeks_in_a_batch()
        self._collect(batch)
        self._return_with(batch, "AM04", "2026-12-23")
        self.assertEqual((order.recurring_state, order.recurring_suspended_from), ("suspended", D(2026, 12, 28)))
        suspension = order.recurring_suspension_ids
        with freeze_time("2026-12-24 09:00"):
            first.button_draft()
        self.assertEqual((first.state, first.sepa_hold, first.sepa_failed_count), ("draft", True, 1))
        self.assertEqual(order.recurring_state, "suspended", "a draft reset alone resumes nothing")
        self.assertEqual(suspension.state, "running")
        self._pay_by_transfer(second, "2026-12-28")
        self.assertEqual(second.payment_state, "paid")
        self.assertEqual(order.recurring_state, "suspended", "the invoice reset to draft is still owed")
        with freeze_time("2026-12-29 09:00"):
            first.action_post()
        self.assertEqual((first.state, first.sepa_hold, order.recurring_state), ("posted", True, "suspended"),
                         "posted again: still unpaid after a failed collection")
        with freeze_time("2026-12-30 09:00"):
            first.button_draft()
            self.assertEqual(order.recurring_state, "suspended")
            first.button_cancel()
        self.assertEqual((first.state, first.sepa_hold, first.sepa_failed_count), ("cancel", False, 0))
        self.assertTrue(self._said(first, "Cancelled after 1 failed direct debit(s)"))
        self.assertEqual(order.recurring_state, "progress")
        self.assertEqual((suspension.state, suspension.end_date, suspension.resumed_by),
                         ("done", D(2026, 12, 29), "cancel"))

    def test_a_credit_note_of_the_reversal_wizard_resumes_the_subscription(self):
        """Odoo's *Credit Note* wizard (a draft credit note, posted later): posted, it is matched with the
        failed invoice, which is *Reversed*; the subscription resumes that day.  Still in draft, nothing."""
        order = self._suspend_at_once()
        invoice = order.recurring_invoice_ids.sorted("recurring_period_start")[0]
        with freeze_time("2026-12-23 10:00"):
            wizard = self.env["account.move.reversal"].with_context(
                active_model="account.move", active_ids=invoice.ids).create({
                    "journal_id": invoice.journal_id.id, "reason": "Box not delivered", "date": D(2026, 12, 23)})
            credit_note = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
            self.assertEqual((credit_note.state, order.recurring_state), ("draft", "suspended"))
            credit_note.action_post()
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual((invoice.sepa_hold, invoice.sepa_failed_count), (False, 0))
        self.assertEqual(order.recurring_state, "progress")
        suspension = order.recurring_suspension_ids
        self.assertEqual((suspension.state, suspension.end_date, suspension.resumed_by),
                         ("done", D(2026, 12, 22), "payment"))

    def test_cancelling_another_invoice_keeps_the_suspension(self):
        """Only the invoices unpaid after a failed collection count: cancelling a later invoice that was never
        collected resumes nothing and leaves the failed one in the ladder."""
        order = self._suspend_at_once()
        failed_invoice, later = order.recurring_invoice_ids.sorted("recurring_period_start")[:2]
        with freeze_time("2026-12-17 10:00"):
            later.button_cancel()
        self.assertEqual(later.state, "cancel")
        self.assertEqual(order.recurring_state, "suspended")
        self.assertEqual((failed_invoice.sepa_hold, failed_invoice.sepa_failed_count), (True, 1))
        self.assertFalse(self._said(later, "Cancelled after"))

    def test_our_own_collection_does_not_stop_the_ladder(self):
        self.plan.unpaid_action = "keep"
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self._return_with(self._collected_batch(order), "AM04", "2026-12-16")
        second = self._batch("2026-12-17", "2026-12-23")
        self._collect(second)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(invoice.sepa_failed_count, 1, "a re-presentation may still come back")
        self.assertFalse(self._said(invoice, "Paid another way"))

    # -- a batch booked in several credits ---------------------------------------

    def test_a_batch_collected_in_two_credits_lists_both_entries(self):
        batch = self._first_invoices_in_a_batch(2)
        frst = batch.line_ids.filtered(lambda line: line.sequence_type == "FRST")
        rcur = batch.line_ids - frst
        with freeze_time("2026-12-14 19:00"):
            self._import(("camt1.xml", self._camt054([self._credit_entry(batch, frst.amount, block=1)])))
        self.assertEqual(batch.collection_move_count, 1)
        with freeze_time("2026-12-15 19:00"):
            self._import(("camt2.xml", self._camt054([self._credit_entry(
                batch, rcur.amount, booked="2026-12-15", block=2)])))
        entries = batch.collection_move_ids
        self.assertEqual(len(entries), 2)
        self.assertEqual(entries, frst.payment_line_id.move_id | rcur.payment_line_id.move_id)
        self.assertEqual(batch.collection_move_id, rcur.payment_line_id.move_id, "the last one, as before")
        self.assertEqual(sorted(entries.mapped("date")), [D(2026, 12, 14), D(2026, 12, 15)])
        action = batch.action_view_collection_moves()
        self.assertEqual(self.env["account.move"].search(action["domain"]), entries)

    # -- a big file: the notes and e-mails come from the scheduled action -------

    def _told(self, invoice):
        return self.env["mail.mail"].search_count([("model", "=", "account.move"), ("res_id", "=", invoice.id)])

    def test_a_big_file_leaves_the_notes_and_e_mails_to_the_scheduled_action_exactly_once(self):
        """Above the system parameter, the import books and marks; the scheduled action, started by the
        import, writes the notes and the e-mails once, and a failed import leaves neither marks nor a start."""
        self.env["ir.config_parameter"].sudo().set_param("sale_weekly_subscription.sepa_followup_inline", "1")
        with freeze_time("2026-11-30 08:00"):
            orders = [self._debit_subscription() for _i in range(2)]
            self._run_billing()
        batch = self._batch("2026-11-30", "2026-12-14")
        self._collect(batch)
        lines = batch.line_ids
        invoices = lines.invoice_id
        cron = self.env.ref("sale_weekly_subscription.ir_cron_sepa_failure_followup")
        Trigger = self.env["ir.cron.trigger"]
        triggers = Trigger.search_count([("cron_id", "=", cron.id)])
        entries = [SEPA._return_entry(self, line, "AM04") for line in lines]
        # a file that cannot be booked (its second return is on another account's file): nothing at all
        with freeze_time("2026-12-16 19:00"), self.assertRaises(UserError):
            self._import(("both.xml", self._camt054(entries)),
                         ("other.xml", self._camt054(entries[:1], account="DE89370400440532013000")))
        self.assertEqual(set(lines.mapped("state")), {"collected"})
        self.assertFalse(lines.filtered("followup_pending"))
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), triggers)
        with freeze_time("2026-12-16 19:00"):
            result = self._import(("both.xml", self._camt054(entries)))
        self.assertIn("2 returned", result)
        self.assertIn("2 invoice(s) to re-present, 0 held, 0 mandate(s) revoked", result)
        self.assertIn("written in the background", result)
        # booked and re-presented at once; told later
        self.assertEqual(set(lines.mapped("state")), {"returned"})
        self.assertEqual(set(invoices.mapped("payment_state")), {"not_paid"})
        self.assertEqual(set(invoices.mapped("sepa_retry_date")), {D(2026, 12, 23)})
        self.assertTrue(all(lines.mapped("followup_pending")))
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), triggers + 1)
        self.assertFalse(any(self._said(invoice, "returned by the bank") for invoice in invoices))
        self.assertEqual([self._told(invoice) for invoice in invoices], [0, 0])
        # one invoice is paid by transfer before the scheduled action runs: its customer is not told
        self._pay_by_transfer(invoices[0], "2026-12-16")
        with self.enter_registry_test_mode():  # its own cursor, as the scheduler runs it
            cron.method_direct_trigger()
        self.assertFalse(lines.filtered("followup_pending"))
        for line in lines:
            for record in (line.mandate_id, line.invoice_id, line.invoice_id.recurring_order_id):
                self.assertTrue(self._said(record, f"Direct debit of {line.invoice_id.name} returned by the bank"))
        self.assertEqual([self._told(invoice) for invoice in invoices], [0, 1])
        # exactly once: a second run finds nothing to tell
        with self.enter_registry_test_mode():
            cron.method_direct_trigger()
        self.assertEqual([self._told(invoice) for invoice in invoices], [0, 1])
        notes = [len(order.message_ids.filtered(lambda m, n=order.recurring_invoice_ids[:1].name: n and (
            f"Direct debit of {n} returned" in (m.body or "")))) for order in orders]
        self.assertEqual(notes, [1, 1])

    def test_one_transaction_that_cannot_be_told_of_stops_none_of_the_others(self):
        """The template breaks for one invoice (an administrator's edit): the scheduled action tells the
        other customer, says on the batch which one failed and why, and is done."""
        self.env["ir.config_parameter"].sudo().set_param("sale_weekly_subscription.sepa_followup_inline", "0")
        batch = self._first_invoices_in_a_batch(2)
        self._collect(batch)
        broken, fine = batch.line_ids.sorted("id")
        template = self.env.ref("sale_weekly_subscription.mail_template_direct_debit_failed")
        template.body_html = (f'<div><t t-if="object.id == {broken.invoice_id.id}" t-out="object.no_such_field"/>'
                              f'<p>Dear customer, your direct debit failed.</p></div>')
        with freeze_time("2026-12-16 19:00"):
            entries = [SEPA._return_entry(self, line, "AM04") for line in batch.line_ids]
            self._import(("both.xml", self._camt054(entries)))
        with self.enter_registry_test_mode(), self.assertLogs("odoo.addons.sale_weekly_subscription.models.sepa_batch",
                                                              "WARNING") as logged:
            self.env.ref("sale_weekly_subscription.ir_cron_sepa_failure_followup").method_direct_trigger()
        self.assertIn("line by line", logged.output[0])
        self.assertFalse(batch.line_ids.filtered("followup_pending"), "done, not retried for ever")
        self.assertEqual((self._told(broken.invoice_id), self._told(fine.invoice_id)), (0, 1))
        self.assertTrue(self._said(fine.invoice_id, "returned by the bank"))
        self.assertFalse(self._said(broken.invoice_id, "returned by the bank"), "its note went back with the error")
        self.assertTrue(self._said(batch, f"The customer of {broken.invoice_id.name} could not be told"))

    def test_a_status_report_rejects_per_reason_and_tells_once(self):
        """A pain.002 rejecting two transactions with one reason, one of them named twice: each rejected
        once, each invoice re-presented once, each customer told once."""
        batch = self._first_invoices_in_a_batch(2)
        first, second = batch.line_ids.sorted("id")
        with freeze_time("2026-12-01 10:00"):
            result = self._import(("status.xml", SEPA._pain002(self, batch, [
                (first, "AM04"), (second, "AM04"), (first, "AM04")])))
        self.assertIn("2 rejected", result)
        self.assertIn("1 already known", result)
        self.assertIn("2 invoice(s) to re-present", result)
        self.assertEqual(set(batch.line_ids.mapped("state")), {"rejected"})
        self.assertEqual(batch.line_ids.invoice_id.mapped("sepa_failed_count"), [1, 1])
        for line in (first, second):
            self.assertEqual(self._told(line.invoice_id), 1)
            notes = line.invoice_id.message_ids.filtered(lambda m: "rejected by the bank" in (m.body or ""))
            self.assertEqual(len(notes), 1)

    def test_the_result_screen_says_what_the_failures_led_to(self):
        """Per file, what the failures did: here a company that re-presents none, so the return holds
        the invoice and the plan suspends the subscription; then a reject with AC04 revokes the mandate."""
        self.company_data["company"].sepa_represent_max = 0
        with freeze_time("2026-11-30 08:00"):
            order = self._debit_subscription()
            self._run_billing()
        batch = self._batch("2026-11-30", "2026-12-14")
        self._collect(batch)
        with freeze_time("2026-12-16 19:00"):
            result = self._import(("one.xml", self._camt054([SEPA._return_entry(self, batch.line_ids, "AM04")])))
        self.assertEqual(order.recurring_state, "suspended")
        self.assertIn("1 returned, 0 batch(es) collected", result)
        self.assertIn("0 invoice(s) to re-present, 1 held, 0 mandate(s) revoked, 1 subscription(s) suspended, "
                      "0 closed", result)
        self.mandate.state = "active"
        other = self._debit_subscription()
        with freeze_time("2026-12-17 08:00"):
            self._run_billing()
        second = self._batch("2026-12-17", "2026-12-28")
        line = second.line_ids.filtered(lambda line: line.invoice_id.recurring_order_id == other)[:1]
        with freeze_time("2026-12-18 10:00"):
            result = self._import(("status.xml", SEPA._pain002(self, second, [(line, "AC04")])))
        self.assertEqual(self.mandate.state, "revoked")
        self.assertIn("1 rejected", result)
        self.assertIn("0 invoice(s) to re-present, 0 held, 1 mandate(s) revoked, 0 subscription(s) suspended",
                      result)

    def test_a_small_file_tells_at_once(self):
        batch = self._first_invoices_in_a_batch(1)
        self._collect(batch)
        with freeze_time("2026-12-16 19:00"):
            result = self._import(("one.xml", self._camt054([SEPA._return_entry(self, batch.line_ids, "AM04")])))
        self.assertNotIn("background", result)
        self.assertFalse(batch.line_ids.followup_pending)
        self.assertTrue(self._said(batch.line_ids.invoice_id, "returned by the bank"))
        self.assertEqual(self._told(batch.line_ids.invoice_id), 1)


@tagged("post_install", "-at_install")
class TestDunningPortal(SubscriptionCase, HttpCase):
    """A subscriber sees, in their words, that their subscription is suspended for non-payment."""

    def test_the_portal_says_the_deliveries_are_suspended(self):
        company = self.company_data["company"]
        plan = self._create_plan(name="Weekly box", auto_send=False, unpaid_action="suspend")
        portal = new_test_user(self.env, login="portal_dunning", groups="base.group_portal", name="Anna Peeters",
                               company_id=company.id, company_ids=[Command.set(company.ids)])
        today = fields.Date.context_today(self.env.user)
        order = self._create_subscription(plan, today - timedelta(days=today.weekday()),
                                          partner_id=portal.partner_id.id)
        order._recurring_suspend(self.env["account.move"])
        self.assertEqual(order.recurring_state, "suspended")
        self.authenticate("portal_dunning", "portal_dunning")
        listing = self.url_open("/my/subscriptions")
        self.assertIn("Suspended: an invoice is unpaid", listing.text)
        page = self.url_open(f"/my/subscriptions/{order.id}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("o_portal_suspended_notice", page.text)
        self.assertIn("Your deliveries are suspended", page.text)
        self.assertNotIn("o_portal_pause_form", page.text, "a suspended subscription cannot be paused")
