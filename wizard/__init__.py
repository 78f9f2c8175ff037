from . import sale_order_recurring_close
from . import sale_order_recurring_preview
from . import sale_recurring_pause_wizard
from . import sale_recurring_sepa_run
from . import sale_recurring_sepa_return
from . import sale_order_recurring_catch_up
from . import sale_recurring_sepa_import
from . import sale_recurring_forecast_report
