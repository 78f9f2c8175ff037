from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import format_date

# the pause offered instead of ending, when the plan allows no shorter portal limit
OFFER_PAUSE_WEEKS = 4


class SaleRecurringCancelRequest(models.Model):
    """A subscriber's decision on the portal's "End my subscription": paused instead, or ended.

    Recorded only once they decide; created with sudo by the portal after it checked that the
    subscription is theirs.  The "Cancellations Saved" report reads these records.
    """

    _name = "sale.recurring.cancel.request"
    _description = "Subscription Cancellation Request"
    _inherit = ["mail.thread"]
    _order = "request_date desc, id desc"
    _check_company_auto = True

    order_id = fields.Many2one(
        "sale.order", string="Subscription", required=True, index=True, ondelete="cascade",
        check_company=True, readonly=True)
    company_id = fields.Many2one(related="order_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="order_id.partner_id", store=True, index=True, string="Customer")
    plan_id = fields.Many2one(related="order_id.recurring_plan_id", store=True, string="Plan")
    request_date = fields.Date(
        string="Asked On", required=True, readonly=True,
        help="The day the subscriber decided, in the company's time zone.")
    reason_id = fields.Many2one("sale.recurring.close.reason", readonly=True)
    comment = fields.Text(readonly=True, help="What the subscriber wrote when ending.")
    outcome = fields.Selection(
        [("paused", "Paused instead"), ("ended", "Ended")], required=True, readonly=True,
        help="Paused instead: the subscriber took the pause offered and stays. Ended: they confirmed the end.")
    pause_id = fields.Many2one("sale.recurring.pause", readonly=True, ondelete="set null")
    close_date = fields.Date(string="Last Day of Service", readonly=True)

    def _compute_display_name(self):
        for request in self:
            request.display_name = self.env._(
                "Cancellation request of %(order)s", order=request.order_id.display_name)

    # -- what the portal offers --------------------------------------------

    @api.model
    def _pause_offer(self, order):
        """The pause offered to ``order``'s subscriber before they end it, as an unsaved pause
        (start, weeks, end and resume computed by the pause itself), or None when the plan allows
        no portal pause or the subscription cannot be paused now."""
        plan = order.recurring_plan_id
        if not plan.pause_portal or not order.recurring_can_pause:
            return None
        return self.env["sale.recurring.pause"].new({
            "order_id": order.id,
            "start_date": order._recurring_pause_earliest_start(portal=True),
            "weeks": min(OFFER_PAUSE_WEEKS, plan._portal_max_pause_weeks()),
            "requested_by": "portal",
        })

    @api.model
    def _check_close_date(self, order, close_date):
        """Refuse, in the subscriber's words, a last day the notice does not allow."""
        earliest = order._recurring_earliest_close_date()
        if not close_date or close_date < earliest:
            raise ValidationError(self.env._(
                "Your subscription can end on %(earliest)s at the earliest.",
                earliest=format_date(self.env, earliest, date_format="long")))
        if close_date > earliest + timedelta(days=730):
            raise ValidationError(self.env._("Please pick a last day within two years."))

    # -- the two decisions -------------------------------------------------

    def _prepare_request_vals(self, order, reason, comment, outcome):
        return {
            "order_id": order.id,
            "request_date": order._recurring_today(),
            "reason_id": reason.id,
            "comment": comment or False,
            "outcome": outcome,
        }

    @api.model
    def _portal_pause_instead(self, order, reason, comment=False):
        """The subscriber takes the pause offered: it is made through the pause's own path (its
        rules and its confirmation mail), and the decision recorded."""
        offer = self._pause_offer(order)
        if not offer:
            raise ValidationError(self.env._(
                "Your subscription cannot be paused online. Please contact us to pause it."))
        if not order.recurring_can_close:
            raise ValidationError(self.env._("Your subscription cannot be ended online. Please contact us."))
        pause = self.env["sale.recurring.pause"].create({
            "order_id": order.id,
            "start_date": offer.start_date,
            "weeks": offer.weeks,
            "comment": comment or False,
            "requested_by": "portal",
        })
        return self.create({**self._prepare_request_vals(order, reason, comment, "paused"), "pause_id": pause.id})

    @api.model
    def _portal_end(self, order, reason, close_date, comment=False):
        """The subscriber confirms the end on ``close_date``: checked against the notice, closed
        through the back office's close path, recorded, and confirmed to them by mail."""
        if not order.recurring_can_close:
            raise ValidationError(self.env._("Your subscription cannot be ended online. Please contact us."))
        self._check_close_date(order, close_date)
        self.env["sale.order.recurring.close"].create({
            "order_id": order.id,
            "reason_id": reason.id,
            "comment": comment or False,
            "close_date": close_date,
        }).action_close()
        request = self.create({**self._prepare_request_vals(order, reason, comment, "ended"),
                               "close_date": close_date})
        request._send_to_customer("sale_weekly_subscription.mail_template_end_confirmed")
        return request

    def _send_to_customer(self, template_xmlid):
        """Mail the customer ``template_xmlid`` about this request (``sale.order._recurring_mail_customer``)."""
        self.ensure_one()
        self.order_id._recurring_mail_customer(self, template_xmlid)
