"""Invoices built through Odoo's own invoicing hooks, and the add-on's documented extension points."""

from datetime import date
from unittest.mock import patch

from freezegun import freeze_time

from odoo.fields import Domain
from odoo.tests import tagged

from .common import SubscriptionCase

D = date


@tagged("post_install", "-at_install")
class TestInvoicingHooks(SubscriptionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=False)

    def _bill_on(self, day):
        with freeze_time(f"{day} 12:00"):
            self._run_billing()
        self.env.invalidate_all()

    def test_invoice_values_come_from_prepare_invoice(self):
        journal = self.company_data["default_journal_sale"].copy({"name": "Subscriptions", "code": "SUBS"})
        campaign = self.env["utm.campaign"].create({"name": "Winter boxes"})
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30", confirm=False)
            order.write({"journal_id": journal.id, "campaign_id": campaign.id, "reference": "+++090/9337/55493+++",
                         "client_order_ref": "PO-77"})
            order.action_confirm()
        self._bill_on(D(2026, 11, 30))
        invoice = order.recurring_invoice_ids
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.journal_id, journal, "the order's own journal")
        self.assertEqual(invoice.campaign_id, campaign)
        self.assertEqual(invoice.payment_reference, "+++090/9337/55493+++")
        self.assertEqual(invoice.ref, "PO-77")
        # the invoice line is linked to its order line, as Odoo's own invoicing links it
        self.assertEqual(invoice.invoice_line_ids.sale_line_ids, order.order_line)
        self.assertIn(invoice, order.invoice_ids)

    def _narration_added_by_an_add_on(self):
        """``_prepare_invoice`` overridden as another add-on would: it adds a narration."""
        SaleOrder = type(self.env["sale.order"])
        original = SaleOrder._prepare_invoice

        def _prepare_invoice(order):
            vals = original(order)
            vals["narration"] = "Added by another add-on"
            return vals

        return patch.object(SaleOrder, "_prepare_invoice", _prepare_invoice)

    def test_an_override_of_prepare_invoice_reaches_the_run(self):
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30")
        with self._narration_added_by_an_add_on():
            self._bill_on(D(2026, 11, 30))
        self.assertIn("Added by another add-on", str(order.recurring_invoice_ids.narration))

    def test_an_override_of_prepare_invoice_line_reaches_the_run(self):
        SaleOrderLine = type(self.env["sale.order.line"])
        original = SaleOrderLine._prepare_invoice_line

        def _prepare_invoice_line(line, **optional_values):
            vals = original(line, **optional_values)
            vals["name"] += "\nDelivered by bike"
            return vals

        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30")
        with patch.object(SaleOrderLine, "_prepare_invoice_line", _prepare_invoice_line):
            self._bill_on(D(2026, 11, 30))
        self.assertIn("Delivered by bike", order.recurring_invoice_ids.invoice_line_ids.name)

    def test_the_pause_credit_note_is_built_by_prepare_invoice(self):
        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30")
        self._bill_on(D(2026, 11, 30))
        with freeze_time("2026-12-01 12:00"), self._narration_added_by_an_add_on():
            pause = self.env["sale.recurring.pause"].create(
                {"order_id": order.id, "start_date": "2026-12-03", "weeks": 1})
        refund = pause.refund_ids
        self.assertEqual(len(refund), 1)
        self.assertEqual(refund.move_type, "out_refund")
        self.assertIn("Added by another add-on", str(refund.narration))
        self.assertFalse(refund.transaction_ids)
        self.assertEqual(refund.invoice_line_ids.sale_line_ids, order.order_line)


@tagged("post_install", "-at_install")
class TestExtensionPoints(SubscriptionCase):
    """Each hook the README's "Extending" section lists takes effect when overridden."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.weekly = cls._create_plan(name="Weekly box", auto_send=True)

    def test_what_is_billed_is_a_domain_an_add_on_can_narrow(self):
        SaleOrder = type(self.env["sale.order"])
        original = SaleOrder._recurring_due_domain

        def _recurring_due_domain(orders, todays=None):
            return original(orders, todays) & Domain("client_order_ref", "!=", "ON HOLD")

        with freeze_time("2026-11-30"):
            held = self._create_subscription(self.weekly, "2026-11-30", client_order_ref="ON HOLD")
            billed = self._create_subscription(self.weekly, "2026-11-30")
        with patch.object(SaleOrder, "_recurring_due_domain", _recurring_due_domain), \
                freeze_time("2026-11-30 12:00"):
            self._run_billing()
        self.env.invalidate_all()
        self.assertFalse(held.recurring_invoice_ids)
        self.assertEqual(len(billed.recurring_invoice_ids), 1)

    def test_posting_and_sending_are_hooks(self):
        Move = type(self.env["account.move"])
        sent = []

        def _recurring_post(moves):
            moves.write({"narration": "checked before posting"})
            moves._post(soft=False)

        def _recurring_send(moves):
            sent.extend(moves.ids)

        with freeze_time("2026-11-30"):
            order = self._create_subscription(self.weekly, "2026-11-30")
        with patch.object(Move, "_recurring_post", _recurring_post), \
                patch.object(Move, "_recurring_send", _recurring_send), freeze_time("2026-11-30 12:00"):
            self._run_billing()
        self.env.invalidate_all()
        invoice = order.recurring_invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertIn("checked before posting", str(invoice.narration))
        self.assertEqual(sent, invoice.ids)
        self.assertFalse(invoice.sending_data, "the override replaced Odoo's queued sending")
