from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import format_date

from ..engine import forecast
from ..utils import bulk
from .sale_recurring_plan import WEEKDAYS

# a subscription suspended for non-payment expects nothing from its first day suspended (its schedule
# bills nothing then), but a period served before it may still be billed (in arrears)
FORECAST_STATES = ("progress", "to_renew", "paused", "suspended", "closed")
COLUMNS = ("company_id", "currency_id", "order_id", "plan_id", "partner_id", "user_id", "send_weekday", "month",
           "amount", "invoice_count", "skip_count")


class SaleRecurringForecast(models.Model):
    """Expected revenue: what each subscription will invoice in each calendar month.

    Rebuilt on demand (and daily) from each subscription's real schedule by the
    pure ``engine.forecast``; untaxed, in the company currency.
    """

    _name = "sale.recurring.forecast"
    _description = "Expected Subscription Revenue"
    _order = "month, order_id"
    _rec_name = "order_id"
    # A cache rebuilt in bulk (100,000s of rows): its own table, UNLOGGED and without foreign keys,
    # which would cost more than computing the rows; it is rebuilt before it is shown.
    _auto = False
    _log_access = False



    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    order_id = fields.Many2one("sale.order", string="Subscription", readonly=True, index=True)
    plan_id = fields.Many2one("sale.recurring.plan", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    send_weekday = fields.Selection(WEEKDAYS, string="Send Day", readonly=True)
    month = fields.Date(readonly=True, help="First day of the calendar month.")
    invoice_count = fields.Integer(string="Invoices", readonly=True, aggregator="sum")
    skip_count = fields.Integer(
        string="Skipped Deliveries", readonly=True, aggregator="sum",
        help="Deliveries skipped this month (by the date their invoice would have had): not billed, not expected.")
    amount = fields.Monetary(string="Expected Revenue", readonly=True,
                             help="Untaxed, in the company currency.")

    def init(self):
        self.env.cr.execute(f"""
            CREATE UNLOGGED TABLE IF NOT EXISTS {self._table} (
                id SERIAL PRIMARY KEY,
                company_id INTEGER, currency_id INTEGER, order_id INTEGER, plan_id INTEGER, partner_id INTEGER,
                user_id INTEGER, send_weekday VARCHAR, month DATE, amount NUMERIC, invoice_count INTEGER,
                skip_count INTEGER)""")
        # added with the skips: a table made by an earlier version gets the column
        self.env.cr.execute(f"ALTER TABLE {self._table} ADD COLUMN IF NOT EXISTS skip_count INTEGER")
        self.env.cr.execute(
            f"CREATE INDEX IF NOT EXISTS {self._table}_order_id_index ON {self._table} (order_id)")

    # -- build ---------------------------------------------------------------

    @api.model
    def _subscriptions(self, companies):
        return self.env["sale.order"].search([
            ("company_id", "in", companies.ids), ("state", "=", "sale"), ("recurring_plan_id", "!=", False),
            ("recurring_state", "in", FORECAST_STATES), ("recurring_next_invoice_date", "!=", False)])

    @api.model
    def _compute_rows(self, first_month, count, companies=None):
        """The forecast rows (one per subscription and month with an invoice): each subscription's
        own schedule (``sale.order._recurring_schedule``, the one the billing run bills from)
        walked by the engine, converted to the company currency."""
        companies = companies or self.env.companies
        orders = self._subscriptions(companies)
        if not orders:
            return []
        months = forecast.months_from(first_month, count)
        today = self.env.company._recurring_today()
        # the row's key columns as plain values, read once; the schedule from the seam
        keys = {row["id"]: row for row in orders.read(
            ["company_id", "currency_id", "recurring_plan_id", "partner_id", "user_id", "recurring_send_weekday"],
            load=None)}
        targets = {company.id: company.currency_id for company in orders.company_id}
        currencies = {currency.id: currency for currency in orders.currency_id}
        rates = {}
        rows = []
        for order in orders.with_context(recurring_rhythms={})._recurring_prefetch_schedules():
            key = keys[order.id]
            company_id, currency_id = key["company_id"], key["currency_id"]
            target = targets[company_id]
            if (currency_id, company_id) not in rates:
                currency = currencies[currency_id]
                rates[(currency_id, company_id)] = (Decimal(str(currency._get_conversion_rate(
                    currency, target, self.env["res.company"].browse(company_id), today))),
                    Decimal(str(target.rounding)))
            rate, step = rates[(currency_id, company_id)]
            sched = order._recurring_schedule()
            by_month = forecast.invoices_by_month(sched, first_month, count, months)
            skipped = forecast.skips_by_month(sched, months) if sched.skips else {}
            for month, (number, amount) in by_month.items():
                if number or month in skipped:
                    rows.append((company_id, target.id, order.id, key["recurring_plan_id"], key["partner_id"],
                                 key["user_id"] or None, key["recurring_send_weekday"] or None, month,
                                 (amount * rate).quantize(step, rounding=ROUND_HALF_UP), number,
                                 skipped.get(month, 0)))
        return rows

    @api.model
    def _refresh(self, months=None):
        """Rebuild the forecast of the allowed companies from the first day of this month."""
        companies = self.env.companies
        months = months or max(companies.mapped("recurring_forecast_months") or [12])
        first = forecast.month_start(self.env.company._recurring_today())
        rows = self._compute_rows(first, months, companies)
        self.flush_model()
        self.env.cr.execute("DELETE FROM sale_recurring_forecast WHERE company_id = ANY(%s)", [companies.ids])
        bulk.copy_lines(self.env.cr, self._table, COLUMNS, map(bulk.tsv_line, rows))
        self.invalidate_model()
        return len(rows)

    @api.model
    def _cron_refresh(self):
        for company in self.env["res.company"].search([("active", "=", True)]):
            self.with_company(company).with_context(allowed_company_ids=company.ids)._refresh()

    @api.model
    def _check_reporting_access(self):
        """Only the reporting groups (subscription and invoicing users) rebuild the expected revenue."""
        if not (self.env.user.has_group("sale_weekly_subscription.group_subscription_user")
                or self.env.user.has_group("account.group_account_invoice")):
            raise AccessError(self.env._("Only subscription and invoicing users can open the expected revenue."))

    @api.model
    def action_open(self):
        # rebuilt as superuser for the companies the user works in; the record rules then show
        # each user the rows of the subscriptions they may see.
        self._check_reporting_access()
        self.sudo().with_context(allowed_company_ids=self.env.companies.ids)._refresh()
        return self.env["ir.actions.act_window"]._for_xml_id(
            "sale_weekly_subscription.sale_recurring_forecast_action")

    def _report_summary(self, months=None, plans=None):
        """Per plan and month, the totals and the parameters printed on the PDF.

        ``months``: the first days of the months printed (by default those of the rows);
        ``plans``: the plans asked for, printed even when they expect nothing.  The rows are each
        rounded to the currency already: they are added exactly (``Decimal``).
        """
        rows = self
        months = list(months or sorted(set(rows.mapped("month"))))
        cells, plan_totals, month_totals = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
        for row in rows:
            amount = Decimal(str(row.amount))
            cells[(row.plan_id.id, row.month)] += amount
            plan_totals[row.plan_id.id] += amount
            month_totals[row.month] += amount
        currency = rows.currency_id[:1] or self.env.company.currency_id
        chosen = plans or self.env["sale.recurring.plan"]
        labels = {month: format_date(self.env, month, date_format="MMMM y") for month in months}
        return {
            "months": months,
            "month_labels": labels,
            # at most 12 months side by side on a landscape page
            "month_blocks": [months[index:index + 12] for index in range(0, len(months), 12)],
            "plans": (rows.plan_id | chosen).sorted("name"),
            "cells": {key: float(value) for key, value in cells.items()},
            "plan_totals": {key: float(value) for key, value in plan_totals.items()},
            "month_totals": {key: float(value) for key, value in month_totals.items()},
            "total": float(sum(month_totals.values(), Decimal(0))),
            "currency": currency,
            "companies": ", ".join(rows.company_id.mapped("name") or self.env.companies.mapped("name")),
            "plans_label": ", ".join(chosen.sorted("name").mapped("display_name"))
            or self.env._("all plans"),
            "months_label": f"{labels[months[0]]} \u2013 {labels[months[-1]]} ({len(months)})" if months else "-",
            "made_on": self.env.company._recurring_today(),
        }
