"""19.0.1.3.0, before the models load: names of the add-on's own, so that OCA's bank-payment add-ons
can be installed next to it.

- The inbound payment method's code becomes ``sale_recurring_sdd``: OCA's
  ``account_banking_sepa_direct_debit`` creates one with ``sepa_direct_debit``, and Odoo allows one
  method per code and direction.
- ``res.company.sepa_creditor_identifier`` (also OCA's field name) becomes
  ``recurring_sepa_creditor_identifier``, its value kept.
"""

from odoo.tools.sql import column_exists, rename_column

MODULE = "sale_weekly_subscription"


def migrate(cr, version):
    cr.execute(
        """UPDATE account_payment_method SET code = 'sale_recurring_sdd'
            WHERE code = 'sepa_direct_debit' AND id IN (
                  SELECT res_id FROM ir_model_data
                   WHERE module = %s AND model = 'account.payment.method'
                     AND name = 'account_payment_method_sepa_direct_debit')""", [MODULE])
    if column_exists(cr, "res_company", "sepa_creditor_identifier") and not column_exists(
            cr, "res_company", "recurring_sepa_creditor_identifier"):
        rename_column(cr, "res_company", "sepa_creditor_identifier", "recurring_sepa_creditor_identifier")
    # the field's metadata follows, so that its translations and history stay with it
    for model in ("res.company", "res.config.settings"):
        table = model.replace(".", "_")
        cr.execute(
            """UPDATE ir_model_fields SET name = 'recurring_sepa_creditor_identifier'
                WHERE model = %s AND name = 'sepa_creditor_identifier'
                  AND NOT EXISTS (SELECT 1 FROM ir_model_fields
                                   WHERE model = %s AND name = 'recurring_sepa_creditor_identifier')""",
            [model, model])
        cr.execute(
            """UPDATE ir_model_data SET name = %s
                WHERE module = %s AND model = 'ir.model.fields' AND name = %s""",
            [f"field_{table}__recurring_sepa_creditor_identifier", MODULE,
             f"field_{table}__sepa_creditor_identifier"])
