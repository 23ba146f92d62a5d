from odoo import api, models

from odoo.addons.ms_catalogue_sync.const import KIND_SOFTWARE_SUBSCRIPTION


class ProductTemplate(models.Model):
    _inherit = "product.template"

    @api.model
    def _ms_product_values(self, sku, kind):
        """Software subscriptions are subscribable. ``subscription_oca`` keeps one subscription
        template per product template; ours depends on the variant's term plan
        (``product.product.ms_subscription_template_id``), so the template-level one stays empty.
        """
        values = super()._ms_product_values(sku, kind)
        if kind == KIND_SOFTWARE_SUBSCRIPTION:
            values["subscribable"] = True
        return values

    def _ms_in_use(self):
        """Templates sold in a Microsoft subscription that is not closed stay in use."""
        in_use = super()._ms_in_use()
        lines = (
            self.env["sale.subscription.line"]
            .sudo()
            ._read_group(
                [
                    ("product_id.product_tmpl_id", "in", (self - in_use).ids),
                    ("sale_subscription_id.ms_is_microsoft", "=", True),
                    ("sale_subscription_id.stage_id.type", "!=", "post"),
                ],
                ["product_id"],
            )
        )
        return in_use | self.browse({product.product_tmpl_id.id for (product,) in lines})
