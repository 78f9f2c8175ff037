from . import test_plan
from . import test_subscription
from . import test_security
from . import test_billing
from . import test_concurrency
from . import test_i18n
from . import test_pause
from . import test_portal
