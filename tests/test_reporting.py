from datetime import date

from freezegun import freeze_time

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
