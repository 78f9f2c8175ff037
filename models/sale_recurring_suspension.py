from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import format_date

from ..engine import periods

ONE_DAY = timedelta(days=1)


class SaleRecurringSuspension(models.Model):
    """Days a subscription is suspended for non-payment (plan option *After Failed Collections*:
    *Suspend deliveries*).

    The schedule reads a suspension as it reads a pause (``engine.periods.Pause``): the period it
    starts in ends the day before, nothing is billed while it lasts, and billing starts again, with
    the same rhythm, send day and anchoring, on the day it ends.  A running suspension has no last
    day yet: the schedule sees it as lasting to the last day the engine knows.  It is not a pause
    of the customer's choosing: no weeks, no plan limits, no notice, no term extension, and no
    paid days given back (it starts on the first period boundary not yet invoiced).
    """

    _name = "sale.recurring.suspension"
    _description = "Subscription Suspension for Non-payment"
    _order = "start_date desc, id desc"
    _check_company_auto = True

    order_id = fields.Many2one(
        "sale.order", string="Subscription", required=True, index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one(related="order_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="order_id.partner_id", store=True, string="Customer")
    start_date = fields.Date(
        string="First Day Suspended", required=True, readonly=True,
        help="No delivery and no billing from this day: the first period boundary not yet invoiced when the "
             "subscription was suspended, so that no invoice already made changes.")
    end_date = fields.Date(
        string="Last Day Suspended", readonly=True,
        help="Empty while suspended. Once the unpaid invoices are paid (or the subscription is resumed by hand) "
             "the day before billing starts again.")
    state = fields.Selection(
        [("running", "Suspended"), ("done", "Resumed"), ("closed", "Closed"), ("cancel", "Cancelled")],
        required=True, default="running", readonly=True, index=True,
        help="Suspended: nothing is billed from the first day suspended. Resumed: billing started again after the "
             "last day suspended. Closed: the subscription was closed while suspended. Cancelled: resumed before "
             "its first day, so no day was suspended.")
    invoice_ids = fields.Many2many(
        "account.move", "sale_recurring_suspension_invoice_rel", "suspension_id", "move_id",
        string="Unpaid Invoices", readonly=True,
        help="The invoices whose direct debits failed too often, which suspended the subscription.")
    resumed_by = fields.Selection(
        [("payment", "Paid"), ("cancel", "Invoice Cancelled"), ("user", "By hand")], readonly=True,
        help="Paid: every invoice whose collection failed was paid (by a transfer, a manual payment, a credit "
             "note, ...). Invoice Cancelled: the last of them still unpaid was cancelled, the others being paid "
             "or cancelled. By hand: an accountant resumed it.")
    activity_id = fields.Many2one(
        "mail.activity", readonly=True, ondelete="set null",
        help="The to-do of the subscription's responsible about this suspension, marked done when it ends.")

    @api.depends("order_id", "start_date")
    def _compute_display_name(self):
        for suspension in self:
            suspension.display_name = self.env._(
                "%(order)s: suspended from %(start)s", order=suspension.order_id.name or "",
                start=format_date(self.env, suspension.start_date))

    def _engine_pause(self):
        """This suspension as the schedule sees it: a pause up to its last day, or, while it runs, to
        the engine's last day (``periods.LAST_DAY``): nothing it would bill is ever due."""
        self.ensure_one()
        return periods.Pause(self.start_date, self.end_date or periods.LAST_DAY)

    def _end(self, day, state, resumed_by=False):
        """End these running suspensions: service starts again on ``day`` (the last day suspended is the
        day before).  Ended on or before its first day, a suspension suspended nothing: cancelled.  Written by
        the subscription's own flows (resume, close), which checked what the user may do."""
        for suspension in self.sudo().filtered(lambda s: s.state == "running"):
            if day <= suspension.start_date:
                suspension.write({"state": "cancel", "end_date": False, "resumed_by": resumed_by})
            else:
                suspension.write({"state": state, "end_date": day - ONE_DAY, "resumed_by": resumed_by})
            if suspension.activity_id:
                suspension.activity_id.sudo().action_feedback(feedback=self.env._(
                    "The suspension for non-payment has ended."))
