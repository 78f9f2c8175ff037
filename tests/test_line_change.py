import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import SubscriptionCase

D = date


class LineChangeCase(SubscriptionCase):
    """A weekly box on Mondays (39.90) with a bag of coffee (12.50, beans or ground at 1.00 more) the
    subscriber may change from 0 to 4, up to the Sunday before at 23:59, Brussels time."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_data["company"]
        company.partner_id.tz = "Europe/Brussels"
        grind = cls.env["product.attribute"].create({
            "name": "Grind", "create_variant": "always",
            "value_ids": [Command.create({"name": "Beans"}), Command.create({"name": "Ground"})]})
        cls.coffee = cls.env["product.template"].create({
            "name": "Coffee", "list_price": 12.50, "taxes_id": [],
            "attribute_line_ids": [Command.create({"attribute_id": grind.id,
                                                   "value_ids": [Command.set(grind.value_ids.ids)]})]})
        cls.coffee.attribute_line_ids.product_template_value_ids.filtered(
            lambda value: value.name == "Ground").price_extra = 1.0
        variants = cls.coffee.product_variant_ids
        cls.beans = variants.filtered(lambda v: "Beans" in v.display_name)
        cls.ground = variants - cls.beans
        cls.tea = cls._create_product(name="Tea", lst_price=8.0, taxes_id=[])
        cls.plan = cls._create_plan(name="Weekly box", auto_send=False, cutoff_days=1, line_ids=[
            Command.create({"product_id": cls.product_box.id, "price_unit": 39.90}),
            Command.create({"product_id": cls.beans.id, "price_unit": 12.50, "portal_changeable": True,
                            "portal_min_quantity": 0, "portal_max_quantity": 4}),
        ])

    def _subscribe(self, partner=None):
        """A subscription from Monday 30 November 2026, its first week invoiced."""
        with freeze_time("2026-11-30 12:00"):
            order = self._create_subscription(self.plan, "2026-11-30", partner_id=(partner or self.customer).id)
        self._bill("2026-11-30")
        return order

    def _bill(self, day):
        with freeze_time(f"{day} 12:00"):
            self._run_billing()
        self.env.invalidate_all()

    def _coffee_line(self, order):
        return order.order_line.filtered(lambda line: line.product_id.product_tmpl_id == self.coffee)

    def _change(self, order, day, quantity, scope="once", product=None, **values):
        line = self._coffee_line(order)[:1]
        return self.env["sale.recurring.line.change"].create({
            "order_id": order.id, "line_id": line.id, "product_id": (product or line.product_id).id,
            "quantity": quantity, "date": day, "scope": scope, **values})

    def _invoice(self, order, start):
        return order.recurring_invoice_ids.filtered(
            lambda move: move.move_type == "out_invoice" and move.recurring_period_start == start)

    def _lines(self, move):
        return sorted((line.product_id.display_name, line.quantity, line.price_unit)
                      for line in move.invoice_line_ids)

    def _upcoming(self, order, count=3):
        return [(row["period_start"], row["amount_untaxed"]) for row in order._recurring_preview_vals(count)]


@tagged("post_install", "-at_install")
class TestLineChange(LineChangeCase):
    """Change the next box: a line's quantity or variant, for one period or from a period on."""

    def test_a_change_for_one_period_is_billed_then_the_line_returns(self):
        order = self._subscribe()
        with freeze_time("2026-12-02 12:00"):
            change = self._change(order, "2026-12-07", 3)
            self.assertEqual(self._upcoming(order), [
                (D(2026, 12, 7), 77.40), (D(2026, 12, 14), 52.40), (D(2026, 12, 21), 52.40)])
            self.assertEqual(order._recurring_next_invoice_total(), 77.40)
            self.assertIn("Line change scheduled", order.message_ids[0].body)
        self._bill("2026-12-07")
        invoice = self._invoice(order, D(2026, 12, 7))
        self.assertEqual(invoice.amount_untaxed, 77.40)
        self.assertEqual(self._lines(invoice), [("Coffee (Beans)", 3.0, 12.50), ("Meal box", 1.0, 39.90)])
        coffee = self._coffee_line(order)
        self.assertEqual(invoice.invoice_line_ids.filtered(lambda line: line.quantity == 3).sale_line_ids, coffee)
        self.assertEqual((change.state, coffee.product_uom_qty), ("applied", 1.0))
        self._bill("2026-12-14")
        self.assertEqual(self._lines(self._invoice(order, D(2026, 12, 14))),
                         [("Coffee (Beans)", 1.0, 12.50), ("Meal box", 1.0, 39.90)])

    def test_a_change_from_a_period_on_changes_the_line_once_that_period_is_billed(self):
        order = self._subscribe()
        with freeze_time("2026-12-02 12:00"):
            change = self._change(order, "2026-12-14", 2, scope="from")
            self.assertEqual(self._upcoming(order), [
                (D(2026, 12, 7), 52.40), (D(2026, 12, 14), 64.90), (D(2026, 12, 21), 64.90)])
        self._bill("2026-12-07")
        self.assertEqual((change.state, self._coffee_line(order).product_uom_qty), ("scheduled", 1.0))
        self._bill("2026-12-14")
        self.assertEqual(self._invoice(order, D(2026, 12, 14)).amount_untaxed, 64.90)
        self.assertEqual((change.state, self._coffee_line(order).product_uom_qty), ("applied", 2.0))
        self.assertIn("Line changed", order.message_ids.mapped("body")[1] + order.message_ids.mapped("body")[0])
        self._bill("2026-12-21")
        self.assertEqual(self._invoice(order, D(2026, 12, 21)).amount_untaxed, 64.90)

    def test_another_variant_for_one_period_and_from_then_on(self):
        order = self._subscribe()
        with freeze_time("2026-12-02 12:00"):
            self._change(order, "2026-12-07", 1, product=self.ground)
            self._change(order, "2026-12-21", 2, scope="from", product=self.ground)
            self.assertEqual(self._upcoming(order, 4)[:4], [
                (D(2026, 12, 7), 53.40), (D(2026, 12, 14), 52.40), (D(2026, 12, 21), 66.90), (D(2026, 12, 28), 66.90)])
        for day in ("2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28"):
            self._bill(day)
        self.assertEqual(self._lines(self._invoice(order, D(2026, 12, 7))),
                         [("Coffee (Ground)", 1.0, 13.50), ("Meal box", 1.0, 39.90)])
        self.assertEqual(self._lines(self._invoice(order, D(2026, 12, 14))),
                         [("Coffee (Beans)", 1.0, 12.50), ("Meal box", 1.0, 39.90)])
        # from then on: a new line of the other variant; Odoo keeps the product of an invoiced line, at 0 now
        lines = self._coffee_line(order)
        self.assertEqual(sorted((line.product_id, line.product_uom_qty, line.price_unit) for line in lines),
                         sorted([(self.beans, 0.0, 12.50), (self.ground, 2.0, 13.50)]))
        for day in (D(2026, 12, 21), D(2026, 12, 28)):
            self.assertEqual(self._lines(self._invoice(order, day)),
                             [("Coffee (Ground)", 2.0, 13.50), ("Meal box", 1.0, 39.90)])

    def test_a_decrease_to_zero_leaves_the_line_off_that_invoice(self):
        order = self._subscribe()
        with freeze_time("2026-12-02 12:00"):
            self._change(order, "2026-12-07", 0)
            self.assertEqual(self._upcoming(order, 2), [(D(2026, 12, 7), 39.90), (D(2026, 12, 14), 52.40)])
        self._bill("2026-12-07")
        self._bill("2026-12-14")
        self.assertEqual(self._lines(self._invoice(order, D(2026, 12, 7))), [("Meal box", 1.0, 39.90)])
        self.assertEqual(self._invoice(order, D(2026, 12, 14)).amount_untaxed, 52.40)

    def test_a_change_on_the_last_day_of_a_period(self):
        """The box of Monday 7 December closes on Sunday 6 December, the last day of the period before,
        at 23:59 in Brussels (22:59 UTC)."""
        order = self._subscribe()
        self.assertEqual(str(order._recurring_cutoff(D(2026, 12, 7))), "2026-12-06 23:59:00+01:00")
        portal = {"requested_by": "portal"}
        with freeze_time("2026-12-06 22:59:30"):
            change = self._change(order, "2026-12-07", 2, **portal)
        with freeze_time("2026-12-06 23:00:00"), self.assertRaisesRegex(UserError, "Too late to change the box"), \
                self.cr.savepoint():
            self._change(order, "2026-12-07", 3, scope="from", **portal)
        # the back office is not bound by the cut-off
        with freeze_time("2026-12-06 23:30:00"):
            late = self._change(order, "2026-12-07", 4, scope="from")
        self._bill("2026-12-07")
        self.assertEqual(self._invoice(order, D(2026, 12, 7)).amount_untaxed, 64.90)  # the one-period change wins
        self.assertEqual((change.state, late.state), ("applied", "applied"))
        self.assertEqual(self._coffee_line(order).product_uom_qty, 4)
        self.assertEqual(self._invoice(order, D(2026, 11, 30)).amount_untaxed, 52.40)  # the period before as it was

    def test_the_plan_decides_what_the_subscriber_may_change(self):
        order = self._subscribe()
        portal = {"requested_by": "portal"}
        box = order.order_line.filtered(lambda line: line.product_id == self.product_box)
        Change = self.env["sale.recurring.line.change"]
        with freeze_time("2026-12-02 12:00"):
            with self.assertRaisesRegex(UserError, "choose a whole quantity from 0 to 4"), self.cr.savepoint():
                self._change(order, "2026-12-07", 5, **portal)
            with self.assertRaisesRegex(UserError, "does not let subscribers change 'Meal box'"), \
                    self.cr.savepoint():
                Change.create({"order_id": order.id, "line_id": box.id, "product_id": self.product_box.id,
                               "quantity": 2, "date": "2026-12-07", **portal})
            self._change(order, "2026-12-07", 0, **portal)
            self._change(order, "2026-12-14", 4, scope="from", **portal)
            # the accountant is bound by neither
            Change.create({"order_id": order.id, "line_id": box.id, "product_id": self.product_box.id,
                           "quantity": 2, "date": "2026-12-21"})
            self._change(order, "2026-12-28", 9)
            with self.assertRaisesRegex(ValidationError, "must be a variant of Coffee"), self.cr.savepoint():
                self._change(order, "2027-01-04", 1, product=self.tea)
            with self.assertRaisesRegex(ValidationError, "cannot be negative"), self.cr.savepoint():
                self._change(order, "2027-01-04", -1)

    def test_only_periods_not_yet_invoiced_and_their_first_day(self):
        order = self._subscribe()
        with freeze_time("2026-12-02 12:00"):
            with self.assertRaisesRegex(ValidationError, "already invoiced"), self.cr.savepoint():
                self._change(order, "2026-11-30", 2)
            with self.assertRaisesRegex(ValidationError, "must be the first day of one of its periods"), \
                    self.cr.savepoint():
                self._change(order, "2026-12-08", 2)
            change = self._change(order, "2026-12-07", 2)
            with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.cr.savepoint():
                self._change(order, "2026-12-07", 3)  # one scheduled change per line, period and scope
            change.action_cancel()
            self.assertEqual(change.state, "cancel")
            self.assertIn("Line change cancelled", order.message_ids[0].body)
            self.assertEqual(self._upcoming(order, 1), [(D(2026, 12, 7), 52.40)])
            with self.assertRaisesRegex(UserError, "only a scheduled change can be cancelled"):
                change.action_cancel()

    def test_a_salesperson_sees_and_makes_changes_of_their_subscriptions(self):
        order = self._subscribe()
        order.user_id = self.user
        with freeze_time("2026-12-02 12:00"):
            change = self.env["sale.recurring.line.change"].with_user(self.user).create({
                "order_id": order.id, "line_id": self._coffee_line(order).id, "product_id": self.beans.id,
                "quantity": 2, "date": "2026-12-07"})
            self.assertEqual(order.with_user(self.user).recurring_line_change_ids, change)
            change.with_user(self.user).action_cancel()

    def test_an_accountant_adds_a_change_after_the_cut_off_on_the_subscription_form(self):
        order = self._subscribe()
        company = self.company_data["company"]
        accountant = new_test_user(self.env, login="box_accountant", groups="account.group_account_invoice",
                                   company_id=company.id, company_ids=[Command.set(company.ids)])
        with freeze_time("2026-12-07 06:00"):  # the subscriber's cut-off for this box was last night
            form = Form(order.with_user(accountant), view="sale_weekly_subscription.sale_order_subscription_view_form")
            with form.recurring_line_change_ids.new() as change:
                change.line_id = self._coffee_line(order)
                self.assertEqual((change.product_id, change.quantity), (self.beans, 1.0))
                change.date = D(2026, 12, 7)
                change.product_id = self.ground
                change.quantity = 2
            form.save()
            change = order.recurring_line_change_ids
            self.assertEqual((change.requested_by, change.price_unit), ("back_office", 13.50))
            self.assertEqual(self._upcoming(order, 1), [(D(2026, 12, 7), 66.90)])
            change.with_user(accountant).action_cancel()
            self.assertEqual(self._upcoming(order, 1), [(D(2026, 12, 7), 52.40)])

    def test_the_forecast_equals_the_invoices_with_changes(self):
        order = self._subscribe()
        other = self._subscribe()
        with freeze_time("2026-12-02 12:00"):
            self._change(order, "2026-12-07", 3)
            self._change(order, "2026-12-21", 0)
            self._change(order, "2027-01-11", 2, scope="from", product=self.ground)
            self._change(other, "2026-12-28", 4, scope="from")
            self._change(other, "2027-01-04", 1, product=self.ground)
        with freeze_time("2026-12-03 06:00"):
            Forecast = self.env["sale.recurring.forecast"]
            Forecast._refresh(months=3)
            expected = defaultdict(Decimal)
            for row in Forecast.search([("order_id", "in", (order | other).ids)]):
                expected[row.month] += Decimal(str(row.amount))
            Upcoming = self.env["sale.recurring.upcoming.invoice"]
            Upcoming._refresh(weeks=8)
            upcoming = Upcoming.search([("order_id", "=", order.id)], order="invoice_date")
            self.assertEqual(upcoming[:3].mapped("amount"), [77.40, 52.40, 39.90])
        day = D(2026, 12, 7)
        while day <= D(2027, 2, 28):
            self._bill(day)
            day += timedelta(weeks=1)
        invoiced = defaultdict(Decimal)
        for move in (order | other).recurring_invoice_ids.filtered(
                lambda move: move.move_type == "out_invoice" and move.invoice_date >= D(2026, 12, 1)):
            invoiced[move.invoice_date.replace(day=1)] += Decimal(str(move.amount_untaxed))
        self.assertEqual(set(expected), {D(2026, 12, 1), D(2027, 1, 1), D(2027, 2, 1)})
        self.assertEqual({month: amount.quantize(Decimal("0.01")) for month, amount in expected.items()},
                         {month: amount.quantize(Decimal("0.01")) for month, amount in invoiced.items()})
        # December (7, 14, 21, 28): 77.40 + 52.40 + 39.90 + 52.40, and 52.40 x 3 + 89.90
        self.assertEqual(invoiced[D(2026, 12, 1)], Decimal("222.10") + Decimal("247.10"))


@tagged("post_install", "-at_install")
@freeze_time("2026-12-02 10:00")
class TestPortalLineChange(LineChangeCase, HttpCase):
    """Change the next box on the portal: the form, the next invoice, the cut-off, and nobody else's box."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        cls.portal_a = cls._portal_user("box_a", "Anna Peeters")
        cls.portal_b = cls._portal_user("box_b", "Bram Janssens")

    def setUp(self):
        super().setUp()
        self.order_a = self._subscribe(self.portal_a.partner_id)
        self.order_b = self._subscribe(self.portal_b.partner_id)
        self.url = f"/my/subscriptions/{self.order_a.id}"
        self.authenticate("box_a", "box_a")

    def _post(self, url, **values):
        page = self.url_open("/my/account")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return self.url_open(url, data={"csrf_token": token, **values})

    def _changes(self, order):
        return self.env["sale.recurring.line.change"].search([("order_id", "=", order.id)])

    def _form(self, order, **values):
        return {"line_id": str(self._coffee_line(order).id), "product_id": str(self.beans.id), "quantity": "3",
                "date": "2026-12-07", "scope": "once", **values}

    def test_the_subscriber_changes_the_next_box_and_sees_the_next_invoice(self):
        page = self.url_open(self.url).text
        self.assertEqual(page.count("o_portal_change_form"), 1)  # the coffee; the box is not changeable
        self.assertIn('value="2026-12-07"', page)
        self.assertIn('name="product_id"', page)
        response = self._post(f"{self.url}/change", **self._form(self.order_a))
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_portal_change_done", response.text)
        change = self._changes(self.order_a)
        self.assertEqual((change.quantity, change.scope, change.requested_by, change.state),
                         (3.0, "once", "portal", "scheduled"))
        self.assertRegex(response.text, r'(?s)o_portal_next_invoice_total"[^>]*>.{0,200}?77\.40')
        self.assertRegex(response.text, r'(?s)Coffee \(Beans\)\nweek 50 2026.{0,200}?>3</td>')
        # again for the same box: the new change replaces the first
        self._post(f"{self.url}/change", **self._form(self.order_a, quantity="2", product_id=str(self.ground.id)))
        self.assertEqual(self._changes(self.order_a).mapped("state"), ["cancel", "scheduled"])
        self.env.invalidate_all()
        self.assertEqual(self.order_a._recurring_next_invoice_total(), 66.90)

    def test_after_the_cut_off_the_change_is_refused_with_a_clear_message(self):
        self.plan.cutoff_days = 6  # the box of 7 December closed on Tuesday 1 December at 23:59
        page = self.url_open(self.url).text
        self.assertNotIn('value="2026-12-07"', page)
        self.assertIn('value="2026-12-14"', page)
        response = self._post(f"{self.url}/change", **self._form(self.order_a))
        self.assertIn("Too late to change the box of December 7, 2026", response.text)
        self.assertFalse(self._changes(self.order_a))

    def test_the_plan_limits_are_checked_on_the_server(self):
        response = self._post(f"{self.url}/change", **self._form(self.order_a, quantity="9"))
        self.assertIn("choose a whole quantity from 0 to 4", response.text)
        box = self.order_a.order_line.filtered(lambda line: line.product_id == self.product_box)
        response = self._post(f"{self.url}/change", **self._form(
            self.order_a, line_id=str(box.id), product_id=str(self.product_box.id)))
        self.assertIn("does not let subscribers change", response.text)
        response = self._post(f"{self.url}/change", **self._form(self.order_a, product_id=str(self.tea.id)))
        self.assertIn("Choose a product, a whole quantity", response.text)
        self.assertFalse(self._changes(self.order_a))

    def test_another_customers_ids_change_nothing(self):
        other_url = f"/my/subscriptions/{self.order_b.id}"
        self.assertEqual(self.url_open(other_url).status_code, 404)
        # another customer's subscription, with its own line
        response = self._post(f"{other_url}/change", **self._form(self.order_b))
        self.assertEqual(response.status_code, 404)
        # my subscription with another customer's line
        response = self._post(f"{self.url}/change", **self._form(self.order_b))
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self._changes(self.order_a) | self._changes(self.order_b))
        # without the CSRF token
        response = self.url_open(f"{self.url}/change", data=self._form(self.order_a))
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self._changes(self.order_a))

    def test_a_portal_user_reads_only_their_own_changes_and_makes_none_by_rpc(self):
        mine = self._change(self.order_a, "2026-12-07", 2, requested_by="portal")
        theirs = self._change(self.order_b, "2026-12-07", 2, requested_by="portal")
        Change = self.env["sale.recurring.line.change"].with_user(self.portal_a)
        self.assertEqual(Change.search([]), mine)
        with self.assertRaises(AccessError):
            theirs.with_user(self.portal_a).read(["quantity"])
        with self.assertRaises(AccessError):
            Change.create({"order_id": self.order_a.id, "line_id": self._coffee_line(self.order_a).id,
                           "product_id": self.beans.id, "quantity": 4, "date": "2026-12-14"})
        with self.assertRaises(AccessError):
            mine.with_user(self.portal_a).write({"quantity": 4})


@tagged("post_install", "-at_install")
class TestSkipChangeAndCorrectionTogether(LineChangeCase):
    """Issue 16's proof in one subscription: a correction inside the invoiced week, a one-period change
    and a skipped delivery, then the expected revenue against the invoices really produced."""

    def test_the_forecast_equals_the_invoices_with_a_skip_a_change_and_a_correction(self):
        self.plan.write({"skip_allowed": True, "mid_period_changes": "prorate"})
        order = self._subscribe()  # Monday 30 November - Sunday 6 December invoiced: 52.40
        with freeze_time("2026-12-02 12:00"):
            # 2 bags from Wednesday 2 December: 5 of the 7 days paid again at the new amount
            self._coffee_line(order).with_context(recurring_effective_date="2026-12-02").product_uom_qty = 2
            correction = order.recurring_invoice_ids.filtered("recurring_correction")
            self.assertEqual((correction.move_type, correction.amount_untaxed), ("out_invoice", 8.93))
            self._change(order, "2026-12-14", 4)  # the box of 14 December only: 4 bags
            order._recurring_skip(D(2026, 12, 21))  # the box of 21 December skipped
            self.assertEqual(self._upcoming(order, 4)[:4], [
                (D(2026, 12, 7), 64.90), (D(2026, 12, 14), 89.90), (D(2026, 12, 21), 0.0),
                (D(2026, 12, 28), 64.90)])
        with freeze_time("2026-12-03 06:00"):
            Forecast = self.env["sale.recurring.forecast"]
            Forecast._refresh(months=3)
            expected = defaultdict(Decimal)
            for row in Forecast.search([("order_id", "=", order.id)]):
                expected[row.month] += Decimal(str(row.amount))
        day = D(2026, 12, 7)
        while day <= D(2027, 2, 28):
            self._bill(day)
            day += timedelta(weeks=1)
        invoiced = defaultdict(Decimal)
        for move in order.recurring_invoice_ids.filtered(
                lambda move: move.move_type == "out_invoice" and move.invoice_date >= D(2026, 12, 3)):
            invoiced[move.invoice_date.replace(day=1)] += Decimal(str(move.amount_untaxed))
        self.assertEqual({month: amount.quantize(Decimal("0.01")) for month, amount in expected.items() if amount},
                         {month: amount.quantize(Decimal("0.01")) for month, amount in invoiced.items()})
        # December: 64.90 (7th) + 89.90 (14th, 4 bags) + nothing (21st, skipped) + 64.90 (28th)
        self.assertEqual(invoiced[D(2026, 12, 1)], Decimal("219.70"))
        self.assertFalse(self._invoice(order, D(2026, 12, 21)))
        # one normal invoice per period, plus the one correction
        normal = order.recurring_invoice_ids.filtered(
            lambda move: move.move_type == "out_invoice" and not move.recurring_correction)
        self.assertEqual(len(normal), len(set(normal.mapped("recurring_period_start"))))
