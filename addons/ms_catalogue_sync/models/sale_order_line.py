from odoo import api, models
from odoo.exceptions import ValidationError


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.depends("product_id")
    def _compute_product_uom(self):
        """Microsoft lines take the billing unit of their variant (Annual, Triennial, Units)."""
        microsoft = self.filtered(lambda line: line.product_id.ms_billing_uom_id)
        for line in microsoft:
            line.product_uom = line.product_id.ms_billing_uom_id
        return super(SaleOrderLine, self - microsoft)._compute_product_uom()

    @api.constrains("product_id", "product_uom")
    def _check_ms_billing_uom(self):
        """No silent price rescaling: a Microsoft line keeps the unit Microsoft bills in."""
        for line in self:
            unit = line.product_id.ms_billing_uom_id
            if unit and line.product_uom != unit:
                raise ValidationError(self.env._(
                    "%(product)s is billed per %(unit)s: its unit cannot be changed.",
                    product=line.product_id.display_name, unit=unit.name))
