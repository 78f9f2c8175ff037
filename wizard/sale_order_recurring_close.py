from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date

from ..models.sale_order import MANAGER_GROUP


class SaleOrderRecurringClose(models.TransientModel):
    _name = "sale.order.recurring.close"
    _description = "Close a Subscription"

    order_id = fields.Many2one("sale.order", required=True, ondelete="cascade")
    reason_id = fields.Many2one("sale.recurring.close.reason", required=True)
    comment = fields.Text(help="Kept on the subscription and posted in its chatter.")
    earliest_date = fields.Date(
        compute="_compute_earliest_date", string="Earliest Close Date",
        help="Today plus the plan's cancellation notice, and not before the end of a "
             "minimum commitment.")
    close_date = fields.Date(
        compute="_compute_close_date", store=True, readonly=False, required=True,
        help="Last day of service. The last period is billed prorated up to this day.")
    is_early = fields.Boolean(
        compute="_compute_is_early",
        help="The close date is before what the notice allows: only a subscription manager "
             "can confirm it, and it is logged.")

    @api.depends("order_id")
    def _compute_earliest_date(self):
        for wizard in self:
            wizard.earliest_date = wizard.order_id and wizard.order_id._recurring_earliest_close_date()

    @api.depends("earliest_date")
    def _compute_close_date(self):
        for wizard in self:
            wizard.close_date = wizard.earliest_date

    @api.depends("close_date", "earliest_date")
    def _compute_is_early(self):
        for wizard in self:
            wizard.is_early = bool(wizard.close_date and wizard.earliest_date
                                   and wizard.close_date < wizard.earliest_date)

    def action_close(self):
        self.ensure_one()
        order = self.order_id
        if self.close_date < order.recurring_start_date:
            raise UserError(self.env._(
                "Subscription %(order)s: the close date cannot be before its start date %(start)s.",
                order=order.display_name, start=format_date(self.env, order.recurring_start_date)))
        if self.is_early and not self.env.user.has_group(MANAGER_GROUP):
            raise UserError(self.env._(
                "Subscription %(order)s: the notice allows closing on %(earliest)s at the "
                "earliest. Only a subscription manager can close it earlier.",
                order=order.display_name, earliest=format_date(self.env, self.earliest_date)))
        order._recurring_close(self.close_date, self.reason_id, self.comment)
        body = self.env._(
            "Subscription closed as of %(date)s. Reason: %(reason)s.",
            date=format_date(self.env, self.close_date), reason=self.reason_id.name)
        if self.is_early:
            body = self.env._(
                "%(body)s Closed before the notice allows (%(earliest)s) by %(user)s.",
                body=body, earliest=format_date(self.env, self.earliest_date),
                user=self.env.user.name)
        if self.comment:
            body = f"{body}\n{self.comment}"
        order.message_post(body=body)
        return {"type": "ir.actions.act_window_close"}
