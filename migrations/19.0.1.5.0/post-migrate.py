"""19.0.1.5.0: return reasons gain their ISO definition (``definition``).

The reasons are data kept on update (an accountant may change what a code does), so the records
shipped before this release would keep an empty definition. Here each of them that still has none
gets the one its data record ships, in English (the translations follow from the .po files).
"""

from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.tools.misc import file_path

DATA = "sale_weekly_subscription/data/sale_recurring_return_reason_data.xml"


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    shipped = etree.parse(file_path(DATA))
    for record in shipped.iterfind("//record[@model='sale.recurring.return.reason']"):
        definition = record.find("field[@name='definition']")
        if definition is None or not (definition.text or "").strip():
            continue
        reason = env.ref(f"sale_weekly_subscription.{record.get('id')}", raise_if_not_found=False)
        if reason and not reason.definition:
            reason.definition = definition.text.strip()
