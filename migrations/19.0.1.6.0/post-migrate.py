"""19.0.1.6.0: the e-mail of a failed direct debit says when deliveries are suspended.

Mail templates are data kept on update (a company may word them its own way), so a database from
before keeps the old body, without that paragraph. Here the template is reset from its data file,
with Odoo's own ``reset_template`` (which also reloads its fr/nl/de translations), only when nobody
changed it: last written by the superuser, as the module loads it, and still without the paragraph.
A template a user edited is left as it is; *Reset Template* on it brings the new text.
"""

from odoo import SUPERUSER_ID, api

XMLID = "sale_weekly_subscription.mail_template_direct_debit_failed"


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    template = env.ref(XMLID, raise_if_not_found=False)
    if not template or template.write_uid.id != SUPERUSER_ID:
        return
    if "recurring_suspended_from" not in (template.with_context(lang="en_US").body_html or ""):
        template.reset_template()
