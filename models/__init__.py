from . import sale_recurring_close_reason
from . import sale_recurring_plan
from . import sale_order
