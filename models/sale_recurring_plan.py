from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine import periods

WEEKDAYS = [
    ("0", "Monday"),
    ("1", "Tuesday"),
    ("2", "Wednesday"),
    ("3", "Thursday"),
    ("4", "Friday"),
    ("5", "Saturday"),
    ("6", "Sunday"),
]

# Changing one of these on a plan in use would silently move the periods of
# its running subscriptions: the accountant switches them to a new plan.
RHYTHM_FIELDS = ("billing_unit", "billing_interval", "billing_timing", "anchoring")


# a subscriber pausing longer than this on the portal, on a plan without its own limit, talks to us
PORTAL_MAX_PAUSE_WEEKS = 12


class SaleRecurringPlan(models.Model):
    _name = "sale.recurring.plan"
    _description = "Subscription Plan"
    _inherit = ["mail.thread"]
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", index=True,
        help="Leave empty to share the plan between all companies.")
    description = fields.Html(translate=True)

    # -- rhythm --------------------------------------------------------------
    billing_interval = fields.Integer(
        string="Bill Every", required=True, default=1, tracking=True,
        help="Number of weeks (1 to 52), months or years in one billing period.")
    billing_unit = fields.Selection(
        [("week", "Weeks"), ("month", "Months"), ("year", "Years")],
        string="Period Unit", required=True, default="week", tracking=True)
    billing_timing = fields.Selection(
        [("advance", "In advance"), ("arrears", "In arrears")],
        string="Bill", required=True, default="advance", tracking=True,
        help="In advance: each invoice covers the coming period and is dated on the latest "
             "send day on or before the period starts.\n"
             "In arrears: each invoice covers the period just ended and is dated on the "
             "first send day after it.")
    send_weekday = fields.Selection(
        WEEKDAYS, string="Default Send Day", required=True, default="0",
        help="Weekday on which invoices of week-based plans are dated and sent. "
             "Each subscription can pick its own day.")
    anchoring = fields.Selection(
        [("start", "From the start date"), ("aligned", "Aligned to the send day")],
        string="Periods", required=True, default="start", tracking=True,
        help="From the start date: full periods count from the subscription's first day.\n"
             "Aligned to the send day: the first period runs from the start to the day "
             "before the first send day and is prorated by days; full periods follow. "
             "Month and year plans align on the 1st of the month and on 1 January.")

    lead_in_policy = fields.Selection(
        [("separate", "Its own invoice"), ("merge", "With the first full period"),
         ("merge_short", "With the first full period when short"), ("free", "Free")],
        string="Lead-in", required=True, default="separate", tracking=True,
        help="The lead-in is the prorated first period of a subscription aligned to the send day, from its "
             "start date to its first full period.\n"
             "Its own invoice: billed on its own invoice, on the start date (in advance) or after it (in arrears).\n"
             "With the first full period: billed on the invoice of the first full period, on that period's "
             "invoice date, as lines of its own with its own dates and prorated amount.\n"
             "With the first full period when short: the same, but only for a lead-in shorter than the days "
             "given; a longer one gets its own invoice.\n"
             "Free: never billed; the subscription still runs from its start date.\n"
             "A change applies to the lead-ins not yet invoiced.")
    lead_in_merge_days = fields.Integer(
        string="Merge When Shorter Than (Days)", default=7,
        help="A lead-in of fewer days than this goes on the invoice of the first full period; a lead-in of "
             "this many days or more gets its own invoice.")

    # -- terms ---------------------------------------------------------------
    duration_type = fields.Selection(
        [("open", "Open-ended"), ("fixed", "Fixed number of periods"),
         ("commitment", "Minimum commitment")],
        string="Duration", required=True, default="open", tracking=True,
        help="Open-ended: runs until closed.\n"
             "Fixed: ends after the given number of full periods (a prorated first "
             "period comes on top).\n"
             "Minimum commitment: open-ended, but cannot be closed before the given "
             "number of full periods.")
    duration_periods = fields.Integer(
        string="Number of Periods", default=12,
        help="Number of full billing periods of a fixed term or of the minimum commitment.")
    renewal_type = fields.Selection(
        [("none", "No renewal"), ("manual", "Manual"), ("auto", "Automatic")],
        string="Renewal", required=True, default="none", tracking=True,
        help="What happens at the end of a fixed term.\n"
             "Manual: the subscription moves to 'To Renew' the given weeks before its end, "
             "with an activity for the salesperson.\n"
             "Automatic: the term is extended by the renewal length the given weeks before "
             "its end.")
    renewal_periods = fields.Integer(
        string="Renewal Length", default=12,
        help="Number of billing periods a renewal adds to the term.")
    renewal_notice_weeks = fields.Integer(
        string="Renew Before End (Weeks)", default=4,
        help="How many weeks before the end of the term a renewal is due.")
    notice_quantity = fields.Integer(
        string="Cancellation Notice", default=0,
        help="How long before closing the customer must give notice. The close date "
             "proposed is today plus this notice; only a subscription manager can pick "
             "an earlier date.")
    notice_unit = fields.Selection(
        [("day", "Days"), ("week", "Weeks")], required=True, default="day")

    # -- pauses --------------------------------------------------------------
    pause_max_weeks = fields.Integer(
        string="Max Weeks per Pause", default=0, tracking=True,
        help="Longest pause allowed, in weeks. 0: no limit.")
    pause_max_weeks_year = fields.Integer(
        string="Max Paused Weeks per 12 Months", default=0, tracking=True,
        help="Most weeks a subscription may be paused in any rolling 12 months, counting "
             "every pause not cancelled. 0: no limit.")
    pause_portal = fields.Boolean(
        string="Pause from the Portal", default=True,
        help="Subscribers can pause their subscription, and cancel a pause they scheduled, "
             "from their customer portal, within the limits above.")
    pause_notice_days = fields.Integer(
        string="Portal Pause Notice (Days)", default=7, tracking=True,
        help="A pause asked for on the portal must start at least this many days later. "
             "Accountants are not bound by it.")
    pause_extends_term = fields.Boolean(
        string="Pauses Extend the Term", default=True,
        help="The end of a fixed term moves back by the days paused, so the customer gets "
             "every period paid for.")
    mid_period_changes = fields.Selection(
        [("next", "From the next period"), ("prorate", "Prorated correction")],
        string="Changes in an Invoiced Period", required=True, default="next",
        help="When a quantity, price or product of a running subscription changes with an effective date "
             "inside a period already invoiced in advance (the 'Change a Line' button):\n"
             "From the next period: the invoiced period stays as billed; the next invoice bills the new line.\n"
             "Prorated correction: the rest of the invoiced period is corrected at once, prorated by days, "
             "goods and services alike: an invoice for an increase, a credit note for a decrease, dated on "
             "the change.")
    pause_unused_days = fields.Selection(
        [("credit", "Credit note"), ("carry_over", "Deduct from the next invoice")],
        string="Paid Days in a Pause", required=True, default="credit",
        help="When a pause starts in a period already invoiced in advance, the paid days "
             "from the pause start are given back, prorated by days:\n"
             "Credit note: at once, on a credit note linked to the pause and to the invoice.\n"
             "Deduct from the next invoice: as negative lines on the first invoice after the "
             "pause.")

    # -- what the subscriber may change before a period (skips, next box) -----
    cutoff_days = fields.Integer(
        string="Cut-off (Days Before)", default=2, tracking=True,
        help="How many days before a period starts (its send day) the subscriber can still skip "
             "it or change its box, together with the cut-off time. Example: 6 days at 23:59 for "
             "a Monday box closes changes on the Tuesday before at 23:59. In the company's time "
             "zone. Accountants are not bound by it.")
    cutoff_time = fields.Float(
        string="Cut-off Time", default=23 + 59 / 60, tracking=True,
        help="The last minute of the cut-off day on which changes are still accepted, in the "
             "company's time zone (23:59: until 23:59:59).")
    skip_allowed = fields.Boolean(
        string="Skips Allowed", default=False, tracking=True,
        help="Subscribers can skip a delivery (one whole period: no delivery, no invoice) on their portal "
             "until the cut-off, and accountants on the subscription at any time before it starts. Weekly "
             "plans only (every N weeks).")
    skip_max_12_weeks = fields.Integer(
        string="Max Skips per 12 Weeks", default=0, tracking=True,
        help="Most deliveries a subscription may skip in any rolling 12 weeks (84 days, counted by send day), "
             "on the portal and in the back office alike. 0: no limit. Skips do not count against the pause "
             "limits.")

    # -- invoicing -----------------------------------------------------------
    auto_post = fields.Boolean(
        string="Post Invoices", default=True,
        help="The billing run posts the invoices it creates. Untick to review drafts first.")
    auto_send = fields.Boolean(
        string="Send Invoices", default=True,
        help="The billing run e-mails each posted invoice with its PDF to the customer.")
    skip_zero_invoices = fields.Boolean(
        string="No Invoice for 0.00", default=True,
        help="A period whose total is 0.00 (free lines, lines that cancel out) gets no invoice: it counts as "
             "billed and 'Invoiced Until' moves on. A period whose paid pause days are deducted always gets "
             "its invoice, to show the deduction. Untick to post a 0.00 invoice every period.")
    unpaid_action = fields.Selection(
        [("keep", "Keep billing"), ("suspend", "Suspend deliveries"), ("close", "Close the subscription")],
        string="After Failed Collections", required=True, default="keep",
        help="When an invoice's direct debit has failed more than the company's 'Re-present At Most' times (the "
             "invoice is then held, and the responsible gets an activity): keep billing; suspend deliveries (the "
             "subscription is 'Suspended for Non-payment' from its first period not yet invoiced: nothing is "
             "billed nor collected, and it resumes on its own once the unpaid invoices are paid, any way); or "
             "close the subscription today with the reason 'Unpaid invoices'.")
    charge_return_fees = fields.Boolean(
        help="The bank's charges on a returned direct debit are billed to the subscriber, as a line of its own "
             "on their next invoice.")
    payment_method = fields.Selection(
        [("manual", "Bank transfer or manual payment"), ("sepa", "SEPA direct debit")],
        string="Default Payment Method", required=True, default="manual",
        help="How subscribers of this plan usually pay. SEPA direct debit: the plan's invoices have it as "
             "preferred payment method, with or without a mandate yet.")
    journal_id = fields.Many2one(
        "account.journal", string="Invoice Journal", check_company=True,
        domain="[('type', '=', 'sale')]",
        help="Sales journal of the invoices; the company's default sales journal when empty.")

    line_ids = fields.One2many(
        "sale.recurring.plan.line", "plan_id", string="Recurring Products", copy=True,
        help="Products copied into each new subscription of this plan.")
    subscription_ids = fields.One2many("sale.order", "recurring_plan_id", string="Subscriptions")
    subscription_count = fields.Integer(compute="_compute_subscription_count")
    period_label = fields.Char(compute="_compute_period_label", string="Billing Period")

    _interval_positive = models.Constraint(
        "CHECK(billing_interval > 0)", "The billing interval must be at least 1.")

    @api.depends("billing_interval", "billing_unit")
    def _compute_period_label(self):
        for plan in self:
            count = plan.billing_interval
            if count == 1:
                plan.period_label = {
                    "week": self.env._("Weekly"),
                    "month": self.env._("Monthly"),
                    "year": self.env._("Yearly"),
                }.get(plan.billing_unit, "")
            else:
                plan.period_label = {
                    "week": self.env._("Every %(count)s weeks", count=count),
                    "month": self.env._("Every %(count)s months", count=count),
                    "year": self.env._("Every %(count)s years", count=count),
                }.get(plan.billing_unit, "")

    def _compute_subscription_count(self):
        counts = dict(self.env["sale.order"]._read_group(
            [("recurring_plan_id", "in", self.ids)], ["recurring_plan_id"], ["__count"]))
        for plan in self:
            plan.subscription_count = counts.get(plan, 0)

    @api.constrains("billing_interval", "billing_unit")
    def _check_billing_interval(self):
        for plan in self:
            top = periods.MAX_INTERVAL.get(plan.billing_unit, 1)
            if not 1 <= plan.billing_interval <= top:
                unit = dict(plan._fields["billing_unit"]._description_selection(self.env)).get(plan.billing_unit, "")
                raise ValidationError(self.env._(
                    "Plan '%(plan)s': the field 'Bill Every' must be between 1 and %(top)s %(unit)s, not %(value)s.",
                    plan=plan.display_name, top=top, unit=unit.lower(), value=plan.billing_interval))

    @api.constrains("lead_in_policy", "lead_in_merge_days")
    def _check_lead_in(self):
        for plan in self.filtered(lambda plan: plan.lead_in_policy == "merge_short"):
            if plan.lead_in_merge_days < 1:
                raise ValidationError(self.env._(
                    "Plan '%(plan)s': the field 'Merge When Shorter Than (Days)' must be at least 1, not %(value)s.",
                    plan=plan.display_name, value=plan.lead_in_merge_days))

    @api.constrains("duration_type", "duration_periods", "renewal_type", "renewal_periods",
                    "renewal_notice_weeks", "notice_quantity", "pause_max_weeks",
                    "pause_max_weeks_year", "pause_notice_days")
    def _check_terms(self):
        for plan in self:
            if plan.duration_type != "open" and plan.duration_periods < 1:
                raise ValidationError(self.env._(
                    "Plan '%(plan)s': 'Number of Periods' must be at least 1 for a fixed term "
                    "or a minimum commitment.", plan=plan.display_name))
            if plan.renewal_type != "none" and plan.duration_type != "fixed":
                raise ValidationError(self.env._(
                    "Plan '%(plan)s': only a fixed-term plan can be renewed; set 'Duration' to "
                    "a fixed number of periods or 'Renewal' to no renewal.", plan=plan.display_name))
            if plan.renewal_type != "none" and plan.renewal_periods < 1:
                raise ValidationError(self.env._(
                    "Plan '%(plan)s': 'Renewal Length' must be at least 1 period.",
                    plan=plan.display_name))
            if min(plan.pause_max_weeks, plan.pause_max_weeks_year, plan.pause_notice_days) < 0:
                raise ValidationError(self.env._(
                    "Plan '%(plan)s': pause limits and notice cannot be negative.", plan=plan.display_name))
            if plan.renewal_notice_weeks < 0 or plan.notice_quantity < 0:
                raise ValidationError(self.env._(
                    "Plan '%(plan)s': notice periods cannot be negative.", plan=plan.display_name))

    @api.constrains("company_id")
    def _check_line_tax_company(self):
        self.line_ids._check_tax_company()

    def write(self, vals):
        self.env["sale.order"]._recurring_forget_failures([("recurring_plan_id", "in", self.ids)])
        changed = [name for name in RHYTHM_FIELDS if name in vals]
        if changed:
            # every company's, and closed ones with a period still to bill
            in_use = self.env["sale.order"].sudo().search_count([
                ("recurring_plan_id", "in", self.ids),
                "|", ("recurring_state", "in", ("progress", "to_renew", "paused")),
                ("recurring_next_invoice_date", "!=", False),
            ], limit=1)
            moved = any(plan[name] != plan._fields[name].convert_to_cache(vals[name], plan)
                        for plan in self for name in changed)
            if in_use and moved:
                raise UserError(self.env._(
                    "The billing period of a plan with running subscriptions cannot change: "
                    "their periods would move. Create a new plan and switch the subscriptions "
                    "to it; the change then applies from each one's next period not yet invoiced."))
        return super().write(vals)

    def _portal_max_pause_weeks(self):
        """Longest pause a subscriber may ask for on the portal: the plan's limit, else
        ``PORTAL_MAX_PAUSE_WEEKS``.  The portal's form and its server both read it."""
        self.ensure_one()
        return self.pause_max_weeks or PORTAL_MAX_PAUSE_WEEKS

    def _rhythm(self, send_weekday=None):
        """The engine's view of this plan, with a subscription's own send day."""
        self.ensure_one()
        return periods.Rhythm(
            unit=self.billing_unit,
            interval=self.billing_interval,
            timing=self.billing_timing,
            send_weekday=int(send_weekday or self.send_weekday),
            anchoring=self.anchoring,
        )

    def _recurring_lead_in(self):
        """The engine's view of this plan's lead-in option (``periods.LeadIn``)."""
        self.ensure_one()
        return periods.LeadIn(
            policy=self.lead_in_policy or periods.SEPARATE,
            merge_days=self.lead_in_merge_days if self.lead_in_policy == periods.MERGE_SHORT else 0)

    @api.onchange("billing_unit")
    def _onchange_billing_unit_skips(self):
        """Skips are whole periods of weeks: a plan of months or years has none."""
        for plan in self.filtered(lambda plan: plan.billing_unit != "week"):
            plan.skip_allowed = False

    @api.constrains("skip_allowed", "skip_max_12_weeks", "billing_unit")
    def _check_skips(self):
        for plan in self:
            if plan.skip_allowed and plan.billing_unit != "week":
                raise ValidationError(self.env._(
                    "Plan %(plan)s: the field 'Skips Allowed' is for plans billed every N weeks: a skip is one "
                    "whole period of weeks.", plan=plan.display_name))
            if plan.skip_max_12_weeks < 0:
                raise ValidationError(self.env._(
                    "Plan %(plan)s: the field 'Max Skips per 12 Weeks' cannot be negative.", plan=plan.display_name))

    @api.constrains("cutoff_days", "cutoff_time")
    def _check_cutoff(self):
        for plan in self:
            if plan.cutoff_days < 0 or not 0 <= plan.cutoff_time < 24:
                raise ValidationError(self.env._(
                    "Plan %(plan)s: the field 'Cut-off (Days Before)' must be 0 or more, and "
                    "'Cut-off Time' between 00:00 and 23:59.", plan=plan.display_name))

    def _cutoff_minutes(self):
        """The cut-off time as whole minutes after midnight (23:59 -> 1439)."""
        self.ensure_one()
        return min(round(self.cutoff_time * 60), 24 * 60 - 1)

    def action_view_subscriptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_weekly_subscription.sale_order_subscription_action")
        action["domain"] = [("recurring_plan_id", "=", self.id)]
        action["context"] = {"default_recurring_plan_id": self.id}
        return action


class SaleRecurringPlanLine(models.Model):
    _name = "sale.recurring.plan.line"
    _description = "Subscription Plan Product"
    _order = "sequence, id"
    _check_company_auto = True

    plan_id = fields.Many2one("sale.recurring.plan", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="plan_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    product_id = fields.Many2one(
        "product.product", required=True, check_company=True,
        domain="[('sale_ok', '=', True)]")
    name = fields.Text(
        string="Description",
        help="Line description on the subscription; the product's sales description when empty.")
    quantity = fields.Float(default=1.0, digits="Product Unit")
    price_unit = fields.Float(
        string="Unit Price", digits="Product Price",
        help="Price per billing period. Leave at 0 to take the pricelist price of the "
             "subscription.")
    # Like a product's own taxes, a shared plan's line may hold taxes of several companies: each
    # subscription takes those of its company (``_recurring_taxes``), so no check_company here
    tax_ids = fields.Many2many(
        "account.tax", string="Taxes",
        domain="[('type_tax_use', '=', 'sale')]",
        help="Taxes of the line. A plan shared by several companies may hold a tax of each: a subscription takes "
             "those of its own company, mapped by its fiscal position. When none is of its company, the "
             "product's sales taxes apply.")
    portal_changeable = fields.Boolean(
        string="Subscriber May Change",
        help="On the portal, subscribers may change the subscription lines of this product (any variant of it) "
             "before the plan's cut-off: another quantity within the limits below, or another variant, for one "
             "period or from a period on.")
    portal_min_quantity = fields.Float(
        string="Min. Quantity", digits="Product Unit",
        help="The lowest quantity a subscriber may choose on the portal (0: they may leave it out).")
    portal_max_quantity = fields.Float(
        string="Max. Quantity", digits="Product Unit",
        help="The highest quantity a subscriber may choose on the portal; 0 for no limit.")

    @api.constrains("portal_min_quantity", "portal_max_quantity")
    def _check_portal_quantities(self):
        for line in self:
            low, high = line.portal_min_quantity, line.portal_max_quantity
            if low < 0 or high < 0 or (high and high < low):
                raise ValidationError(self.env._(
                    "Plan '%(plan)s', product '%(product)s': the fields 'Min. Quantity' and 'Max. Quantity' cannot "
                    "be negative, and the maximum (0: no limit) cannot be below the minimum.",
                    plan=line.plan_id.display_name, product=line.product_id.display_name))

    @api.constrains("tax_ids", "plan_id")
    def _check_tax_company(self):
        for line in self.filtered("company_id"):
            foreign = line.tax_ids.filtered(lambda tax, line=line: tax.company_id not in line.company_id.parent_ids)
            if foreign:
                raise ValidationError(self.env._(
                    "Plan '%(plan)s', product '%(product)s': the tax %(tax)s belongs to company %(other)s, not to the "
                    "plan's company %(company)s (field 'Taxes'). Leave the plan's Company empty to share it.",
                    plan=line.plan_id.display_name, product=line.product_id.display_name,
                    tax=foreign[0].display_name, other=foreign[0].company_id.display_name,
                    company=line.company_id.display_name))

    @api.onchange("product_id")
    def _onchange_product_id(self):
        for line in self.filtered("product_id"):
            line.price_unit = line.product_id.lst_price
            line.tax_ids = line.product_id.taxes_id._filter_taxes_by_company(
                line.company_id or self.env.company)

    def _recurring_taxes(self, order):
        """The taxes this line has on ``order``: its own taxes of the order's company (or of a parent
        company), else the product's, mapped by the order's fiscal position"""
        self.ensure_one()
        company = order.company_id or self.env.company
        taxes = self.tax_ids._filter_taxes_by_company(company) \
            or self.product_id.taxes_id._filter_taxes_by_company(company)
        return order.fiscal_position_id.map_tax(taxes)

    def _prepare_order_line_vals(self, order):
        """Values of ``order``'s sale order line that this plan line becomes."""
        self.ensure_one()
        vals = {
            "product_id": self.product_id.id,
            "product_uom_qty": self.quantity,
            "sequence": self.sequence,
        }
        if self.name:
            vals["name"] = self.name
        if self.price_unit:
            vals["price_unit"] = self.price_unit
        if self.tax_ids:
            vals["tax_ids"] = [fields.Command.set(self._recurring_taxes(order).ids)]
        return vals
