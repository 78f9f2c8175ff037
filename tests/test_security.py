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

    def test_the_app_and_its_menus_without_sales_management(self):
        """Subscriptions is an app of its own: with the add-on's dependencies alone (no sale_management,
        so no active Sales root menu) a subscription user still reaches every screen of theirs"""
        self.assertNotEqual(self.env["ir.module.module"].search([("name", "=", "sale_management")]).state,
                            "installed", "this test means a database without Sales' own app")
        root = self.env.ref("sale_weekly_subscription.sale_subscription_menu")
        self.assertFalse(root.parent_id)

        def visible(user):
            menus = self.env["ir.ui.menu"].with_user(user).load_menus(debug=False)
            names = {menu["xmlid"]: menu for key, menu in menus.items() if key != "root" and menu["xmlid"]}
            return menus, names

        menus, names = visible(self.user)
        self.assertIn(root.id, menus["root"]["children"], "the app shows in the main menu")
        for xmlid in ("sale_order_subscription_menu", "sale_recurring_pause_menu", "sale_sepa_mandate_menu",
                      "sale_recurring_forecast_menu", "sale_recurring_plan_menu"):
            menu = names.get(f"sale_weekly_subscription.{xmlid}")
            self.assertTrue(menu, f"{xmlid} is reachable by a subscription user")
            self.assertEqual(menu["app_id"], root.id)
        self.assertNotIn("sale_weekly_subscription.sale_subscription_settings_menu", set(names))
        self.assertNotIn("sale_weekly_subscription.sale_recurring_close_reason_menu", set(names))
        _menus, names = visible(self.manager)
        for xmlid in ("sale_recurring_close_reason_menu", "sale_recurring_pause_reason_menu"):
            self.assertIn(f"sale_weekly_subscription.{xmlid}", set(names))
        _menus, names = visible(self.env.ref("base.user_admin"))
        self.assertIn("sale_weekly_subscription.sale_subscription_settings_menu", set(names))
        # a user without the add-on's groups does not get the app
        salesman = new_test_user(self.env, login="plain_salesman", groups="sales_team.group_sale_salesman",
                                 company_id=self.company_data["company"].id)
        menus, _names = visible(salesman)
        self.assertNotIn(root.id, menus["root"]["children"])

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
