"""19.0.1.3.0: a mandate points to the debtor's bank account (``res.partner.bank``) instead of keeping
a copy of its IBAN and BIC.

Each mandate takes the customer's bank account with its IBAN, or a new one; the BIC goes to that
account's bank.  An amendment's original account becomes an archived bank account of the customer,
unless they still have it.  Then the old IBAN, BIC and original-IBAN columns are dropped: no copy of
an account number stays outside ``res.partner.bank``.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.exceptions import ValidationError
from odoo.tools.sql import column_exists

_logger = logging.getLogger(__name__)


def bank_account(env, partner, iban, bic, name):
    """The mandate's account, checked as a new one would be; an IBAN that today's checks refuse
    (schwifty's SEPA list changes) is still kept, as it was, and the log says which mandate."""
    try:
        with env.cr.savepoint():
            return env["sale.recurring.mandate"]._recurring_bank_account(partner, iban, bic, name)
    except ValidationError as error:
        _logger.warning("Mandate %s: its IBAN %s is kept although it fails today's checks (%s)", name, iban, error)
        accounts = env["res.partner.bank"].with_context(active_test=False)
        commercial = partner.commercial_partner_id
        return accounts.search([("partner_id", "=", commercial.id), ("sanitized_acc_number", "=", iban)], limit=1) \
            or accounts.create({"partner_id": commercial.id, "acc_number": iban})


def migrate(cr, version):
    if not column_exists(cr, "sale_recurring_mandate", "iban"):
        return
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False, "tracking_disable": True})
    cr.execute("""SELECT id, name, partner_id, iban, bic, original_iban FROM sale_recurring_mandate
                   WHERE bank_account_id IS NULL ORDER BY id""")
    rows = cr.fetchall()
    for mandate_id, name, partner_id, iban, bic, original_iban in rows:
        partner = env["res.partner"].browse(partner_id)
        account = bank_account(env, partner, iban, bic, name)
        original = env["res.partner.bank"]
        if original_iban:
            had = env["res.partner.bank"].search_count([
                ("partner_id", "=", partner.commercial_partner_id.id),
                ("sanitized_acc_number", "=", original_iban.replace(" ", "").upper())])
            original = bank_account(env, partner, original_iban, None, name)
            if not had and original != account:
                original.active = False  # made for the history only: not one of the customer's accounts
        cr.execute("UPDATE sale_recurring_mandate SET bank_account_id = %s, original_bank_account_id = %s "
                   "WHERE id = %s", [account.id, original.id or None, mandate_id])
    for column in ("iban", "bic", "original_iban"):
        cr.execute(f'ALTER TABLE sale_recurring_mandate DROP COLUMN IF EXISTS "{column}"')
    env.invalidate_all()
    _logger.info("%s mandates now point to their debtor's bank account", len(rows))
