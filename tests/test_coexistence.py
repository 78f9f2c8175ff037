"""The add-on next to OCA's bank-payment and subscription add-ons.

These tests run only in the databases of ``make coexist`` (tag ``coexistence``), where OCA's
19.0 ``account_banking_sepa_direct_debit`` (with ``account_banking_pain_base``,
``account_banking_mandate``, ``account_payment_order``, ``account_payment_mode``), ``contract`` and
``subscription_oca`` are installed before or after this add-on.  In the plain test database they
are not selected.
"""

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from ..models.account_journal import SDD_CODE
from . import test_billing, test_sepa

MODULE = "sale_weekly_subscription"
OCA_MODULES = ("account_banking_sepa_direct_debit", "account_banking_pain_base", "account_banking_mandate",
               "account_payment_order", "account_payment_mode", "contract", "subscription_oca")


class OcaUser:
    """OCA's account_payment_order gives the right to create bank accounts to its own group,
    'Accounting / Payments', instead of the partner managers: the accountant of these tests has it,
    as one who makes payment orders in such a database does.  The inherited tests all run again."""

    allow_inherited_tests_method = True

    @classmethod
    def get_default_groups(cls):
        return super().get_default_groups() | cls.env.ref("account_payment_order.group_account_payment")


@tagged("post_install", "-at_install", "-standard", "coexistence")
class TestNextToOca(OcaUser, test_sepa.TestSepa):
    """Every SEPA test of the add-on, run again next to OCA, plus what sharing a database needs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]

    def test_oca_is_installed(self):
        modules = self.env["ir.module.module"].search([("name", "in", (MODULE, *OCA_MODULES))])
        states = {module.name: module.state for module in modules}
        self.assertEqual(states, dict.fromkeys((MODULE, *OCA_MODULES), "installed"))

    def test_no_field_is_defined_by_both(self):
        """A field both sides define is one column with two meanings: there must be none."""
        shared = []
        for model in self.env.registry.values():
            for name, field in model._fields.items():
                modules = set(field._modules)
                if MODULE in modules and modules & set(OCA_MODULES):
                    shared.append(f"{model._name}.{name} ({', '.join(sorted(modules))})")
        self.assertEqual(shared, [])

    def test_labels_are_unique_on_shared_models(self):
        """Odoo warns of two fields with one label; none of them may be the add-on's."""
        clashes = []
        for model in self.env.registry.values():
            labels = {}
            for field in model._fields.values():
                labels.setdefault(field.string, []).append(field)
            for label, fields in labels.items():
                if len(fields) > 1 and any(MODULE in field._modules for field in fields):
                    clashes.append(f"{model._name}: {label!r} ({', '.join(field.name for field in fields)})")
        self.assertEqual(clashes, [])

    def test_two_payment_methods_each_its_own(self):
        methods = self.env["account.payment.method"].search([("payment_type", "=", "inbound")])
        ours = self.env.ref(f"{MODULE}.account_payment_method_sepa_direct_debit")
        oca = self.env.ref("account_banking_sepa_direct_debit.sepa_direct_debit")
        self.assertEqual((ours.code, oca.code), (SDD_CODE, "sepa_direct_debit"))
        self.assertEqual(len(methods.filtered(lambda method: method.code == SDD_CODE)), 1)
        # the add-on's run offers its own invoices only, not the ones OCA's payment orders collect
        journal = self.journal
        oca_line = journal.inbound_payment_method_line_ids.filtered(lambda line: line.payment_method_id == oca)[:1]
        if not oca_line:
            oca_line = self.env["account.payment.method.line"].create(
                {"payment_method_id": oca.id, "journal_id": journal.id})
        self.assertTrue(journal.inbound_payment_method_line_ids.filtered(lambda line: line.code == SDD_CODE))
        order = self._debit_subscription()
        oca_invoice = self.init_invoice("out_invoice", partner=self.customer, amounts=[50.0], post=False)
        oca_invoice.preferred_payment_method_line_id = oca_line
        oca_invoice.action_post()
        self._run_billing_at("2026-11-30 08:00")
        with freeze_time("2026-12-01 09:00"):
            run = self._run("2026-12-14")
        self.assertEqual(run.line_ids.invoice_id, order.recurring_invoice_ids)

    def _run_billing_at(self, moment):
        with freeze_time(moment):
            self._run_billing()

    def test_one_creditor_identifier(self):
        company = self.company
        self.assertEqual(company.sepa_creditor_identifier, "BE68ZZZ0123456789")
        company.recurring_sepa_creditor_identifier = "DE98ZZZ09999999999"
        self.assertEqual(company.sepa_creditor_identifier, "DE98ZZZ09999999999")
        company.sepa_creditor_identifier = "BE68ZZZ0123456789"  # as OCA's screens write it
        self.assertEqual(company.recurring_sepa_creditor_identifier, "BE68ZZZ0123456789")
        with self.assertRaisesRegex(ValidationError, "one value"):
            company.write({"recurring_sepa_creditor_identifier": "BE68ZZZ0123456789",
                           "sepa_creditor_identifier": "DE98ZZZ09999999999"})
        settings = Form(self.env["res.config.settings"])
        settings.recurring_sepa_creditor_identifier = "DE98ZZZ09999999999"
        settings.save().execute()
        self.assertEqual((company.recurring_sepa_creditor_identifier, company.sepa_creditor_identifier),
                         ("DE98ZZZ09999999999", "DE98ZZZ09999999999"))
        self.env.invalidate_all()
        self.env.cr.execute("SELECT count(*) FROM res_company WHERE recurring_sepa_creditor_identifier "
                            "IS DISTINCT FROM sepa_creditor_identifier")
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_install_gives_both_columns_one_value(self):
        """What runs when one side is installed after the other (res.company's init)."""
        company = self.company
        other = self.env["res.company"].create({"name": "Second company"})
        self.env.flush_all()
        self.env.cr.execute("UPDATE res_company SET sepa_creditor_identifier = NULL WHERE id = %s", [company.id])
        self.env.cr.execute("UPDATE res_company SET recurring_sepa_creditor_identifier = NULL, "
                            "sepa_creditor_identifier = 'DE98ZZZ09999999999' WHERE id = %s", [other.id])
        self.env["res.company"].init()
        self.env.invalidate_all()
        self.assertEqual((company.recurring_sepa_creditor_identifier, company.sepa_creditor_identifier),
                         ("BE68ZZZ0123456789", "BE68ZZZ0123456789"))
        self.assertEqual((other.recurring_sepa_creditor_identifier, other.sepa_creditor_identifier),
                         ("DE98ZZZ09999999999", "DE98ZZZ09999999999"))
        # two values already apart: neither is overwritten, the log says which company to fix
        self.env.cr.execute("UPDATE res_company SET sepa_creditor_identifier = 'DE98ZZZ09999999999' "
                            "WHERE id = %s", [company.id])
        with self.assertLogs("odoo.addons.sale_weekly_subscription.models.res_company", "WARNING") as logs:
            self.env["res.company"].init()
        self.assertIn(company.name, logs.output[0])


@tagged("post_install", "-at_install", "-standard", "coexistence")
class TestBillingNextToOca(OcaUser, test_billing.TestBilling):
    """Every billing test of the add-on, run again next to OCA's add-ons."""
