"""19.0.1.1.0: return reasons became records (sale.recurring.return.reason); the codes stored on the
direct-debit lines of earlier versions point to them."""


def migrate(cr, version):
    cr.execute("""
        SELECT 1 FROM information_schema.columns
         WHERE table_name = 'sale_recurring_sepa_line' AND column_name = 'return_reason'""")
    if not cr.fetchone():
        return
    cr.execute("""
        UPDATE sale_recurring_sepa_line line
           SET return_reason_id = reason.id
          FROM sale_recurring_return_reason reason
         WHERE reason.code = line.return_reason AND line.return_reason_id IS NULL""")
