"""Pure-Python core of the add-on: the period and date rules, a subscription's schedule, the
TARGET2 calendar, the pain.008 builder and its checks, and the forecast maths.  Never imports
``odoo``."""
