from . import sale_order_recurring_close
from . import sale_order_recurring_preview
