"""19.0.1.4.0: close reasons get "Offered on the Portal" (``portal_ok``, default on).

The reasons only the company decides (unpaid invoices, end of term, replaced by another
subscription) are data kept on update, so they are taken off the portal here.
"""

from odoo import SUPERUSER_ID, api

COMPANY_REASONS = ("close_reason_unpaid", "close_reason_end_of_term", "close_reason_plan_change")


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid in COMPANY_REASONS:
        reason = env.ref(f"sale_weekly_subscription.{xmlid}", raise_if_not_found=False)
        if reason:
            reason.portal_ok = False
