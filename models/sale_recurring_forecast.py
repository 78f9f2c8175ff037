from collections import defaultdict
from decimal import Decimal

from psycopg2.extras import execute_values

from odoo import api, fields, models
from odoo.tools import format_date

from ..engine import forecast, periods
from .sale_recurring_plan import WEEKDAYS

FORECAST_STATES = ("progress", "to_renew", "paused", "closed")


class SaleRecurringForecast(models.Model):
    """Expected revenue: what each subscription will invoice in each calendar month.

    Rebuilt on demand (and daily) from each subscription's real schedule by the
    pure ``engine.forecast``; untaxed, in the company currency.
    """

    _name = "sale.recurring.forecast"
    _description = "Expected Subscription Revenue"
    _order = "month, order_id"
    _rec_name = "order_id"

    company_id = fields.Many2one("res.company", readonly=True, index=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    order_id = fields.Many2one("sale.order", string="Subscription", readonly=True, index=True)
    plan_id = fields.Many2one("sale.recurring.plan", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    send_weekday = fields.Selection(WEEKDAYS, string="Send Day", readonly=True)
    month = fields.Date(readonly=True, index=True, help="First day of the calendar month.")
    invoice_count = fields.Integer(string="Invoices", readonly=True, aggregator="sum")
    amount = fields.Monetary(string="Expected Revenue", readonly=True,
                             help="Untaxed, in the company currency.")

    # -- build ---------------------------------------------------------------

    @api.model
    def _subscriptions(self, companies):
        return self.env["sale.order"].search([
            ("company_id", "in", companies.ids), ("state", "=", "sale"), ("recurring_plan_id", "!=", False),
            ("recurring_state", "in", FORECAST_STATES), ("recurring_next_invoice_date", "!=", False)])

    @api.model
    def _schedule(self, order, line_amounts, pauses):
        plan = order.recurring_plan_id
        return forecast.Schedule(
            rhythm=plan._rhythm(order.recurring_send_weekday),
            segment_start=order.recurring_schedule_start or order.recurring_start_date,
            subscription_start=order.recurring_start_date,
            invoiced_until=order.recurring_invoiced_until or None,
            end=order.recurring_last_date or None,
            pauses=pauses,
            line_amounts=tuple(line_amounts),
            rounding=str(order.currency_id.rounding),
            renewal_periods=plan.renewal_periods if plan.renewal_type == "auto" and not order.recurring_close_date
            else 0,
        )

    @api.model
    def _compute_rows(self, first_month, count, companies=None):
        """The forecast rows (one per subscription and month with an invoice), computed in memory."""
        companies = companies or self.env.companies
        orders = self._subscriptions(companies)
        if not orders:
            return []
        # batched reads: every line and pause of every subscription in two queries
        lines = defaultdict(list)
        for line in self.env["sale.order.line"].search_read(
                [("order_id", "in", orders.ids), ("display_type", "=", False)],
                ["order_id", "price_subtotal", "price_total", "tax_ids"]):
            lines[line["order_id"][0]].append(line)
        taxes_included = set(self.env["account.tax"].search([("price_include", "=", True)]).ids)
        pauses = defaultdict(list)
        for pause in self.env["sale.recurring.pause"].search_read(
                [("order_id", "in", orders.ids), ("state", "!=", "cancel")], ["order_id", "start_date", "end_date"]):
            pauses[pause["order_id"][0]].append(periods.Pause(pause["start_date"], pause["end_date"]))
        rates = {}
        today = fields.Date.context_today(self)
        rows = []
        for order in orders:
            amounts = [line["price_total"] if taxes_included.intersection(line["tax_ids"]) else line["price_subtotal"]
                       for line in lines[order.id]]
            by_month = forecast.invoices_by_month(
                self._schedule(order, amounts, tuple(pauses[order.id])), first_month, count)
            company = order.company_id
            key = (order.currency_id.id, company.id)
            if key not in rates:
                rates[key] = Decimal(str(order.currency_id._get_conversion_rate(
                    order.currency_id, company.currency_id, company, today)))
            for month, (number, amount) in by_month.items():
                if number:
                    rows.append((company.id, company.currency_id.id, order.id, order.recurring_plan_id.id,
                                 order.partner_id.id, order.user_id.id or None, order.recurring_send_weekday,
                                 month, company.currency_id.round(float(amount * rates[key])), number))
        return rows

    @api.model
    def _refresh(self, months=None):
        """Rebuild the forecast of the allowed companies from the first day of this month."""
        companies = self.env.companies
        months = months or max(companies.mapped("recurring_forecast_months") or [12])
        first = forecast.month_start(fields.Date.context_today(self))
        rows = self._compute_rows(first, months, companies)
        self.flush_model()
        self.env.cr.execute("DELETE FROM sale_recurring_forecast WHERE company_id = ANY(%s)", [companies.ids])
        uid = self.env.uid
        execute_values(self.env.cr._obj, """
            INSERT INTO sale_recurring_forecast (company_id, currency_id, order_id, plan_id, partner_id, user_id,
                                                 send_weekday, month, amount, invoice_count, create_uid, write_uid,
                                                 create_date, write_date)
            VALUES %s""", [(*row, uid, uid) for row in rows],
            template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now() at time zone 'UTC', "
                     "now() at time zone 'UTC')", page_size=1000)
        self.invalidate_model()
        return len(rows)

    @api.model
    def _cron_refresh(self):
        for company in self.env["res.company"].search([("active", "=", True)]):
            self.with_company(company).with_context(allowed_company_ids=company.ids)._refresh()

    @api.model
    def action_open(self):
        # rebuilt as superuser for the companies the user works in; the record rules then show
        # each user the rows of the subscriptions they may see
        self.sudo().with_context(allowed_company_ids=self.env.companies.ids)._refresh()
        return self.env["ir.actions.act_window"]._for_xml_id(
            "sale_weekly_subscription.sale_recurring_forecast_action")

    def _report_summary(self):
        """Per plan and month, the totals and the parameters printed on the PDF."""
        rows = self
        months = sorted(set(rows.mapped("month")))
        cells, plan_totals, month_totals = defaultdict(float), defaultdict(float), defaultdict(float)
        for row in rows:
            cells[(row.plan_id.id, row.month)] += row.amount
            plan_totals[row.plan_id.id] += row.amount
            month_totals[row.month] += row.amount
        currency = rows.currency_id[:1] or self.env.company.currency_id
        return {
            "months": months,
            "plans": rows.plan_id.sorted("name"),
            "cells": cells,
            "plan_totals": plan_totals,
            "month_totals": month_totals,
            "total": sum(month_totals.values()),
            "currency": currency,
            "companies": ", ".join(rows.company_id.mapped("name") or self.env.companies.mapped("name")),
            "months_label": (
                f"{format_date(self.env, months[0], date_format='MMM y')} \u2013 "
                f"{format_date(self.env, months[-1], date_format='MMM y')} ({len(months)})") if months else "-",
            "made_on": fields.Date.context_today(self),
        }
