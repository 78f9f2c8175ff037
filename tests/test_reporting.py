from datetime import date

from freezegun import freeze_time

from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

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
        self.assertEqual(Move.browse(invoice.id).recurring_period_label, "week 49, 30 Nov \u2013 6 Dec 2026")
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
        html = self._print(first_month="2027-01-20", month_count=2)
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
        self.assertEqual(Report.create({}).first_month, date(2026, 12, 1))
        for values in ({"month_count": 0}, {"month_count": 61}, {"first_month": "2026-11-01"},
                       {"first_month": "2031-12-01"}):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                Report.create(values)
        # nor can the report's URL carry other parameters
        with self.assertRaises(ValidationError):
            self.env["ir.actions.report"].with_user(self.user)._render_qweb_html(
                report.report_name, None, data={"first_month": "2026-12-01", "month_count": 500})
        # a salesman without a subscription or invoicing group prints nothing
        salesman = new_test_user(self.env, login="sub_reporting_salesman", groups="sales_team.group_sale_salesman")
        with self.assertRaises(AccessError):
            self.env["sale.recurring.forecast.report"].with_user(salesman).create({}).action_print()
