from . import sale_order_recurring_close
from . import sale_order_recurring_preview
from . import sale_recurring_pause_wizard
from . import sepa_run_wizard
