from . import account_move
from . import res_company
from . import res_config_settings
from . import sale_recurring_close_reason
from . import sale_recurring_plan
from . import sale_recurring_pause
from . import sale_order
from . import sale_order_line
