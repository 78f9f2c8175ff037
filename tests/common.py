from odoo.fields import Command
from odoo.tests import Form, new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon


class SubscriptionCase(AccountTestInvoicingCommon):
    """Plans, a customer and users of each subscription group, in a fresh company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        company = cls.company_data["company"]
        # the accountant running the fixtures also manages subscriptions
        cls.env.user.group_ids += cls.env.ref("sale_weekly_subscription.group_subscription_manager")
        cls.product_box = cls._create_product(name="Meal box", lst_price=39.90, taxes_id=[])
        cls.customer = cls.env["res.partner"].create({
            "name": "Brasserie Dupont", "email": "dupont@example.com", "company_id": False,
        })
        cls.user = new_test_user(
            cls.env, login="sub_user", groups="sale_weekly_subscription.group_subscription_user",
            company_id=company.id, company_ids=[Command.set(company.ids)])
        cls.manager = new_test_user(
            cls.env, login="sub_manager", groups="sale_weekly_subscription.group_subscription_manager",
            company_id=company.id, company_ids=[Command.set(company.ids)])
        cls.reason = cls.env.ref("sale_weekly_subscription.close_reason_customer_request")

    @classmethod
    def _setup_euro_company(cls):
        """SEPA collects euros: the test company bills in EUR (set before any invoice exists), with a
        pricelist of its own in euros, returned."""
        company = cls.company_data["company"]
        euro = cls.env.ref("base.EUR")
        euro.active = True
        company.currency_id = euro
        return cls.env["product.pricelist"].create({"name": "EUR", "currency_id": euro.id, "company_id": company.id})

    @classmethod
    def _setup_sepa_creditor(cls, **values):
        """The company collects by SEPA direct debit: a Brussels address, a Belfius account and a
        creditor identifier (``values`` go on the company too)."""
        company = cls.company_data["company"]
        company.partner_id.write({"street": "Rue Neuve 12", "zip": "1000", "city": "Bruxelles",
                                  "country_id": cls.env.ref("base.be").id})
        bank = cls.env["res.bank"].create({"name": "Belfius", "bic": "GKCCBEBB"})
        account = cls.env["res.partner.bank"].create({
            "acc_number": "BE71096123456769", "partner_id": company.partner_id.id, "bank_id": bank.id})
        company.write({"recurring_sepa_creditor_identifier": "BE68ZZZ0123456789", "sepa_creditor_bank_id": account.id,
                       **values})
        return account

    @classmethod
    def _portal_user(cls, login, name):
        """A portal user of the main company (password = login), with an e-mail address."""
        company = cls.company_data["company"]
        user = new_test_user(cls.env, login=login, groups="base.group_portal", name=name,
                             company_id=company.id, company_ids=[Command.set(company.ids)])
        user.partner_id.email = f"{login}@example.com"
        return user

    @classmethod
    def _create_plan(cls, **values):
        return cls.env["sale.recurring.plan"].create({
            "name": "Plan",
            "billing_unit": "week",
            "billing_interval": 1,
            "send_weekday": "0",
            "line_ids": [Command.create({"product_id": cls.product_box.id, "price_unit": 39.90})],
            **values,
        })

    @classmethod
    def _create_subscription(cls, plan, start, confirm=True, user=None, **values):
        order = cls.env["sale.order"].with_user(user or cls.env.user).create({
            "partner_id": cls.customer.id,
            "recurring_plan_id": plan.id,
            "recurring_start_date": start,
            **values,
        })
        if "order_line" not in values and plan.line_ids:
            order.order_line = [Command.create(line._prepare_order_line_vals(order)) for line in plan.line_ids]
        if confirm:
            order.action_confirm()
        return order

    def _pause_from(self, order, start, weeks):
        """Pause ``order`` from ``start`` (a date) for ``weeks``, through the pause wizard."""
        wizard = Form(self.env["sale.recurring.pause.wizard"].with_context(default_order_id=order.id))
        wizard.start_mode = "date"
        wizard.start_date = start
        wizard.weeks = weeks
        return wizard.save().action_confirm()

    def _run_billing(self):
        """The billing run as the scheduler runs it: its own cursor, commits per batch."""
        with self.enter_registry_test_mode():
            self.env.ref("sale_weekly_subscription.ir_cron_recurring_billing").method_direct_trigger()

    def assertPeriod(self, order, start, end, invoice_date):
        self.assertEqual(
            (order.recurring_next_period_start, order.recurring_next_period_end,
             order.recurring_next_invoice_date),
            (start, end, invoice_date))
