from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import format_date

from ..engine import forecast

MAX_MONTHS = 60  # as the company's "Forecast Months"


class SaleRecurringForecastReport(models.TransientModel):
    """The parameters of the Expected Revenue PDF: which months, which plans."""

    _name = "sale.recurring.forecast.report"
    _description = "Expected Revenue Report"

    first_month = fields.Selection(
        selection="_selection_first_month", required=True,
        default=lambda self: fields.Date.to_string(self._default_first_month()),
        help="The report starts with this calendar month: the current month or a later one.")
    month_count = fields.Integer(
        string="Months", required=True, default=lambda self: self.env.company.recurring_forecast_months or 12,
        help="How many calendar months the report shows, from the first month (1 to 60).")
    plan_ids = fields.Many2many(
        "sale.recurring.plan", string="Plans", domain="[('company_id', 'in', [False] + allowed_company_ids)]",
        help="Only the subscriptions of these plans; all plans when empty.")

    @api.model
    def _default_first_month(self):
        return forecast.month_start(self.env.company._recurring_today())

    @api.model
    def _selection_first_month(self):
        """The months a report may start with, as 'December 2026' in the user's language."""
        return [(fields.Date.to_string(month), format_date(self.env, month, date_format="MMMM y"))
                for month in forecast.months_from(self._default_first_month(), MAX_MONTHS)]

    @api.constrains("first_month", "month_count")
    def _check_months(self):
        for report in self:
            self._check_parameters(fields.Date.to_date(report.first_month), report.month_count)

    @api.model
    def _check_parameters(self, first_month, month_count):
        """The one rule of the report's parameters: the screen's and the report URL's."""
        current = self._default_first_month()
        if not 1 <= month_count <= MAX_MONTHS:
            raise ValidationError(self.env._(
                "Expected Revenue Report: the field 'Months' (%(count)s) must be between 1 and %(max)s.",
                count=month_count, max=MAX_MONTHS))
        first = forecast.month_start(first_month)
        if first < current:
            raise ValidationError(self.env._(
                "Expected Revenue Report: the field 'First Month' (%(month)s) cannot be before the current "
                "month (%(current)s): what the months that are over brought is in the invoices.",
                month=format_date(self.env, first, date_format="MMMM y"),
                current=format_date(self.env, current, date_format="MMMM y")))
        if first >= current + relativedelta(months=MAX_MONTHS):
            raise ValidationError(self.env._(
                "Expected Revenue Report: the field 'First Month' (%(month)s) must lie within %(max)s months "
                "from the current month.",
                month=format_date(self.env, first, date_format="MMMM y"), max=MAX_MONTHS))

    def _report_data(self):
        """The parameters the PDF is rendered with (plain values: they travel in the report's URL)."""
        self.ensure_one()
        return {
            "first_month": self.first_month,
            "month_count": self.month_count,
            "plan_ids": self.plan_ids.ids,
        }

    def action_print(self):
        """Rebuild the expected revenue up to the last month asked for, then print it."""
        self.ensure_one()
        Forecast = self.env["sale.recurring.forecast"]
        Forecast._check_reporting_access()
        first, current = fields.Date.to_date(self.first_month), self._default_first_month()
        horizon = (first.year - current.year) * 12 + first.month - current.month + self.month_count
        Forecast.sudo().with_context(allowed_company_ids=self.env.companies.ids)._refresh(
            max(horizon, max(self.env.companies.mapped("recurring_forecast_months") or [12])))
        return self.env.ref("sale_weekly_subscription.action_report_expected_revenue").report_action(
            None, data=self._report_data())
