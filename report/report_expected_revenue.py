from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine import forecast


class ReportExpectedRevenue(models.AbstractModel):
    """The Expected Revenue PDF: printed from the rows selected in its list, or from the
    parameters of its report screen (``sale.recurring.forecast.report``)."""

    _name = "report.sale_weekly_subscription.report_expected_revenue"
    _description = "Expected Revenue PDF"

    @api.model
    def _get_report_values(self, docids, data=None):
        Forecast = self.env["sale.recurring.forecast"]
        if data and data.get("first_month"):
            rows, months, plans = self._rows_of_parameters(data)
        else:
            rows, months, plans = Forecast.browse(docids), None, None
        return {
            "doc_ids": rows.ids,
            "doc_model": Forecast._name,
            "docs": rows,
            "summary": rows._report_summary(months, plans),
        }

    @api.model
    def _rows_of_parameters(self, data):
        """The forecast rows, months and plans of the report screen's parameters, checked again:
        they come back in the report's URL.  The record rules show each user their own rows."""
        try:
            first, count = fields.Date.to_date(data["first_month"]), int(data.get("month_count") or 0)
            plan_ids = [int(plan_id) for plan_id in data.get("plan_ids") or []]
        except (TypeError, ValueError) as error:
            raise ValidationError(self.env._("Expected Revenue Report: the parameters are not valid.")) from error
        self.env["sale.recurring.forecast.report"]._check_parameters(first, count)
        months = forecast.months_from(first, count)
        plans = self.env["sale.recurring.plan"].browse(plan_ids).exists()
        domain = [("month", ">=", months[0]), ("month", "<=", months[-1])]
        if plans:
            domain.append(("plan_id", "in", plans.ids))
        return self.env["sale.recurring.forecast"].search(domain), months, plans
