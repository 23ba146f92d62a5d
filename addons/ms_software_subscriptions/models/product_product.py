from odoo import api, fields, models

from ..const import SUBSCRIPTION_TEMPLATE_BY_TERM_PLAN


class ProductProduct(models.Model):
    _inherit = "product.product"

    ms_subscription_template_id = fields.Many2one(
        "sale.subscription.template",
        string="Microsoft subscription template",
        compute="_compute_ms_subscription_template_id",
        help="The subscription template of this term plan: confirming an order of this variant "
        "creates a subscription with it (annual billing: yearly; triennial billing: every three "
        "years).",
    )

    @api.depends("ms_term_plan")
    def _compute_ms_subscription_template_id(self):
        templates = {
            plan: self.env.ref(xmlid, raise_if_not_found=False)
            for plan, xmlid in SUBSCRIPTION_TEMPLATE_BY_TERM_PLAN.items()
        }
        for product in self:
            product.ms_subscription_template_id = templates.get(product.ms_term_plan) or False
