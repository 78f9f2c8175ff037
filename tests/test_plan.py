from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import SubscriptionCase


@tagged("post_install", "-at_install")
class TestPlan(SubscriptionCase):

    def test_week_interval_limits(self):
        with self.assertRaisesRegex(ValidationError, "between 1 and 52 weeks"):
            self._create_plan(name="Too long", billing_interval=53)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self._create_plan(name="Zero", billing_interval=0)
        plan = self._create_plan(name="Yearly-ish", billing_interval=52)
        self.assertEqual(plan.period_label, "Every 52 weeks")
        monthly = self._create_plan(name="Rent", billing_unit="month", billing_interval=18)
        self.assertEqual(monthly.billing_interval, 18)

    def test_terms_are_consistent(self):
        with self.assertRaisesRegex(ValidationError, "only a fixed-term plan can be renewed"):
            self._create_plan(name="Open", duration_type="open", renewal_type="auto")
        with self.assertRaisesRegex(ValidationError, "Number of Periods"):
            self._create_plan(name="Fixed", duration_type="fixed", duration_periods=0)

    def test_rhythm_of_a_plan_in_use_cannot_change(self):
        plan = self._create_plan(name="Coffee", billing_interval=4)
        plan.billing_interval = 6  # no subscription yet: free to change
        self._create_subscription(plan, "2026-12-02")
        with self.assertRaisesRegex(UserError, "running subscriptions"):
            plan.billing_interval = 4
        plan.write({"billing_interval": 6, "name": "Coffee capsules"})  # same value: allowed
        plan.auto_send = False  # not a rhythm field
        self.assertEqual(plan.subscription_count, 1)

    def test_plan_lines_become_order_lines(self):
        plan = self._create_plan(name="Box")
        vals = plan.line_ids._prepare_order_line_vals(self.env["sale.order"])
        self.assertEqual(vals["product_id"], self.product_box.id)
        self.assertEqual(vals["price_unit"], 39.90)

    def test_a_shared_plan_with_taxed_products(self):
        """A plan left without company (the default) holds taxes of several companies; each subscription
        takes its own company's, mapped by its fiscal position"""
        other = self.setup_other_company(name="Capsules NL")
        tax_a, tax_b = self.company_data["default_tax_sale"], other["default_tax_sale"]
        product = self._create_product(name="Capsules", lst_price=29.90, taxes_id=[Command.set((tax_a | tax_b).ids)])
        form = Form(self.env["sale.recurring.plan"].with_user(self.manager))
        form.name = "Capsules every 4 weeks"
        form.billing_interval = 4
        with form.line_ids.new() as line:
            line.product_id = product
        plan = form.save()  # was: "'False' belongs to company '' while 'Taxes' ... belongs to another company"
        self.assertFalse(plan.company_id)
        self.assertEqual(plan.line_ids.tax_ids, tax_a)
        # an administrator of both companies adds the other company's tax
        self.env.user.company_ids += other["company"]
        plan = plan.with_env(self.env)
        plan.line_ids.tax_ids = [Command.link(tax_b.id)]

        here = self._create_subscription(plan, "2026-12-07", confirm=False)
        self.assertEqual(here.order_line.tax_ids, tax_a)
        there = self._create_subscription(plan, "2026-12-07", confirm=False, company_id=other["company"].id)
        self.assertEqual(there.order_line.tax_ids, tax_b)

        exempt = tax_a.copy({"name": "Intra-EU 0%", "amount": 0.0, "original_tax_ids": [Command.set(tax_a.ids)]})
        position = self.env["account.fiscal.position"].create({
            "name": "Intra-EU", "tax_ids": [Command.set(exempt.ids)]})
        mapped = self._create_subscription(plan, "2026-12-07", confirm=False, fiscal_position_id=position.id)
        self.assertEqual(mapped.order_line.tax_ids, exempt)

        with self.assertRaisesRegex(ValidationError, "belongs to company Capsules NL"):
            plan.company_id = self.company_data["company"]  # tax_b is not of this company
