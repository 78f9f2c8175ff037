import base64

from odoo.tests import HttpCase, new_test_user, tagged

from ..engine import sepa
from .common import SubscriptionCase


@tagged("post_install", "-at_install")
class TestBackofficeTour(SubscriptionCase, HttpCase):
    """The main back-office flow in the browser, as a new accountant follows it from the main menu."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_data["company"]
        euro = cls.env.ref("base.EUR")
        euro.active = True
        company.write({"currency_id": euro.id, "recurring_billing_hour": 0})
        cls._setup_sepa_creditor()
        cls.env["product.pricelist"].search([]).action_archive()
        cls.env["product.pricelist"].create({"name": "EUR", "currency_id": euro.id, "company_id": company.id})
        cls._create_product(name="Tour meal box", lst_price=29.90, taxes_id=[])
        customer = cls.env["res.partner"].create({
            "name": "Tour Customer", "email": "tour@example.com", "city": "Liège",
            "country_id": cls.env.ref("base.be").id})
        mandate = cls.env["sale.recurring.mandate"].create({
            "name": "TOUR-MANDATE", "partner_id": customer.id, "iban": "BE68539007547034", "signed_on": "2026-01-05"})
        mandate.action_validate()
        cls.accountant = new_test_user(
            cls.env, login="tour_accountant", name="Tour Accountant",
            groups="account.group_account_invoice,sale_weekly_subscription.group_subscription_manager",
            company_id=company.id)

    def test_backoffice_flow_tour(self):
        self.start_tour("/odoo", "sale_weekly_subscription_backoffice", login="tour_accountant")
        order = self.env["sale.order"].search([("partner_id.name", "=", "Tour Customer")])
        self.assertEqual(order.recurring_plan_id.name, "Tour weekly box")
        self.assertEqual(order.recurring_pause_ids.weeks, 1)
        invoice = order.recurring_invoice_ids
        self.assertEqual(invoice.state, "posted")
        batch = self.env["sale.recurring.sepa.batch"].search([("line_ids.invoice_id", "in", invoice.ids)])
        self.assertEqual(len(batch), 1)
        data = base64.b64decode(batch.xml_file)
        sepa.validate(data, batch.version)
        self.assertIn(b"TOUR-MANDATE", data)
