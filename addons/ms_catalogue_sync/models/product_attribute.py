from odoo import fields, models

from .ms_csp_sku import TERM_PLAN_SELECTION


class ProductAttributeValue(models.Model):
    _inherit = "product.attribute.value"

    ms_term_plan = fields.Selection(
        TERM_PLAN_SELECTION, string="Microsoft term plan", readonly=True,
        help="Set on the values of the Microsoft Term attribute: the variant's term plan.")
