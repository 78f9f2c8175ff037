from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.fields import Command
from odoo.tests import new_test_user, tagged

from .common import SubscriptionCase


@tagged("post_install", "-at_install")
class TestSecurity(SubscriptionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = cls._create_plan(name="Weekly")
        cls.other_company = cls.setup_other_company()["company"]
        cls.other_plan = cls._create_plan(name="Other company plan", company_id=cls.other_company.id)

    def test_user_reads_but_cannot_edit_plans(self):
        plan = self.plan.with_user(self.user)
        self.assertEqual(plan.name, "Weekly")
        with self.assertRaises(AccessError):
            plan.name = "Changed"
        with self.assertRaises(AccessError):
            self.env["sale.recurring.plan"].with_user(self.user).create({"name": "Mine"})
        with self.assertRaises(AccessError):
            self.env["sale.recurring.close.reason"].with_user(self.user).create({"name": "Mine"})
        self.plan.with_user(self.manager).name = "Weekly box"

    @freeze_time("2026-12-02")
    def test_user_cannot_reach_another_company(self):
        theirs = self.env["sale.order"].with_company(self.other_company).create({
            "partner_id": self.customer.id,
            "company_id": self.other_company.id,
            "recurring_plan_id": self.other_plan.id,
            "recurring_start_date": "2026-12-02",
            "order_line": [Command.create({"product_id": self.product_box.id, "price_unit": 10})],
        })
        mine = self._create_subscription(self.plan, "2026-12-02", user_id=self.user.id)
        Order = self.env["sale.order"].with_user(self.user)
        found = Order.search([("recurring_plan_id", "!=", False)])
        self.assertIn(mine, found)
        self.assertNotIn(theirs, found)
        with self.assertRaises(AccessError):
            theirs.with_user(self.user).read(["recurring_next_invoice_date"])
        self.assertFalse(self.env["sale.recurring.plan"].with_user(self.user).search(
            [("id", "=", self.other_plan.id)]))

    @freeze_time("2026-12-02")
    def test_user_sees_own_and_team_subscriptions_only(self):
        colleague = new_test_user(
            self.env, login="sub_colleague", groups="sale_weekly_subscription.group_subscription_user",
            company_id=self.company_data["company"].id)
        stranger = new_test_user(
            self.env, login="sub_stranger", groups="sale_weekly_subscription.group_subscription_user",
            company_id=self.company_data["company"].id)
        team = self.env["crm.team"].sudo().create({
            "name": "Meal boxes", "member_ids": [Command.set((self.user | colleague).ids)]})
        colleagues = self._create_subscription(self.plan, "2026-12-02", user_id=colleague.id, team_id=team.id)
        strangers = self._create_subscription(self.plan, "2026-12-02", user_id=stranger.id, team_id=False)
        visible = self.env["sale.order"].with_user(self.user).search([])
        self.assertIn(colleagues, visible)
        self.assertNotIn(strangers, visible)
        self.assertIn(strangers, self.env["sale.order"].with_user(self.manager).search([]))
