from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..engine import forecast
from ..utils import bulk

UPCOMING_WEEKS = 12
COLUMNS = ("company_id", "currency_id", "order_id", "plan_id", "partner_id", "user_id", "name", "invoice_date",
           "period_start", "period_end", "amount", "is_prorated", "is_skipped")


class SaleRecurringUpcomingInvoice(models.Model):
    """Every invoice the billing run will make in the coming weeks, one row per subscription and
    period: for a calendar of the invoices to come.

    Rebuilt when it is opened, like the expected revenue, from each subscription's own schedule
    (``sale.order._recurring_schedule``, the one the billing run bills from) walked by the engine:
    pauses, end dates, proration and automatic renewals included.
    """

    _name = "sale.recurring.upcoming.invoice"
    _description = "Upcoming Subscription Invoice"
    _order = "invoice_date, order_id"
    # a cache rebuilt in bulk, as sale.recurring.forecast: its own table, without foreign keys
    _auto = False
    _log_access = False

    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    order_id = fields.Many2one("sale.order", string="Subscription", readonly=True, index=True)
    plan_id = fields.Many2one("sale.recurring.plan", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    name = fields.Char(string="Invoice", readonly=True)
    invoice_date = fields.Date(readonly=True, help="The day the billing run will make this invoice.")
    period_start = fields.Date(readonly=True, help="First day of the subscription period this invoice bills.")
    period_end = fields.Date(readonly=True, help="Last day of the subscription period this invoice bills.")
    period_label = fields.Char(
        string="Period", compute="_compute_period_label",
        help="The period this invoice bills, as its invoice lines will name it.")
    amount = fields.Monetary(
        string="Untaxed Amount", readonly=True,
        help="Untaxed, in the subscription's currency, after the paid days of a pause it deducts.")
    is_prorated = fields.Boolean(
        string="Prorated", readonly=True, help="A partial period, billed for its share of days.")
    is_skipped = fields.Boolean(
        string="Skipped", readonly=True,
        help="A skipped delivery: no invoice for this period; shown on the day its invoice would have had.")

    def init(self):
        self.env.cr.execute(f"""
            CREATE UNLOGGED TABLE IF NOT EXISTS {self._table} (
                id SERIAL PRIMARY KEY,
                company_id INTEGER, currency_id INTEGER, order_id INTEGER, plan_id INTEGER, partner_id INTEGER,
                user_id INTEGER, name VARCHAR, invoice_date DATE, period_start DATE, period_end DATE,
                amount NUMERIC, is_prorated BOOLEAN, is_skipped BOOLEAN)""")
        # added with the skips: a table made by an earlier version gets the column
        self.env.cr.execute(f"ALTER TABLE {self._table} ADD COLUMN IF NOT EXISTS is_skipped BOOLEAN")
        self.env.cr.execute(
            f"CREATE INDEX IF NOT EXISTS {self._table}_order_id_index ON {self._table} (order_id)")

    @api.depends("order_id", "period_start", "period_end", "is_skipped")
    @api.depends_context("lang")
    def _compute_period_label(self):
        lang = self.env.lang or "en_US"
        for row in self:
            label = row.order_id._recurring_period_label(row.period_start, row.period_end, lang=lang) \
                if row.order_id and row.period_start and row.period_end else False
            row.period_label = self.env._("Skipped: %(period)s", period=label) if label and row.is_skipped else label

    # -- build ---------------------------------------------------------------

    @api.model
    def _compute_rows(self, companies, weeks=UPCOMING_WEEKS):
        """The rows of the invoices each subscription of ``companies`` will get from today (in its
        company's time zone) for ``weeks`` weeks."""
        orders = self.env["sale.recurring.forecast"]._subscriptions(companies)
        todays = {company.id: company._recurring_today() for company in orders.company_id}
        rows = []
        for order in orders.with_context(recurring_rhythms={})._recurring_prefetch_schedules():
            first = todays[order.company_id.id]
            last = first + timedelta(weeks=weeks, days=-1)
            sched = order._recurring_schedule()
            upcoming = forecast.expected_periods(sched, first, last)
            name = f"{order.name} \u2013 {order.partner_id.display_name}"
            # the one-off lines not billed yet are on the next invoice only
            one_off = order._recurring_one_off_untaxed()
            if upcoming and one_off and upcoming[0][0].invoice_date == order.recurring_next_invoice_date:
                upcoming[0] = (upcoming[0][0], upcoming[0][1] + one_off)
            skipped = [(period, 0, True) for period in forecast.skipped_periods(sched, first, last)] \
                if sched.skips else []
            invoiced = [(period, amount, False) for period, amount in upcoming]
            for period, amount, is_skipped in sorted(invoiced + skipped, key=lambda row: row[0].invoice_date):
                rows.append((order.company_id.id, order.currency_id.id, order.id, order.recurring_plan_id.id,
                             order.partner_id.id, order.user_id.id or None, name.replace("\t", " "),
                             period.invoice_date, period.start, period.end, amount,
                             period.is_prorated and not is_skipped, is_skipped))
        return rows

    @api.model
    def _refresh(self, weeks=UPCOMING_WEEKS):
        """Rebuild the upcoming invoices of the allowed companies."""
        companies = self.env.companies
        rows = self._compute_rows(companies, weeks)
        self.flush_model()
        self.env.cr.execute(f"DELETE FROM {self._table} WHERE company_id = ANY(%s)", [companies.ids])
        bulk.copy_lines(self.env.cr, self._table, COLUMNS, map(bulk.tsv_line, rows))
        self.invalidate_model()
        return len(rows)

    @api.model
    def action_open(self):
        """Rebuilt as superuser for the companies the user works in; the record rules then show each
        user the invoices of the subscriptions they may see.  Only the reporting groups rebuild."""
        if not (self.env.user.has_group("sale_weekly_subscription.group_subscription_user")
                or self.env.user.has_group("account.group_account_invoice")):
            raise AccessError(self.env._("Only subscription and invoicing users can open the upcoming invoices."))
        self.sudo().with_context(allowed_company_ids=self.env.companies.ids)._refresh()
        return self.env["ir.actions.act_window"]._for_xml_id(
            "sale_weekly_subscription.sale_recurring_upcoming_invoice_action")
