from odoo import fields, models


class ProductPricelist(models.Model):
    _inherit = "product.pricelist"

    ms_instance_id = fields.Many2one(
        "ms.csp.instance",
        string="Microsoft prices of",
        index=True,
        copy=False,
        help="Filled by the catalog sync of this Partner Center instance, one per active "
        "currency; its Microsoft items are replaced at every sync.",
    )


class ProductPricelistItem(models.Model):
    _inherit = "product.pricelist.item"

    ms_synced = fields.Boolean(
        string="From Microsoft",
        readonly=True,
        copy=False,
        index=True,
        help="Written by the catalog sync: edits are overwritten at the next sync.",
    )
