from collections import defaultdict
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError
from odoo.tools.misc import format_amount, formatLang

from ..engine import forecast, schedule
from ..utils import bulk

# the movements of net new MRR: all but pauses and resumptions, which come and go
NET_NEW_MOVEMENTS = ("new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr", "churn_mrr", "closed_mrr")
MOVEMENTS = [
    ("new", "New"), ("expansion", "Expansion"), ("contraction", "Contraction"), ("churn", "Churn"),
    ("closed", "Closed, No Churn"),
    ("reactivation", "Reactivation"), ("paused", "Paused"), ("suspended", "Suspended for Non-payment"),
    ("resumed", "Resumed"), ("stable", "Stable"),
]
# out of MRR without being churn: a pause, a suspension for non-payment
ASIDE_STATUSES = ("paused", "suspended")


class SaleRecurringMrr(models.Model):
    """Each subscription's monthly recurring revenue at the end of each month, and how it moved.

    A month that is over is valued by the invoice that covers its last day, as it was billed
    (``account.move.recurring_monthly_amount``), and kept for good at the month end
    (scheduled action): a later price or quantity change never rewrites it, and shows as an
    expansion or contraction of the month it happens in.  The current month, and a month end
    no invoice covers yet, are valued at today's prices.
    """

    _name = "sale.recurring.mrr"
    _description = "Subscription MRR per Month"
    _order = "month desc, order_id"
    _rec_name = "order_id"
    # its own table, without foreign keys: 24 months of 10,000 subscriptions are written in bulk
    _auto = False
    _log_access = False

    def init(self):
        self.env.cr.execute(f"""
            CREATE TABLE IF NOT EXISTS {self._table} (
                id SERIAL PRIMARY KEY,
                company_id INTEGER, currency_id INTEGER, order_id INTEGER, plan_id INTEGER, partner_id INTEGER,
                user_id INTEGER, month DATE, status VARCHAR, mrr NUMERIC, movement VARCHAR,
                movement_amount NUMERIC, frozen BOOLEAN)""")
        self.env.cr.execute(
            f"CREATE INDEX IF NOT EXISTS {self._table}_order_month_index ON {self._table} (order_id, month)")

    company_id = fields.Many2one("res.company", readonly=True, index=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    order_id = fields.Many2one("sale.order", string="Subscription", readonly=True, index=True)
    plan_id = fields.Many2one("sale.recurring.plan", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    month = fields.Date(readonly=True, index=True, help="First day of the month; the figures are at its end.")
    status = fields.Selection(
        [("active", "Active"), ("paused", "Paused"), ("suspended", "Suspended for Non-payment"), ("closed", "Closed")],
        readonly=True,
        help="The subscription at the month end: running, in a pause (out of MRR, not churn), suspended for "
             "non-payment (out of MRR, not churn: its MRR is told apart as the movement 'Suspended for "
             "Non-payment'), or closed.")
    mrr = fields.Monetary(string="MRR", readonly=True, help="Monthly recurring revenue at the month end, untaxed.")
    movement = fields.Selection(
        MOVEMENTS, readonly=True,
        help="How the MRR moved since the previous month end: new, expansion or contraction (price), churn "
             "(closed), closed with a reason that is no churn (a move to another plan, say), reactivation, "
             "paused, suspended for non-payment, or resumed (neither a pause nor a suspension is churn). A "
             "subscription closed while paused or suspended has two rows that month: the churn, and the same "
             "amount back out of the pause or suspension.")
    movement_amount = fields.Monetary(readonly=True, help="MRR change since the previous month end.")
    frozen = fields.Boolean(
        readonly=True,
        help="Taken at the month end by the scheduled action and kept: later price changes do not rewrite it.")

    # -- the figures of one subscription at one day ---------------------------

    @api.model
    def _movement(self, previous, current, status, had_before, previous_status=None):
        if status in ASIDE_STATUSES:
            return status if previous else "stable"
        if not previous and current:
            if previous_status in ASIDE_STATUSES:
                return "resumed"
            return "reactivation" if had_before else "new"
        if previous and not current:
            return "churn" if status == "closed" else "paused"
        if current > previous:
            return "expansion"
        if current < previous:
            return "contraction"
        return "stable"

    # -- build ---------------------------------------------------------------

    @api.model
    def _rebuild(self, months=24):
        """Every month end of the last ``months`` months, up to this month (as of today)."""
        companies = self.env.companies
        today = self.env.company._recurring_today()
        first = forecast.month_start(today) - relativedelta(months=months - 1)
        month_list = forecast.months_from(first, months)
        orders = self.env["sale.order"].search([
            ("company_id", "in", companies.ids), ("state", "=", "sale"), ("recurring_plan_id", "!=", False)])
        ends = [min(month + relativedelta(months=1, days=-1), today) for month in month_list]
        # each subscription's own schedule (the billing run's): its dates, pauses and full-period amount
        data = orders.read(["company_id", "currency_id", "recurring_plan_id", "partner_id", "user_id",
                            "recurring_state", "recurring_close_reason_id"], load=None)
        no_churn = set(self.env["sale.recurring.close.reason"].with_context(active_test=False).search(
            [("is_churn", "=", False)]).ids)
        amounts, paused_days, suspended_days = {}, defaultdict(set), defaultdict(set)
        schedules = orders.with_context(recurring_rhythms={})._recurring_prefetch_schedules()
        for order, values in zip(schedules, data, strict=True):
            sched = order._recurring_schedule()
            values.update({
                "recurring_start_date": sched.subscription_start, "recurring_last_date": sched.end,
                # a close whose reason is no churn (moved to another plan) is told apart
                "is_churn": values["recurring_close_reason_id"] not in no_churn})
            amounts[order.id] = [schedule.full_amount(sched)]
            for pause in sched.pauses:
                paused_days[order.id].update(end for end in ends if pause.start <= end <= pause.end)
            for pause in order._recurring_suspension_pauses():
                suspended_days[order.id].update(end for end in ends if pause.start <= end <= pause.end)
        frozen = {(row["order_id"][0], row["month"]): (row["status"], row["mrr"], row["movement"],
                                                         row["movement_amount"]) for row in self.search_read(
            [("company_id", "in", companies.ids), ("frozen", "=", True), ("month", ">=", first)],
            ["order_id", "month", "status", "mrr", "movement", "movement_amount"])}
        context = self._rebuild_context(orders, today)
        context["suspended"] = suspended_days
        context["billed"] = self._billed_month_ends(orders, [
            end for month, end in zip(month_list, ends, strict=True) if end < forecast.month_start(today)])
        rows = []
        for order in data:
            rows += self._order_rows(order, month_list, ends, amounts[order["id"]], paused_days, frozen, context)
        self.flush_model()
        self.env.cr.execute("DELETE FROM sale_recurring_mrr WHERE company_id = ANY(%s) AND frozen IS NOT TRUE",
                            [companies.ids])
        bulk.copy_lines(self.env.cr, self._table, (
            "company_id", "currency_id", "order_id", "plan_id", "partner_id", "user_id", "month", "status", "mrr",
            "movement", "movement_amount"), rows)
        self.invalidate_model()
        return len(rows)

    @api.model
    def _billed_month_ends(self, orders, days):
        """{(order id, day): MRR in the company's currency} of the invoices whose period covers one of
        ``days`` (month ends that are over): what was really billed then, at the rate it was booked.
        Those months never change with a later price, quantity or exchange rate.  A correction of a
        change inside an invoiced period covers the days from the change: its MRR (the new one) wins
        over the period's invoice's for them, so the change is an expansion or a contraction of the
        month it happens in."""
        if not days or not orders:
            return {}
        self.env["account.move"].flush_model(["recurring_order_id", "recurring_period_start", "recurring_period_end",
                                             "recurring_monthly_amount", "amount_untaxed", "amount_untaxed_signed",
                                             "move_type", "state", "recurring_correction"])
        self.env.cr.execute("""
            SELECT m.recurring_order_id, e.day, m.recurring_monthly_amount, m.amount_untaxed, m.amount_untaxed_signed,
                   m.company_id
              FROM account_move m
              JOIN unnest(%s::date[]) AS e(day) ON e.day BETWEEN m.recurring_period_start AND m.recurring_period_end
             WHERE m.recurring_order_id = ANY(%s) AND m.state != 'cancel'
               AND (m.move_type = 'out_invoice' OR m.recurring_correction IS TRUE)
               AND m.recurring_monthly_amount IS NOT NULL
             ORDER BY m.recurring_period_start, m.id""", [days, orders.ids])
        companies = {company.id: company.currency_id for company in orders.company_id}
        billed = {}
        for order_id, day, monthly, untaxed, signed, company_id in self.env.cr.fetchall():
            if not untaxed:
                continue  # a 0.00 invoice has no booked rate: the month is valued as the current one
            # the invoice's own booked rate (a correction's credit note is signed negative)
            rate = abs(Decimal(str(signed))) / abs(Decimal(str(untaxed)))
            billed[(order_id, day)] = companies[company_id].round(float(Decimal(str(monthly)) * rate))
        return billed

    @api.model
    def _rebuild_context(self, orders, today):
        """Plans, currencies and conversion rates the rows need, read once."""
        plans = {plan.id: (plan.billing_unit, plan.billing_interval) for plan in orders.recurring_plan_id}
        targets = {company.id: company.currency_id for company in orders.company_id}
        rates = {}
        for currency in orders.currency_id:
            for company in orders.company_id:
                rates[(currency.id, company.id)] = currency._get_conversion_rate(
                    currency, company.currency_id, company, today)
        return {"plans": plans, "targets": targets, "rates": rates}

    @api.model
    def _order_rows(self, order, month_list, ends, amounts, paused_days, frozen, context):
        """The COPY lines of one subscription, a row per month end from its start.

        Paused or suspended, a subscription's MRR goes aside (movement *Paused* or *Suspended*, not churn).
        Closed while aside, the MRR it had when it went aside is churn (or *Closed, No Churn*) of the month
        it is closed in, and the same amount comes back out of the aside: two rows that month, status
        *Closed*, movements churn −X and paused/suspended +X, so that each month still adds up (previous
        MRR + movements = MRR)."""
        unit, interval = context["plans"][order["recurring_plan_id"]]
        target = context["targets"][order["company_id"]]
        rate = context["rates"][(order["currency_id"], order["company_id"])]
        exact = forecast.monthly_value(sum((Decimal(str(a)) for a in amounts), Decimal(0)), unit, interval)
        value = target.round(float(exact) * rate)
        # the COPY lines are written here: the key columns once per subscription
        key = bulk.tsv_line((order["company_id"], target.id, order["id"], order["recurring_plan_id"],
                             order["partner_id"], order["user_id"] or None))[:-1]
        rows, previous, had_before, previous_status = [], 0.0, False, None
        aside = 0.0  # the MRR it had when it went aside (paused, suspended), while it is
        start, last = order["recurring_start_date"], order["recurring_last_date"]
        paused = paused_days.get(order["id"], ())
        suspended = context.get("suspended", {}).get(order["id"], ())
        running = order["recurring_state"] not in ("draft", "cancel")
        order_id = order["id"]
        billed = context["billed"]
        for month, end in zip(month_list, ends, strict=True):
            if (order_id, month) in frozen:  # kept as it was taken
                previous_status, previous, taken, taken_amount = frozen[(order_id, month)]
                had_before = had_before or bool(previous)
                if previous_status not in ASIDE_STATUSES:
                    aside = 0.0
                elif taken == previous_status:  # went aside that month
                    aside = -(taken_amount or 0.0)
                continue
            # the status at the month end, inlined: this loop runs months x subscriptions times
            if not running or start > end:
                continue
            status = "closed" if last and last < end else "suspended" if end in suspended \
                else "paused" if end in paused else "active"
            # a month that is over: what was billed for its last day; this month: as of today
            current = billed.get((order_id, end), value) if status == "active" else 0.0
            if status == "closed" and not previous:
                if previous_status in ASIDE_STATUSES and aside:
                    # closed while aside: what went aside is churn now, and leaves the aside
                    churn = "churn" if order["is_churn"] else "closed"
                    rows.append(f"{key}\t{month}\tclosed\t0.0\t{churn}\t{-aside}\n")
                    rows.append(f"{key}\t{month}\tclosed\t0.0\t{previous_status}\t{aside}\n")
                break  # closed before this month: no more rows
            movement = self._movement(previous, current, status, had_before, previous_status)
            if movement == "churn" and not order["is_churn"]:
                movement = "closed"
            if status in ASIDE_STATUSES:
                aside = previous or aside
            else:
                aside = 0.0
            # none of these is ever NULL: formatted inline, this runs months x subscriptions times
            rows.append(f"{key}\t{month}\t{status}\t{current}\t{movement}\t{round(current - previous, 6)}\n")
            had_before = had_before or bool(current)
            previous, previous_status = current, status
        return rows

    @api.model
    def _cron_rebuild(self):
        """Daily: rebuild, then keep for good the figures of the months that are over."""
        current = forecast.month_start(self.env.company._recurring_today())
        for company in self.env["res.company"].search([("active", "=", True)]):
            self.with_company(company).with_context(allowed_company_ids=company.ids)._rebuild()
        self.flush_model()
        self.env.cr.execute("UPDATE sale_recurring_mrr SET frozen = TRUE WHERE month < %s AND frozen IS NOT TRUE",
                            [current])
        self.invalidate_model()

    @api.model
    def action_open_dashboard(self):
        """Rebuilt as superuser, for the reporting groups only (subscription and invoicing users)."""
        if not (self.env.user.has_group("sale_weekly_subscription.group_subscription_user")
                or self.env.user.has_group("account.group_account_invoice")):
            raise AccessError(self.env._("Only subscription and invoicing users can rebuild the MRR figures."))
        self.sudo().with_context(allowed_company_ids=self.env.companies.ids)._rebuild()
        return self.env["ir.actions.act_window"]._for_xml_id(
            "sale_weekly_subscription.sale_recurring_mrr_month_action")


class SaleRecurringMrrMonth(models.Model):
    """Per company and month: MRR, ARR, movements, counts, churn rate and average revenue."""

    _name = "sale.recurring.mrr.month"
    _description = "Subscription Key Figures per Month"
    _auto = False
    _order = "month desc"
    _rec_name = "month"

    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    month = fields.Date(readonly=True)
    mrr = fields.Monetary(string="MRR", readonly=True)
    arr = fields.Monetary(string="ARR", readonly=True, help="12 times the MRR.")
    new_mrr = fields.Monetary(string="New", readonly=True, help="MRR of subscriptions that started this month.")
    expansion_mrr = fields.Monetary(string="Expansion", readonly=True,
                                    help="MRR gained by running subscriptions whose price went up.")
    contraction_mrr = fields.Monetary(string="Contraction", readonly=True,
                                      help="MRR lost by running subscriptions whose price went down (negative).")
    churn_mrr = fields.Monetary(
        string="Churn", readonly=True,
        help="MRR lost to subscriptions closed this month; for one closed while paused or suspended, the MRR it "
             "had when it went aside.")
    closed_mrr = fields.Monetary(
        string="Closed, No Churn", readonly=True,
        help="MRR of subscriptions closed this month with a reason that is no churn (a move to another plan).")
    reactivation_mrr = fields.Monetary(
        string="Reactivation", readonly=True,
        help="MRR of subscriptions that had none at the previous month end (closed or between terms, "
             "not paused) but had some before: reopened or renewed late.")
    paused_mrr = fields.Monetary(
        string="Paused MRR", readonly=True,
        help="MRR of subscriptions that paused this month: out of MRR, not churn (negative); back (positive) when "
             "a paused subscription is closed, its MRR then being churn.")
    suspended_mrr = fields.Monetary(
        string="Suspended MRR", readonly=True,
        help="MRR of subscriptions suspended for non-payment this month: out of MRR, not churn (negative); back "
             "(positive) when a suspended subscription is closed, its MRR then being churn.")
    suspended_count = fields.Integer(
        string="Suspended", readonly=True, help="Subscriptions suspended for non-payment at the month end.")
    resumed_mrr = fields.Monetary(string="Resumed MRR", readonly=True,
                                  help="MRR back from subscriptions that were paused or suspended at the previous "
                                       "month end.")
    active_count = fields.Integer(string="Active", readonly=True)
    paused_count = fields.Integer(string="Paused", readonly=True)
    new_count = fields.Integer(string="New Subscriptions", readonly=True, help="Subscriptions that started this month.")
    closed_count = fields.Integer(string="Closed", readonly=True, help="Subscriptions closed this month (churn).")
    churn_rate = fields.Float(
        string="Churn Rate (%)", readonly=True, aggregator="avg",
        help="Subscriptions closed this month (churn) divided by those running, paused or suspended at the end "
             "of the previous month: a paused or suspended subscriber is still a customer, who may churn.")
    arpu = fields.Monetary(string="Average Revenue", readonly=True, aggregator="avg",
                           help="MRR divided by the active subscriptions.")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(f"""
            CREATE VIEW {self._table} AS (
                WITH figures AS (
                    SELECT company_id, currency_id, month,
                           SUM(mrr) AS mrr,
                           SUM(CASE WHEN movement = 'new' THEN movement_amount ELSE 0 END) AS new_mrr,
                           SUM(CASE WHEN movement = 'expansion' THEN movement_amount ELSE 0 END) AS expansion_mrr,
                           SUM(CASE WHEN movement = 'contraction' THEN movement_amount ELSE 0 END) AS contraction_mrr,
                           SUM(CASE WHEN movement = 'churn' THEN movement_amount ELSE 0 END) AS churn_mrr,
                           SUM(CASE WHEN movement = 'closed' THEN movement_amount ELSE 0 END) AS closed_mrr,
                           SUM(CASE WHEN movement = 'reactivation' THEN movement_amount ELSE 0 END)
                               AS reactivation_mrr,
                           SUM(CASE WHEN movement = 'paused' THEN movement_amount ELSE 0 END) AS paused_mrr,
                           SUM(CASE WHEN movement = 'suspended' THEN movement_amount ELSE 0 END) AS suspended_mrr,
                           SUM(CASE WHEN movement = 'resumed' THEN movement_amount ELSE 0 END) AS resumed_mrr,
                           COUNT(*) FILTER (WHERE status = 'active') AS active_count,
                           COUNT(*) FILTER (WHERE status = 'paused') AS paused_count,
                           COUNT(*) FILTER (WHERE status = 'suspended') AS suspended_count,
                           COUNT(*) FILTER (WHERE movement = 'new') AS new_count,
                           COUNT(*) FILTER (WHERE movement = 'churn') AS closed_count
                      FROM sale_recurring_mrr
                  GROUP BY company_id, currency_id, month
                )
                SELECT row_number() OVER (ORDER BY company_id, month) AS id, figures.*,
                       mrr * 12 AS arr,
                       CASE WHEN LAG(active_count + paused_count + suspended_count) OVER w > 0
                            THEN 100.0 * closed_count / LAG(active_count + paused_count + suspended_count) OVER w
                            ELSE 0 END AS churn_rate,
                       CASE WHEN active_count > 0 THEN mrr / active_count ELSE 0 END AS arpu
                  FROM figures
                WINDOW w AS (PARTITION BY company_id ORDER BY month)
            )""")


    # -- the dashboard's key figures -------------------------------------------

    @api.model
    def _dashboard_key_figures(self, company=None):
        """The key figures of ``company`` (the current one) this month, as of today, in its currency:
        {name: value}, amounts rounded to the currency (``Decimal``), the churn rate in percent.

        MRR, ARR (12 x MRR), net new MRR (new + reactivation + expansion - contraction - churn -
        closed with no churn: every movement but pauses and resumptions), the churn rate
        (subscriptions closed this month over those active at the end of last month, as the
        monthly figures count it) and the active and paused subscriptions at today.
        """
        company = company or self.env.company
        month = company._recurring_today().replace(day=1)
        row = self.search([("company_id", "=", company.id), ("month", "=", month)], limit=1)
        step = Decimal(str(company.currency_id.rounding))

        def money(value):
            return Decimal(str(value or 0.0)).quantize(step)

        mrr = money(row.mrr)
        return {
            "mrr": mrr,
            "arr": mrr * 12,
            "net_new_mrr": sum((money(row[name]) for name in NET_NEW_MOVEMENTS), Decimal(0)),
            "churn_rate": round(row.churn_rate or 0.0, 1),
            "active_count": row.active_count,
            "paused_count": row.paused_count,
        }

    @api.model
    def get_dashboard_key_figures(self):
        """The key figures shown above the dashboard's graph, labelled and formatted in the user's
        language: [{name, label, value, help}]."""
        self.check_access("read")
        company = self.env.company
        figures = self._dashboard_key_figures(company)
        currency = company.currency_id
        labels = {
            "mrr": (self.env._("MRR"), self.env._("Monthly recurring revenue as of today, untaxed.")),
            "arr": (self.env._("ARR"), self.env._("Annual recurring revenue: 12 times the MRR.")),
            "net_new_mrr": (self.env._("Net New MRR"), self.env._(
                "This month: new + reactivated + expansion - contraction - churn - closed with no churn. "
                "Pauses and resumptions are left out.")),
            "churn_rate": (self.env._("Churn Rate"), self.env._(
                "Subscriptions closed this month (churn) divided by those running, paused or suspended at the end "
                "of last month.")),
            "active_count": (self.env._("Active"), self.env._("Subscriptions running today.")),
            "paused_count": (self.env._("Paused"), self.env._("Subscriptions in a pause today.")),
        }
        values = {
            "mrr": format_amount(self.env, float(figures["mrr"]), currency),
            "arr": format_amount(self.env, float(figures["arr"]), currency),
            "net_new_mrr": format_amount(self.env, float(figures["net_new_mrr"]), currency),
            "churn_rate": f"{formatLang(self.env, figures['churn_rate'], digits=1)} %",
            "active_count": str(figures["active_count"]),
            "paused_count": str(figures["paused_count"]),
        }
        return [{"name": name, "label": label, "help": help_text, "value": values[name]}
                for name, (label, help_text) in labels.items()]
