"""Pure-Python core of the add-on: date rules, and later the TARGET2 calendar,
the SEPA builder and the forecast maths.  Never imports ``odoo``."""
