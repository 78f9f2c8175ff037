"""A subscription's life cycle: start, close, reopen, renew, and the daily terms action."""

import logging
from dataclasses import replace
from datetime import timedelta

from odoo import api, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tools import format_amount, format_date

from ..engine import periods, schedule
from .sale_order import MANAGER_GROUP

_logger = logging.getLogger(__name__)


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # -- life cycle ----------------------------------------------------------

    def _confirmation_error_message(self):
        """Odoo's own check before anything is written: a subscription needs product lines and a
        total that is not negative."""
        error = super()._confirmation_error_message()
        if error or not self.recurring_plan_id:
            return error
        if not self.order_line.filtered(lambda line: not line.display_type):
            return self.env._(
                "Subscription %(order)s has no product lines: add what it bills every period.",
                order=self.display_name)
        if self.currency_id.compare_amounts(self.amount_untaxed, 0) < 0:
            return self.env._(
                "Subscription %(order)s: its total (%(total)s) is negative; a subscription bills a positive "
                "amount every period (a discount belongs on a line with a positive total).",
                order=self.display_name, total=format_amount(self.env, self.amount_untaxed, self.currency_id))
        return False

    def action_confirm(self):
        """From the form (context ``recurring_catch_up_check``): a subscription that would start with
        more due invoices than its company's catch-up limit asks first, showing how many."""
        if self.env.context.get("recurring_catch_up_check"):
            behind = self.filtered("recurring_plan_id")._recurring_catch_up_due()
            if behind:
                return self.env["sale.order.recurring.catch.up"]._action_open(self, behind)
        return super().action_confirm()

    def _recurring_catch_up_due(self):
        """{order: its due invoices (engine ``schedule.Invoice``)} for the subscriptions of ``self``
        that are due more invoices today than their company's catch-up limit and not approved.
        A quotation is counted with the term its confirmation will give it."""
        behind = {}
        for order in self.filtered(lambda o: not o.recurring_catch_up_approved and o.recurring_start_date):
            plan = order.recurring_plan_id
            today = order.company_id._recurring_billing_day()
            if order.recurring_start_date > today:
                continue
            planned = order._recurring_schedule()
            if order.state in ("draft", "sent") and plan.duration_type == "fixed":
                planned = replace(planned, end=periods.term_end(
                    planned.rhythm, order.recurring_start_date, plan.duration_periods))
            limit = order.company_id.recurring_catch_up_limit
            due = []
            for invoice in schedule.invoices(planned):
                if invoice.period.invoice_date > today:
                    break
                due.append(invoice)
            if len(due) > limit:
                behind[order] = due
        return behind

    def action_recurring_approve_catch_up(self):
        """The next billing run makes every due invoice of these subscriptions at once."""
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(self.env._("Only invoicing users can approve a catch-up."))
        for order in self:
            order._recurring_flow_write({"recurring_catch_up_approved": True, "recurring_catch_up_on": False})
            order.message_post(body=self.env._(
                "Catch-up approved by %(user)s: the next billing run makes every due invoice at once.",
                user=self.env.user.name))
        return True

    def _action_confirm(self):
        result = super()._action_confirm()
        self.filtered("recurring_plan_id")._recurring_start()
        return result

    def _recurring_start(self):
        """Set the terms of subscriptions being confirmed."""
        for order in self:
            plan = order.recurring_plan_id
            rhythm = plan._rhythm(order.recurring_send_weekday)
            vals = {"recurring_schedule_start": order.recurring_start_date}
            if plan.duration_type == "fixed":
                vals["recurring_end_date"] = periods.term_end(
                    rhythm, order.recurring_start_date, plan.duration_periods)
            elif plan.duration_type == "commitment":
                vals["recurring_commitment_end_date"] = periods.term_end(
                    rhythm, order.recurring_start_date, plan.duration_periods)
            order._recurring_flow_write(vals)

    def _recurring_earliest_close_date(self):
        """First day the customer may end the service: notice, commitment and start allowing."""
        self.ensure_one()
        plan = self.recurring_plan_id
        today = self._recurring_today()
        earliest = periods.add_notice(today, plan.notice_quantity, plan.notice_unit)
        for day in (self.recurring_commitment_end_date, self.recurring_start_date):
            if day and day > earliest:
                earliest = day
        return earliest

    def _recurring_close(self, close_date, reason, comment=False):
        """Close on ``close_date`` (last day of service); now when that day has come.  A close
        already announced may be moved to another day."""
        closed = self.filtered(lambda order: order.recurring_close_date or order.recurring_state == "closed")
        (self - closed)._recurring_check_allowed("close")
        closed._recurring_check_allowed("reopen")
        today = self._recurring_today()
        vals = {
            "recurring_close_date": close_date,
            "recurring_close_reason_id": reason.id,
            "recurring_close_comment": comment,
        }
        if close_date <= today:
            vals["recurring_state"] = "closed"
            # closed while suspended for non-payment: the suspension ends with the service
            self.recurring_suspension_ids._end(close_date + timedelta(days=1), "closed")
        later = self.recurring_pause_ids.filtered(lambda p: p.state == "scheduled" and p.start_date > close_date)
        later.action_cancel()
        self._recurring_flow_write(vals)
        self.activity_unlink(["mail.mail_activity_data_todo"])

    def action_recurring_close(self):
        self.ensure_one()
        self._recurring_check_allowed("close")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Close Subscription"),
            "res_model": "sale.order.recurring.close",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_recurring_reopen(self):
        self._recurring_check_allowed("reopen")
        for order in self:
            order._recurring_reopen()
        self._recurring_update_renewals()
        return True

    def _recurring_reopen(self):
        """Reopen.  When the last day of service has passed and every period up to it is
        invoiced, billing resumes today: the days it was closed are not billed."""
        self.ensure_one()
        today = self._recurring_today()
        last = self.recurring_last_date
        vals = {
            # a close announced while suspended for non-payment is taken back: still suspended
            "recurring_state": "suspended" if self.recurring_state == "suspended" else "progress",
            "recurring_close_date": False,
            "recurring_close_reason_id": False,
            "recurring_close_comment": False,
        }
        resumes = last and last < today and not self.recurring_next_invoice_date
        if resumes:
            vals.update(recurring_schedule_start=today, recurring_invoiced_until=today - timedelta(days=1))
        self._recurring_flow_write(vals)
        if resumes:
            self.message_post(body=self.env._(
                "Subscription reopened: billing resumes on %(day)s; the days since %(last)s are not billed.",
                day=format_date(self.env, today), last=format_date(self.env, last)))
        else:
            self.message_post(body=self.env._("Subscription reopened."))

    def action_recurring_renew(self):
        """Extend a fixed term by the plan's renewal length (manual renewal)."""
        self._recurring_check_allowed("renew")
        self._recurring_renew()
        return True

    def _recurring_renew(self):
        for order in self:
            plan = order.recurring_plan_id
            old_end = order.recurring_end_date
            sched = order._recurring_schedule()
            new_end = periods.extend_term(sched.rhythm, sched.segment_start, old_end, plan.renewal_periods,
                                          pauses=sched.pauses)
            vals = {"recurring_end_date": new_end}
            if order.recurring_state == "to_renew":
                vals["recurring_state"] = "progress"
            order._recurring_flow_write(vals)
            order.activity_feedback(["mail.mail_activity_data_todo"])
            order.message_post(body=self.env._(
                "Renewed: the term now ends on %(new)s instead of %(old)s.",
                new=format_date(self.env, new_end), old=format_date(self.env, old_end)))

    def action_recurring_preview(self):
        self.ensure_one()
        if not self.recurring_plan_id:
            raise UserError(self.env._("%(order)s has no subscription plan.", order=self.display_name))
        preview = self.env["sale.order.recurring.preview"].create({"order_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Upcoming Invoices"),
            "res_model": "sale.order.recurring.preview",
            "res_id": preview.id,
            "view_mode": "form",
            "target": "new",
        }

    # -- scheduled work ------------------------------------------------------

    def _recurring_update_renewals(self):
        """Renewals that are due: automatic ones extend, manual ones wait for the salesperson."""
        for order in self:
            today = order._recurring_today()
            plan = order.recurring_plan_id
            if order.recurring_state not in ("progress", "to_renew", "paused") or order.recurring_close_date \
                    or not order.recurring_end_date or plan.renewal_type == "none":
                continue
            due = order.recurring_end_date - timedelta(weeks=plan.renewal_notice_weeks)
            if due > today:
                continue
            if plan.renewal_type == "auto":
                order._recurring_renew()
            elif order.recurring_state == "progress":
                # a paused one is asked for once it resumes
                order._recurring_flow_write({"recurring_state": "to_renew"})
                order.activity_schedule(
                    "mail.mail_activity_data_todo",
                    date_deadline=min(due + timedelta(days=7), order.recurring_end_date),
                    summary=self.env._("Renew the subscription"),
                    note=self.env._("The term of %(order)s ends on %(end)s.",
                                    order=order.display_name,
                                    end=format_date(self.env, order.recurring_end_date)),
                    user_id=order.user_id.id or self.env.uid)

    def _recurring_close_ended(self):
        """Close the subscriptions whose last day of service has passed.

        A closed subscription still bills the periods it was in service for (its
        last period in arrears, say): the billing run includes closed ones.
        """
        ended = self.filtered(lambda o: o.recurring_state in ("progress", "to_renew", "paused", "suspended")
                              and o.recurring_last_date and o.recurring_last_date < o._recurring_today())
        for order in ended.filtered(lambda o: o.recurring_state == "suspended"):
            order.recurring_suspension_ids._end(order.recurring_last_date + timedelta(days=1), "closed")
        end_of_term = self.env.ref("sale_weekly_subscription.close_reason_end_of_term", raise_if_not_found=False)
        (ended - ended.filtered("recurring_close_reason_id"))._recurring_flow_write(
            {"recurring_close_reason_id": end_of_term.id if end_of_term else False})
        ended._recurring_flow_write({"recurring_state": "closed"})
        ended.activity_unlink(["mail.mail_activity_data_todo"])
        # deductions waiting for an invoice that will never come are credited
        ended.filtered(lambda o: not o.recurring_next_invoice_date).recurring_pause_ids._credit_carry_over()
        for order in ended:
            order.message_post(body=self.env._(
                "Subscription closed: its last day of service was %(day)s.",
                day=format_date(self.env, order.recurring_last_date)))

    @api.model
    def _cron_recurring_terms(self):
        """Daily: renew what is due, then close what has ended."""
        base = [("state", "=", "sale"), ("recurring_plan_id", "!=", False),
                ("recurring_state", "in", ("progress", "to_renew", "paused", "suspended"))]
        renewing = self.search([
            *base, ("recurring_end_date", "!=", False), ("recurring_close_date", "=", False),
            ("recurring_plan_id.renewal_type", "!=", "none")])
        renewing._recurring_update_renewals()
        # each company's own today (its time zone), archived companies included
        todays = {company.id: company._recurring_today() for [company] in self.sudo()._read_group(base, ["company_id"])}
        ended = self.search(Domain(base) & self._recurring_per_company("recurring_last_date", "<", todays))
        ended._recurring_close_ended()
        # the stored invoice status does not see the days go by: refresh the ones now due
        self.search(self._recurring_due_domain() & Domain("invoice_status", "!=", "to invoice")
                    )._compute_invoice_status()

    def action_recurring_skip(self):
        """Skip a Delivery: the next send days, and the one to skip (``sale.recurring.skip.wizard``)."""
        self.ensure_one()
        self.env["sale.recurring.pause"]._check_order_pausable(self, skip=True)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Skip a Delivery"),
            "res_model": "sale.recurring.skip.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_recurring_pause(self):
        self.ensure_one()
        self.env["sale.recurring.pause"]._check_order_pausable(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Pause Subscription"),
            "res_model": "sale.recurring.pause.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    # -- suspension for non-payment ------------------------------------------

    def _recurring_suspend(self, invoices):
        """Suspend these subscriptions for non-payment (plan: *After Failed Collections* is *Suspend
        deliveries*): ``invoices`` failed to be collected too often.

        The suspension starts on the first period boundary not yet invoiced from today (the rule of the
        Pause button's default start, ``_recurring_next_boundary``): every invoice already made stays as
        it is and is owed; nothing is billed from that day.  The responsible gets an activity, the
        chatter says so.  A subscription suspended already only records the new unpaid invoices."""
        Suspension = self.env["sale.recurring.suspension"].sudo()
        for order in self:
            mine = invoices.filtered(lambda move, o=order: move.recurring_order_id == o)
            running = order._recurring_running_suspension()
            if running:
                running.sudo().invoice_ids |= mine
                continue
            start = order._recurring_next_boundary(order._recurring_today())
            names = ", ".join(mine.mapped("name"))
            activity = order.activity_schedule(
                "mail.mail_activity_data_todo", summary=self.env._("Suspended for non-payment"),
                note=self.env._(
                    "The direct debit of %(invoices)s failed too often: %(order)s is suspended from %(day)s. It "
                    "resumes on its own once they are paid; or resume it, or close it, by hand.",
                    invoices=names, order=order.display_name, day=format_date(self.env, start)),
                user_id=order._recurring_error_responsible().id)
            Suspension.create({"order_id": order.id, "start_date": start, "invoice_ids": [(6, 0, mine.ids)],
                               "activity_id": activity.id})
            order._recurring_flow_write({"recurring_state": "suspended"})
            order.message_post(body=self.env._(
                "Suspended for non-payment: the direct debit of %(invoices)s failed %(count)s times. No delivery "
                "and no invoice from %(day)s; the subscription resumes on its own once the unpaid invoices are "
                "paid.", invoices=names, count=order.company_id.sepa_represent_max + 1,
                day=format_date(self.env, start)))

    def _recurring_resume(self, resumed_by):
        """End the suspension for non-payment of these subscriptions today: billing starts again from today
        (the schedule picks up as after a pause that ended yesterday: same rhythm, send day and anchoring),
        or, resumed before the first day suspended, nothing was suspended.  ``resumed_by``: "payment",
        "cancel" (the last unpaid invoice was cancelled) or "user"."""
        for order in self.filtered(lambda o: o.recurring_state == "suspended"):
            today = order._recurring_today()
            order.recurring_suspension_ids.sudo()._end(today, "done", resumed_by)
            paused = "running" in order.recurring_pause_ids.mapped("state")
            order._recurring_flow_write({"recurring_state": "paused" if paused else "progress"})
            order._recurring_update_renewals()
            if resumed_by == "payment":
                why = self.env._("Resumed: the invoices whose direct debit failed are paid.")
            elif resumed_by == "cancel":
                why = self.env._("Resumed: the invoices whose direct debit failed are paid or cancelled.")
            else:
                why = self.env._("Resumed by %(user)s.", user=self.env.user.name)
            order.message_post(body=self.env._(
                "%(why)s Deliveries and billing start again on %(day)s; next invoice on %(next)s.", why=why,
                day=format_date(self.env, today),
                next=format_date(self.env, order.recurring_next_invoice_date)
                if order.recurring_next_invoice_date else "-"))

    def _recurring_resume_if_paid(self, resumed_by="payment"):
        """Resume the suspended subscriptions of ``self`` none of whose invoices is still unpaid after a
        failed collection (``account.move._sepa_unpaid_after_failure``: an invoice reset to draft still
        counts, a cancelled one no more).  ``resumed_by``: "payment", or "cancel" when an invoice was just
        cancelled."""
        suspended = self.filtered(lambda o: o.recurring_state == "suspended")
        if not suspended:
            return
        unpaid = self.env["account.move"].sudo().search([
            ("recurring_order_id", "in", suspended.ids), ("move_type", "=", "out_invoice"),
            ("state", "in", ("posted", "draft")),
            ("payment_state", "in", ("not_paid", "partial"))])._sepa_unpaid_after_failure()
        (suspended - unpaid.recurring_order_id)._recurring_resume(resumed_by)

    def action_recurring_resume(self):
        """Resume by hand a subscription suspended for non-payment: billing starts again today, whatever its
        invoices (still held ones stay held).  Invoicing users and subscription administrators only."""
        if not (self.env.user.has_group("account.group_account_invoice") or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(self.env._(
                "Only invoicing users and subscription administrators can resume a subscription suspended for "
                "non-payment."))
        self._recurring_check_allowed("resume")
        self._recurring_resume("user")
        return True
