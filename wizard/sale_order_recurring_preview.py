from odoo import api, fields, models


class SaleOrderRecurringPreview(models.TransientModel):
    _name = "sale.order.recurring.preview"
    _description = "Upcoming Invoices of a Subscription"

    order_id = fields.Many2one("sale.order", required=True, ondelete="cascade", readonly=True)
    currency_id = fields.Many2one(related="order_id.currency_id")
    count = fields.Integer(default=6, help="Number of upcoming invoices shown.")
    pause_ids = fields.Many2many(
        "sale.recurring.pause", compute="_compute_pause_ids", string="Upcoming Pauses")
    line_ids = fields.One2many(
        "sale.order.recurring.preview.line", "preview_id", compute="_compute_line_ids",
        store=True, readonly=True)

    @api.depends("order_id")
    def _compute_pause_ids(self):
        for preview in self:
            preview.pause_ids = preview.order_id.recurring_pause_ids.filtered(
                lambda p: p.state in ("scheduled", "running"))

    @api.depends("order_id", "count")
    def _compute_line_ids(self):
        for preview in self:
            upcoming = preview.order_id._recurring_preview_vals(preview.count)
            preview.line_ids = [fields.Command.clear()] + [fields.Command.create(vals) for vals in upcoming]


class SaleOrderRecurringPreviewLine(models.TransientModel):
    _name = "sale.order.recurring.preview.line"
    _description = "Upcoming Invoice of a Subscription"
    _order = "invoice_date, period_start"

    preview_id = fields.Many2one("sale.order.recurring.preview", required=True, ondelete="cascade")
    currency_id = fields.Many2one(related="preview_id.currency_id")
    invoice_date = fields.Date()
    invoice_date_unpaused = fields.Date(
        string="Without Pauses", help="The date this invoice would have without the pauses.")
    period_start = fields.Date()
    period_end = fields.Date()
    label = fields.Char(string="Period")
    is_prorated = fields.Boolean(
        string="Prorated", help="A partial period, billed for its share of days.")
    amount_untaxed = fields.Monetary(string="Untaxed Amount")
    is_skipped = fields.Boolean(
        string="Skipped",
        help="A skipped delivery: this period gets no invoice; the date is the one it would have had.")

