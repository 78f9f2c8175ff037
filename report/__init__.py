from . import report_expected_revenue
