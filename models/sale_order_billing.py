"""The billing run: what is due, the row locks, the invoices, posting, sending and errors."""

import logging
import random
import time
from collections import defaultdict

from psycopg2.extensions import TransactionRollbackError

from odoo import api, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Command, Domain

from ..engine import forecast, schedule
from .account_journal import SDD_CODE
from .sale_order import MANAGER_GROUP

_logger = logging.getLogger(__name__)

BATCH_SIZE = 100
MAX_CONFLICTS = 50
SPLIT = 10  # a failed batch is billed again in this many parts, each in its own savepoint


class SaleOrder(models.Model):
    _inherit = "sale.order"

    @api.model
    def _recurring_lock_due(self, limit=BATCH_SIZE, order_ids=None, skip_ids=(), todays=None, resting=False):
        """Lock up to ``limit`` due subscriptions that no other worker holds, and return them.

        What is due is ``_recurring_due_domain``; the rows are taken with
        ``try_lock_for_update`` (``FOR UPDATE SKIP LOCKED``), so that parallel workers
        share the work: each one takes rows the others have not locked, and the lock
        lasts until its batch is committed with the invoices and the new "Invoiced Until".
        With ``resting``, subscriptions whose billing failed earlier the same day are left out
        (``_recurring_resting_domain``).
        """
        todays = self._recurring_company_todays() if todays is None else todays
        domain = self._recurring_due_domain(todays)
        if resting:
            domain &= self._recurring_resting_domain(todays)
        if order_ids:
            domain &= Domain("id", "in", list(order_ids))
        if skip_ids:
            domain &= Domain("id", "not in", list(skip_ids))
        # all companies' subscriptions, whatever the scheduler user's companies
        Orders = self.sudo().with_context(active_test=False)
        window, offset = limit * 10, 0
        while True:
            due = Orders.search(domain, order="recurring_next_invoice_date, id", limit=window, offset=offset)
            orders = self.browse(due.ids).try_lock_for_update(limit=limit)
            if orders or len(due) < window:
                break
            offset += window  # every row of this window is held by another worker
        # another worker may have billed them since this transaction read them
        orders.invalidate_recordset()
        return orders

    @api.model
    def _recurring_resting_domain(self, todays):
        """The subscriptions the billing run may take: not failed, nor held back by the catch-up limit,
        yet on their company's today.

        A failure is remembered ("Billing Failed On") so that a broken subscription costs one
        attempt a day, not one per batch or per call of the scheduled action; a change to the
        subscription, its lines, its plan or its products forgets it (``_recurring_forget_failure``).
        """
        return (Domain("recurring_billing_failed_on", "=", False)
                | self._recurring_per_company("recurring_billing_failed_on", "<", todays)) & \
            (Domain("recurring_catch_up_on", "=", False)
             | self._recurring_per_company("recurring_catch_up_on", "<", todays))

    @api.model
    def _cron_recurring_billing(self, batch_size=BATCH_SIZE):
        """Scheduled billing run: invoice every due period exactly once, batch by batch."""
        cron = self.env["ir.cron"]
        done = 0
        todays = self._recurring_company_todays()
        skipped = set()  # every subscription is taken once per run
        conflicts = 0
        cron._commit_progress(remaining=self.sudo().search_count(
            self._recurring_due_domain(todays) & self._recurring_resting_domain(todays)))
        while conflicts <= MAX_CONFLICTS:
            try:
                orders = self._recurring_lock_due(batch_size, skip_ids=skipped, todays=todays, resting=True)
                if not orders:
                    break
                orders._recurring_bill_isolated(todays)
                self.env.flush_all()
            except TransactionRollbackError:
                # Another worker committed a row this transaction also changes (the
                # customer's rank, a sequence): roll back and take the batch again.
                self.env.cr.rollback()
                conflicts += 1
                time.sleep(random.uniform(0.01, 0.1) * min(conflicts, 10))
                continue
            # taken once per run: a subscription held back by the catch-up limit is still due
            skipped.update(orders.ids)
            done += len(orders)
            conflicts = 0  # only conflicts in a row end the run
            if not cron._commit_progress(len(orders)):
                break
        return done

    def action_recurring_run_billing_now(self):
        """Run billing now (Settings, the subscription list's header): the scheduled billing run, started
        by an accountant instead of waiting for its hour, with what it did.  The run is the scheduled
        action itself, so it bills every due subscription (not only those selected) exactly as the
        scheduler does, and exactly once per period."""
        if not (self.env.user.has_group("account.group_account_invoice") or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(self.env._("Only invoicing users and subscription administrators can run the billing."))
        # the run bills every company, as the scheduler does; what it reports is the user's companies' only
        mine = [("company_id", "in", self.env.user.company_ids.ids)]
        Move, Order = self.env["account.move"].sudo(), self.sudo()
        last_move = Move.search([], order="id desc", limit=1).id or 0
        todays = Order._recurring_company_todays()
        failed_before = set(Order.search([("recurring_billing_failed_on", "!=", False)]).ids)
        cron = self.env.ref("sale_weekly_subscription.ir_cron_recurring_billing").sudo()
        cron.method_direct_trigger()
        invoices = Move.search([("id", ">", last_move), ("recurring_order_id", "!=", False),
                                ("move_type", "=", "out_invoice"), *mine])
        failed = Order.search([("recurring_billing_failed_on", "!=", False),
                               ("id", "not in", list(failed_before)), *mine])
        failed = failed.filtered(lambda order: order.recurring_billing_failed_on == todays.get(order.company_id.id))
        waiting = Order.search_count([("recurring_billing_error", "!=", False), *mine])
        message = self.env._(
            "Invoices made: %(invoices)s, for %(subscriptions)s subscriptions. Not billed in this run: %(errors)s. "
            "Subscriptions with a billing error: %(waiting)s (the 'Billing Errors' filter lists them, each with its "
            "reason).", invoices=len(invoices), subscriptions=len(invoices.recurring_order_id), errors=len(failed),
            waiting=waiting)
        return {"type": "ir.actions.client", "tag": "display_notification", "params": {
            "title": self.env._("Billing run done"), "message": message, "sticky": bool(waiting),
            "type": "warning" if waiting else "success", "next": {"type": "ir.actions.act_window_close"}}}

    def _recurring_bill_isolated(self, todays):
        """Bill these locked subscriptions in a savepoint; when that fails, roll back to it and bill
        them again in tenths, each in its own savepoint, down to the one subscription that fails,
        whose error is stored.

        One broken subscription in a batch of 100 costs the failed batch, one failed tenth and
        ten smaller batches, in the same transaction and under the same locks.  A conflict with
        another worker is no failure of a subscription: it goes up to the run, which takes the
        batch again.  Returns the subscriptions billed.
        """
        try:
            with self.env.cr.savepoint():
                return self._recurring_bill_due(todays).recurring_order_id
        except TransactionRollbackError:
            raise
        except Exception as error:  # isolated below, one subscription at a time
            if len(self) > 1:
                _logger.info("Billing %s subscriptions failed; billing them again in tenths", len(self))
                size = -(-len(self) // SPLIT)
                billed = self.browse()
                for first in range(0, len(self), size):
                    billed |= self[first:first + size]._recurring_bill_isolated(todays)
                return billed
            message = self._recurring_error_text(error)
            _logger.info("Subscription %s not billed: %s", self.name, message)
        self._recurring_set_billing_errors({self: message}, todays)
        return self.browse()

    def _recurring_due_invoices(self, today):
        """The invoices of this subscription whose invoice date has come (engine
        ``schedule.Invoice``: the period, its untaxed amount and the deductions it carries)."""
        self.ensure_one()
        due = []
        for invoice in self._recurring_invoices():
            if invoice.period.invoice_date > today:
                break
            due.append(invoice)
        return due

    def _recurring_bill_due(self, todays):
        """Invoice every due period of these (locked) subscriptions; post and send per plan.

        ``todays`` maps each company id to its today (``_recurring_company_todays``).  A
        subscription more periods behind than its company's catch-up limit gets that many
        invoices only, unless its catch-up was approved; the rest wait for the next days and the
        subscription says how many are held back ("Invoices Held Back").
        """
        orders = self.with_context(recurring_journals={})  # one journal look-up per company
        work, behind = {}, {}
        for order in orders:
            due = order._recurring_due_invoices(todays[order.company_id.id])
            limit = order.company_id.recurring_catch_up_limit
            if len(due) > limit and not order.recurring_catch_up_approved:
                behind[order] = len(due) - limit
                due = due[:limit]
            if due:
                work[order] = due
        moves = orders._recurring_make_invoices(work, todays)
        orders._recurring_set_catch_up(behind, todays)
        return moves

    def _recurring_set_catch_up(self, behind, todays):
        """After a run: ``behind`` ({order: invoices held back}) flags the subscriptions it held back,
        once with a message, and leaves them alone for the rest of the day; the others billed are caught
        up and their approval is used."""
        for order, count in behind.items():
            limit = order.company_id.recurring_catch_up_limit
            if not order.recurring_catch_up_behind:
                order.message_post(body=self.env._(
                    "The billing run made %(limit)s invoices only: %(count)s more are due. It makes at most "
                    "%(limit)s a day (company setting 'Catch-up Limit'); approve the catch-up to bill them "
                    "all in the next run.", limit=limit, count=count))
            order._recurring_flow_write({"recurring_catch_up_behind": count,
                                         "recurring_catch_up_on": todays[order.company_id.id]})
        # not billed (an error): the approval waits for the run that bills them
        caught_up = self.filtered(lambda order: order not in behind and not order.recurring_billing_error and (
            order.recurring_catch_up_behind or order.recurring_catch_up_approved or order.recurring_catch_up_on))
        if caught_up:
            caught_up._recurring_flow_write({"recurring_catch_up_behind": 0, "recurring_catch_up_approved": False,
                                             "recurring_catch_up_on": False})

    def _recurring_make_invoices(self, work, todays, invoice_date=None):
        """Create, post and send the invoices of ``work`` ({order: [schedule.Invoice]}) in batched
        calls.  ``invoice_date`` forces the date of every invoice (the "Invoice Now" button)."""
        errors = {}
        vals_list, owners = [], []
        for order, due in work.items():
            problem = order._recurring_check_invoiceable()
            if problem:
                errors[order] = problem
                continue
            skip_zero = order.recurring_plan_id.skip_zero_invoices
            fees = order._recurring_fee_line_vals()  # on the first invoice made only
            one_offs = order._recurring_one_off_line_vals()  # likewise
            for invoice in due:
                if not invoice.is_invoiced or (skip_zero and not invoice.deductions and not invoice.untaxed
                                               and not one_offs):
                    owners.append((order, invoice.bill))  # settled, with nothing to invoice (a free lead-in)
                    continue
                # in the subscription's company, as Odoo's own invoicing does (fiscal position, taxes)
                vals = order.with_company(order.company_id)._prepare_recurring_invoice_vals(
                    invoice, todays[order.company_id.id])
                if invoice_date:
                    vals["invoice_date"] = invoice_date
                if fees:
                    vals["invoice_line_ids"].append(Command.create(fees))
                    vals["recurring_fees_billed"] = fees["price_unit"]
                    fees = {}
                if one_offs:
                    vals["invoice_line_ids"] += [Command.create(line_vals) for line_vals in one_offs]
                    one_offs = []
                vals_list.append(vals)
                owners.append((order, invoice.bill))  # a merged or free lead-in with it
        moves = self._recurring_create_invoices(vals_list)
        billed = self.browse(list(dict.fromkeys(order.id for order, _period in owners)))
        to_post = moves.filtered(lambda move: move.recurring_order_id.recurring_plan_id.auto_post)
        to_post._recurring_post()
        self._recurring_set_invoiced_until(owners)
        billed._recurring_apply_line_changes()
        for move in moves.filtered("recurring_fees_billed"):
            move.recurring_order_id._recurring_flow_write({"recurring_pending_fees": 0.0})
        self._recurring_set_billing_errors(errors, todays)
        billed._recurring_clear_billing_errors()
        to_post._recurring_send()
        billed._recurring_close_ended()
        return moves

    @api.model
    def _recurring_create_invoices(self, vals_list):
        """Create the invoices of one batch in one call, without tracking messages."""
        Move = self.env["account.move"].with_context(
            tracking_disable=True, mail_create_nolog=True, mail_notrack=True, mail_auto_subscribe_no_notify=True)
        return Move.create(vals_list) if vals_list else Move

    def _recurring_check_invoiceable(self):
        """Why an invoice of this subscription cannot be made (a translated message), or None."""
        self.ensure_one()
        company = self.company_id
        partner = self.partner_invoice_id
        if not partner:
            return self.env._("Subscription %(order)s: the field 'Invoice Address' is empty.",
                              order=self.name)
        journal = self._recurring_journal()
        if not journal:
            return self.env._("Subscription %(order)s: no sales journal in company %(company)s.",
                              order=self.name, company=company.name)
        allowed_companies = company.parent_ids
        for line in self.order_line.filtered(lambda line: not line.display_type):
            product = line.product_id
            if not product.active:
                return self.env._(
                    "Subscription %(order)s: the product '%(product)s' is archived; replace it on "
                    "the line or restore it.", order=self.name, product=product.display_name)
            accounts = product.product_tmpl_id.with_company(company)._get_product_accounts()
            if not (accounts.get("income") or journal.default_account_id):
                return self.env._(
                    "Subscription %(order)s: the product '%(product)s' has no income account "
                    "(field 'Income Account' of the product or its category).",
                    order=self.name, product=product.display_name)
            foreign = line.tax_ids.filtered(lambda tax: tax.company_id not in allowed_companies)
            if foreign:
                return self.env._(
                    "Subscription %(order)s: the tax '%(tax)s' on '%(product)s' belongs to "
                    "another company (field 'Taxes' of the line).",
                    order=self.name, tax=foreign[0].display_name, product=product.display_name)
        return None

    def _recurring_journal(self):
        """The order's own journal; else the plan's sales journal when it belongs to the
        subscription's company; else the company's first sales journal (looked up once per
        company in a run)."""
        self.ensure_one()
        company = self.company_id
        if self.journal_id:
            return self.journal_id
        journal = self.recurring_plan_id.journal_id
        if journal and journal.company_id in company.parent_ids:
            return journal
        cache = self.env.context.get("recurring_journals")
        if cache is not None and company.id in cache:
            return self.env["account.journal"].browse(cache[company.id])
        journal = self.env["account.journal"].search([
            *self.env["account.journal"]._check_company_domain(company), ("type", "=", "sale")], limit=1)
        if cache is not None:
            cache[company.id] = journal.id
        return journal

    def _prepare_recurring_invoice_vals(self, invoice, today):
        """Values of the customer invoice of one period (``invoice``: an engine ``schedule.Invoice``).

        The header comes from Odoo's own ``_prepare_invoice`` and each line from
        ``_prepare_invoice_line``, so the order's journal, payment method and reference, the
        UTM fields, the link to the order lines and every add-on's extension of them come
        along; the period, the invoice date and the deducted paid days of a pause go on top.
        """
        self.ensure_one()
        period = invoice.period
        deducting = self.recurring_pause_ids.browse([deduction.key for deduction in invoice.deductions])
        policy = self.company_id.recurring_invoice_date_policy
        vals = self._prepare_invoice()
        # a payment transaction belongs to the order's first sale, not to every period's invoice
        vals.pop("transaction_ids", None)
        vals.update({
            "journal_id": self._recurring_journal().id,
            "invoice_date": today if policy == "run" else period.invoice_date,
            "recurring_order_id": self.id,
            "recurring_period_start": period.start,
            "recurring_period_end": period.end,
            # the MRR of the month ends this invoice covers, as billed (sale.recurring.mrr)
            "recurring_monthly_amount": float(self._recurring_monthly_amount()),
            "invoice_line_ids": [
                Command.create(vals) for vals in self._prepare_recurring_invoice_lines_vals(invoice)
            ] + [
                Command.create({**vals, "sequence": 1000})
                for pause in deducting for vals in pause.carry_over_lines
            ],
            "recurring_carry_over_pause_ids": [Command.link(pause.id) for pause in deducting],
        })
        vals.update(self._recurring_sepa_vals())
        return vals

    def _prepare_recurring_invoice_lines_vals(self, invoice):
        """The invoice lines of the periods ``invoice`` bills: one per subscription line and period,
        each labelled with its own period, so a lead-in merged with the first full period shows as
        lines of its own with its own dates and prorated amount, before the full period's."""
        return [vals for _line, vals in self._recurring_invoice_line_pairs(invoice)]

    def _recurring_invoice_line_pairs(self, invoice):
        """[(subscription line, its invoice line values)] of the periods ``invoice`` bills.  A line a
        change brings to 0 for a period is left off that period's invoice, unless no line is left."""
        self.ensure_one()
        lines = self.order_line.filtered(lambda line: line._recurring_is_billed_per_period())
        labels = {period: self._recurring_period_label(period.start, period.end) for period in invoice.periods}
        pairs = [(line, line._prepare_recurring_invoice_line_vals(period, labels[period]), period)
                 for period in invoice.periods for line in lines]
        billed = [(line, vals) for line, vals, period in pairs if line._recurring_quantity_for(period)]
        return billed or [(line, vals) for line, vals, _period in pairs]

    def _recurring_one_off_line_vals(self):
        """The invoice lines of the one-off lines not billed yet (``sale.order.line._recurring_one_off_due``):
        they go on the first invoice the run makes, in full, and link it to their order line in the same
        transaction, so that no later period, rerun or retry bills them again."""
        self.ensure_one()
        return [line._prepare_recurring_one_off_invoice_line_vals()
                for line in self.order_line._recurring_one_off_due()]

    def _recurring_fee_line_vals(self):
        """The line billing the bank's charges on returned direct debits, if any are pending."""
        if not self.recurring_pending_fees or not self.recurring_plan_id.charge_return_fees:
            return {}
        account = self.company_id.sepa_charges_account_id
        if not account:
            return {}
        partner_env = self.with_context(lang=self.partner_id.lang or self.env.lang).env
        return {"name": partner_env._("Bank charges of a returned direct debit"), "quantity": 1.0,
                "price_unit": self.recurring_pending_fees, "account_id": account.id, "tax_ids": [],
                "sequence": 2000}

    def _recurring_monthly_amount(self):
        """This subscription's MRR now, exact (``Decimal``): its full-period untaxed amount, turned
        into a month at its plan's rhythm."""
        self.ensure_one()
        plan = self.recurring_plan_id
        full = schedule.lines_amount([line._recurring_engine_line() for line in self.order_line
                                      if line._recurring_is_billed_per_period()], self.currency_id.rounding)
        return forecast.monthly_value(full, plan.billing_unit, plan.billing_interval)

    def _recurring_sepa_vals(self):
        """An invoice collected by direct debit carries the active mandate.  Its preferred payment
        method is SEPA direct debit when it has a mandate, or when its plan's default payment method
        is SEPA direct debit (the mandate may still be on its way)."""
        vals = {}
        if self.recurring_mandate_id.state == "active":
            vals["sepa_mandate_id"] = self.recurring_mandate_id.id
        elif self.recurring_plan_id.payment_method != "sepa":
            return vals
        cache = self.env.context.get("recurring_journals")
        key = ("sepa", self.company_id.id)
        if cache is not None and key in cache:
            line_id = cache[key]
        else:
            line_id = self.env["account.payment.method.line"].search([
                ("code", "=", SDD_CODE), ("journal_id.type", "=", "bank"),
                ("journal_id.company_id", "=", self.company_id.id)], limit=1).id
            if cache is not None:
                cache[key] = line_id
        if line_id:
            vals["preferred_payment_method_line_id"] = line_id
        return vals

    def _recurring_apply_line_changes(self):
        """After billing: the scheduled line changes of the periods now invoiced are applied (a change from
        then on becomes the subscription line itself, ``sale.recurring.line.change._recurring_apply``)."""
        changes = self.recurring_line_change_ids.filtered(
            lambda change: change.state == "scheduled" and change.order_id.recurring_invoiced_until
            and change.date <= change.order_id.recurring_invoiced_until)
        if changes:
            changes.sudo()._recurring_apply()

    def _recurring_set_invoiced_until(self, owners):
        """Move "Invoiced Until" to the end of the last period billed, in one write per date
        (``owners``: [(order, anything with an ``end``: an engine ``Bill`` or ``Period``)])."""
        last = {}
        for order, period in owners:
            if order not in last or period.end > last[order]:
                last[order] = period.end
        by_day = defaultdict(list)
        for order, day in last.items():
            by_day[day].append(order.id)
        for day, ids in by_day.items():
            self.browse(ids)._recurring_flow_write({"recurring_invoiced_until": day})

    @api.model
    def _recurring_error_text(self, error):
        if isinstance(error, UserError):
            return str(error.args[0]) if error.args else str(error)
        return self.env._("Unexpected error: %(error)s", error=str(error) or repr(error))

    def _recurring_set_billing_errors(self, errors, todays=None):
        """Store each error on its subscription with the day it failed ("Billing Failed On": the run
        leaves it alone for the rest of that day); the first time, an activity tells the salesperson."""
        activity_type = self.env.ref("sale_weekly_subscription.mail_activity_type_billing_error")
        if errors:
            # still due: "to invoice", whatever the status said before the due date came
            self.browse([order.id for order in errors])._compute_invoice_status()
        for order, message in errors.items():
            is_new = not order.recurring_billing_error
            today = (todays or {}).get(order.company_id.id) or order.company_id._recurring_today()
            order._recurring_flow_write({"recurring_billing_error": message, "recurring_billing_failed_on": today})
            if is_new:
                order.activity_schedule(
                    activity_type_id=activity_type.id, summary=self.env._("Subscription not billed"),
                    note=message, user_id=order._recurring_error_responsible().id)

    def _recurring_error_responsible(self):
        """Who hears of a billing error: the salesperson; else the company's "Billing Errors To"
        (Settings); else a subscription administrator of the company; never an inactive user."""
        self.ensure_one()
        if self.user_id.active and not self.user_id.share:
            return self.user_id
        company = self.company_id
        if company.recurring_error_user_id.active:
            return company.recurring_error_user_id
        manager = self.env["res.users"].sudo().search([
            ("all_group_ids", "in", self.env.ref(MANAGER_GROUP).id), ("share", "=", False),
            ("company_ids", "in", company.id)], order="id", limit=1)
        return manager or self.env.user

    def _recurring_clear_billing_errors(self):
        failed = self.filtered(lambda order: order.recurring_billing_error or order.recurring_billing_failed_on)
        if failed:
            failed._recurring_flow_write({"recurring_billing_error": False, "recurring_billing_failed_on": False})
            failed.activity_unlink(["sale_weekly_subscription.mail_activity_type_billing_error"])

    def action_recurring_invoice_now(self):
        """Invoice the next period not yet invoiced, today, whatever its scheduled date."""
        self.ensure_one()
        self._recurring_check_allowed("invoice_now")
        upcoming = self._recurring_invoices(1)
        if not upcoming:
            raise UserError(self.env._("Subscription %(order)s has no period left to invoice.",
                                       order=self.name))
        locked = self._recurring_lock_rows()
        upcoming = self._recurring_invoices(1)  # read again under the lock
        if locked != self or not upcoming or self.recurring_next_period_start != upcoming[0].bill.start:
            raise UserError(self.env._(
                "Subscription %(order)s is being billed right now; try again in a moment.", order=self.name))
        problem = self._recurring_check_invoiceable()
        if problem:
            raise UserError(problem)
        today = self._recurring_today()
        self._recurring_make_invoices({self: upcoming}, {self.company_id.id: today}, invoice_date=today)
        return self.action_view_recurring_invoices()

    def _recurring_lock_rows(self):
        """Lock these subscriptions' rows unless another transaction holds them; return the locked ones."""
        locked = self.try_lock_for_update()
        locked.invalidate_recordset()
        return locked
