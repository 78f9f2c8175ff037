from datetime import date, timedelta
from decimal import Decimal

from freezegun import freeze_time

from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged
from odoo.tools.misc import format_amount

from .common import SubscriptionCase

D = date


class ReportingCase(SubscriptionCase):
    """An invoicing user (no subscription group) besides the subscription users of the base class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_data["company"]
        cls.accountant = new_test_user(
            cls.env, login="sub_reporting_accountant", groups="account.group_account_invoice",
            company_id=company.id, company_ids=[Command.set(company.ids)])
        cls.weekly = cls._create_plan(name="Weekly", auto_send=False)  # 39.90 every Monday


@tagged("post_install", "-at_install")
class TestInvoicePeriodColumn(ReportingCase):

    def test_the_invoice_list_shows_the_period_billed(self):
        with freeze_time("2026-11-30 12:00"):
            order = self._create_subscription(self.weekly, "2026-11-30")
            self._run_billing()
        invoice = order.recurring_invoice_ids
        self.assertEqual(len(invoice), 1)
        Move = self.env["account.move"].with_user(self.accountant)
        arch = Move.get_views([(self.env.ref("account.view_out_invoice_tree").id, "list")])["views"]["list"]["arch"]
        self.assertIn('name="recurring_period_label"', arch)
        self.assertIn('optional="show"', arch.split('name="recurring_period_label"')[1].split("/>")[0])
        # an accountant who may not read the subscription still sees its period
        self.assertEqual(Move.browse(invoice.id).recurring_period_label, "week 49 2026, 30 Nov \u2013 6 Dec 2026")
        other = Move.create({"move_type": "out_invoice", "partner_id": self.customer.id})
        self.assertFalse(other.recurring_period_label)


@tagged("post_install", "-at_install")
class TestExpectedRevenueReport(ReportingCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.monthly = cls._create_plan(
            name="Monthly", billing_unit="month", auto_send=False,
            line_ids=[Command.create({"product_id": cls.product_box.id, "price_unit": 310.0})])
        with freeze_time("2026-12-01 09:00"):
            cls._create_subscription(cls.weekly, "2026-12-07", user=cls.user)  # 4 Mondays in Dec, Jan and Feb
            cls._create_subscription(cls.monthly, "2026-12-15", user=cls.user)

    def _print(self, **values):
        Report = self.env["sale.recurring.forecast.report"].with_user(self.user)
        action = Report.create(values).action_print()
        self.assertEqual(action["type"], "ir.actions.report")
        html = self.env["ir.actions.report"].with_user(self.user)._render_qweb_html(
            "sale_weekly_subscription.action_report_expected_revenue", None, data=action["data"])[0]
        return html.decode()

    @freeze_time("2026-12-01 09:00")
    def test_the_pdf_prints_the_months_and_plans_asked_for(self):
        html = self._print(month_count=3, plan_ids=[Command.set(self.weekly.ids)])
        for month in ("December 2026", "January 2027", "February 2027"):
            self.assertIn(month, html)
        self.assertNotIn("March 2027", html)
        self.assertNotIn("Dec 1", html)
        self.assertIn("159.60", html)  # 4 x 39.90 a month
        self.assertIn("478.80", html)  # the plan's total over 3 months
        self.assertNotIn("310.00", html, "only the plans asked for")
        self.assertNotIn("Monthly", html)
        # the same amounts as the expected revenue screen shows
        rows = self.env["sale.recurring.forecast"].with_user(self.user).search(
            [("plan_id", "=", self.weekly.id), ("month", "<=", "2027-02-01")])
        self.assertEqual(rows.currency_id.round(sum(rows.mapped("amount"))), 478.80)

    @freeze_time("2026-12-01 09:00")
    def test_the_pdf_starts_with_the_first_month_and_lists_every_plan_by_default(self):
        html = self._print(first_month="2027-01-01", month_count=2)
        self.assertIn("January 2027", html)
        self.assertIn("February 2027", html)
        self.assertNotIn("December 2026", html.split("<thead>")[1])
        self.assertIn("310.00", html)
        self.assertIn("939.20", html)  # 2 x (159.60 + 310.00)
        self.assertIn("all plans", html)

    @freeze_time("2026-12-01 09:00")
    def test_the_pdf_is_landscape_and_its_parameters_are_checked_on_the_server(self):
        report = self.env.ref("sale_weekly_subscription.action_report_expected_revenue")
        self.assertEqual(report.paperformat_id.orientation, "Landscape")
        Report = self.env["sale.recurring.forecast.report"].with_user(self.user)
        self.assertEqual(Report.create({}).first_month, "2026-12-01")
        months = dict(Report._fields["first_month"]._description_selection(Report.env))
        self.assertEqual((len(months), months["2026-12-01"], months["2031-11-01"]),
                         (60, "December 2026", "November 2031"))
        for values in ({"month_count": 0}, {"month_count": 61}, {"first_month": "2026-11-01"},
                       {"first_month": "2031-12-01"}):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                Report.create(values)
        # nor can the report's URL carry other parameters
        for data in ({"first_month": "2026-12-01", "month_count": 500}, {"first_month": "2026-11-01", "month_count": 3},
                     {"first_month": "2031-12-01", "month_count": 3}, {"first_month": "soon", "month_count": 3}):
            with self.subTest(data=data), self.assertRaises(ValidationError):
                self.env["ir.actions.report"].with_user(self.user)._render_qweb_html(
                    report.report_name, None, data=data)
        # a salesman without a subscription or invoicing group prints nothing
        salesman = new_test_user(self.env, login="sub_reporting_salesman", groups="sales_team.group_sale_salesman")
        with self.assertRaises(AccessError):
            self.env["sale.recurring.forecast.report"].with_user(salesman).create({}).action_print()


@tagged("post_install", "-at_install")
class TestUpcomingInvoices(ReportingCase):

    def _entries(self, order, user=None):
        rows = self.env["sale.recurring.upcoming.invoice"].with_user(user or self.user).search(
            [("order_id", "=", order.id)])
        return [(row.invoice_date, row.period_start, row.period_end, row.amount) for row in rows]

    def test_a_weekly_plan_shows_every_week_but_those_of_a_pause(self):
        with freeze_time("2026-12-01 09:00"):
            running = self._create_subscription(self.weekly, "2026-12-07", user=self.user)
            paused = self._create_subscription(self.weekly, "2026-12-07", user=self.user)
            self._pause_from(paused, D(2026, 12, 21), 2)  # 21 Dec - 3 Jan
            action = self.env.ref("sale_weekly_subscription.sale_recurring_upcoming_invoice_server_action")
            self.assertEqual(action.with_user(self.user).run()["res_model"], "sale.recurring.upcoming.invoice")
        # the next 12 weeks, 1 Dec - 22 Feb: every Monday from 7 Dec
        mondays = [D(2026, 12, 7) + timedelta(weeks=week) for week in range(12)]
        self.assertEqual(self._entries(running),
                         [(day, day, day + timedelta(days=6), 39.90) for day in mondays])
        self.assertEqual([entry[0] for entry in self._entries(paused)],
                         [day for day in mondays if not D(2026, 12, 21) <= day <= D(2027, 1, 3)])
        row = self.env["sale.recurring.upcoming.invoice"].with_user(self.user).search(
            [("order_id", "=", running.id)], limit=1)
        label = row.period_label
        self.assertEqual(label, "week 50 2026, 7\u201313 Dec 2026")
        self.assertEqual((row.partner_id, row.plan_id, row.currency_id),
                         (self.customer, self.weekly, running.currency_id))
        # the billing run makes that very invoice; afterwards it is no longer upcoming
        with freeze_time("2026-12-07 12:00"):
            self._run_billing()
            self.env["sale.recurring.upcoming.invoice"].with_user(self.user).action_open()
        invoice = running.recurring_invoice_ids
        self.assertEqual((invoice.invoice_date, invoice.recurring_period_start, invoice.recurring_period_end,
                          invoice.amount_untaxed, invoice.recurring_period_label),
                         (D(2026, 12, 7), D(2026, 12, 7), D(2026, 12, 13), 39.90, label))
        self.assertEqual(self._entries(running)[0][0], D(2026, 12, 14))
        self.assertEqual(len(self._entries(running)), 11)  # 14 Dec - 22 Feb

    def test_the_calendar_shows_what_the_sale_rules_allow(self):
        with freeze_time("2026-12-01 09:00"):
            mine = self._create_subscription(self.weekly, "2026-12-07", user=self.user)
            other = self._create_subscription(self.weekly, "2026-12-07")
            other.user_id = self.manager
            Upcoming = self.env["sale.recurring.upcoming.invoice"]
            Upcoming.with_user(self.user).action_open()
            self.assertEqual(Upcoming.with_user(self.user).search([]).order_id, mine)
            self.assertEqual(Upcoming.with_user(self.accountant).search([]).order_id, mine | other)
            views = Upcoming.with_user(self.user).get_views([(False, "calendar"), (False, "list")])["views"]
            self.assertIn('date_start="invoice_date"', views["calendar"]["arch"])
            salesman = new_test_user(self.env, login="sub_upcoming_salesman",
                                     groups="sales_team.group_sale_salesman")
            with self.assertRaises(AccessError):
                Upcoming.with_user(salesman).action_open()


@tagged("post_install", "-at_install")
class TestMrrKeyFigures(ReportingCase):

    def test_the_key_figures_of_this_month(self):
        """One running, one paused, one churned, one new and one whose price went up in December;
        the months that are over valued by their invoices."""
        company = self.company_data["company"]
        company.recurring_catch_up_limit = 20
        with freeze_time("2026-10-05 09:00"):
            anna, bram, cleo, eric = (self._create_subscription(self.weekly, "2026-10-05") for _n in range(4))
        with freeze_time("2026-11-30 09:00"):
            self._run_billing()  # up to 6 Dec, at 39.90 a week: 172.90 a month each
        self.assertEqual(set(eric.recurring_invoice_ids.mapped("recurring_monthly_amount")), {172.9})
        with freeze_time("2026-12-01 09:00"):
            dora = self._create_subscription(self.weekly, "2026-12-07")
            dora.order_line.product_uom_qty = 2  # 345.80 a month
            eric.order_line.price_unit = 49.90  # 216.23 a month: +43.33
        with freeze_time("2026-12-10 09:00"):
            self.env["sale.recurring.pause"].create({"order_id": bram.id, "start_date": "2026-12-14", "weeks": 3})
            cleo._recurring_close(D(2026, 12, 10), self.reason)
        with freeze_time("2026-12-20 09:00"):
            self.env["sale.recurring.mrr"].with_user(self.manager).action_open_dashboard()
            figures = self.env["sale.recurring.mrr.month"].with_user(self.manager)._dashboard_key_figures()
            shown = {figure["name"]: figure["value"] for figure in
                     self.env["sale.recurring.mrr.month"].with_user(self.accountant).get_dashboard_key_figures()}
        self.assertTrue(anna.recurring_invoice_ids)
        self.assertEqual(figures, {
            "mrr": Decimal("734.93"),  # anna 172.90 + dora 345.80 + eric 216.23
            "arr": Decimal("8819.16"),
            "net_new_mrr": Decimal("216.23"),  # dora +345.80, eric +43.33, cleo -172.90; bram's pause left out
            "churn_rate": 25.0,  # cleo, of the 4 active at the end of November
            "active_count": 3,
            "paused_count": 1,
        })
        currency = company.currency_id
        self.assertEqual(shown["mrr"], format_amount(self.env, 734.93, currency))
        self.assertEqual(shown["arr"], format_amount(self.env, 8819.16, currency))
        self.assertEqual(shown["churn_rate"], "25.0 %")
        self.assertEqual((shown["active_count"], shown["paused_count"]), ("3", "1"))

    def test_the_dashboard_graph_shows_the_key_figures_for_its_groups_only(self):
        view = self.env.ref("sale_weekly_subscription.sale_recurring_mrr_month_view_graph")
        self.assertIn('js_class="sale_recurring_mrr_dashboard_graph"', view.arch)
        with freeze_time("2026-12-20 09:00"):
            figures = self.env["sale.recurring.mrr.month"].with_user(self.manager).get_dashboard_key_figures()
            self.assertEqual([figure["name"] for figure in figures],
                             ["mrr", "arr", "net_new_mrr", "churn_rate", "active_count", "paused_count"])
            self.assertEqual(figures[0]["label"], "MRR")
            with self.assertRaises(AccessError):
                self.env["sale.recurring.mrr.month"].with_user(self.user).get_dashboard_key_figures()
