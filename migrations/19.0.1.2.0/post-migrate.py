"""19.0.1.2.0: a return reason says what it does (re-present later, revoke, hold); the reasons shipped
before, still set to "reopen", get the action they ship with now.  A reason an accountant changed is
left as it is."""

ACTIONS = {
    "AC01": "revoke", "AC06": "hold", "AM04": "represent", "MS03": "represent", "MD06": "hold", "MS02": "hold",
    "SL01": "hold",
}


def migrate(cr, version):
    for code, action in ACTIONS.items():
        cr.execute("UPDATE sale_recurring_return_reason SET action = %s WHERE code = %s AND action = 'reopen'",
                   [action, code])
