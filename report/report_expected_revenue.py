from odoo import api, fields, models

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
        parameters = self.env["sale.recurring.forecast.report"].new({
            "first_month": fields.Date.to_date(data["first_month"]),
            "month_count": int(data.get("month_count") or 0),
            "plan_ids": [fields.Command.set([int(plan_id) for plan_id in data.get("plan_ids") or []])],
        })
        parameters._check_months()
        months = forecast.months_from(parameters.first_month, parameters.month_count)
        plans = parameters.plan_ids._origin.exists()
        domain = [("month", ">=", months[0]), ("month", "<=", months[-1])]
        if plans:
            domain.append(("plan_id", "in", plans.ids))
        return self.env["sale.recurring.forecast"].search(domain), months, plans
