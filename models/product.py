from odoo import models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    def write(self, vals):
        # a product a failed subscription bills changed (restored, new income account): try it again
        self.env["sale.order"]._recurring_forget_failures([("order_line.product_id.product_tmpl_id", "in", self.ids)])
        return super().write(vals)


class ProductProduct(models.Model):
    _inherit = "product.product"

    def write(self, vals):
        self.env["sale.order"]._recurring_forget_failures([("order_line.product_id", "in", self.ids)])
        return super().write(vals)
