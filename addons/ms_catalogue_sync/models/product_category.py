from odoo import api, fields, models

from .ms_csp_sku import KIND_SELECTION


class ProductCategory(models.Model):
    _inherit = "product.category"

    ms_kind = fields.Selection(
        KIND_SELECTION,
        string="Microsoft product kind",
        help="Kind of the Microsoft products of this category. Empty: the parent's.",
    )
    ms_instance_id = fields.Many2one(
        "ms.csp.instance",
        string="Partner Center instance",
        help="Instance of the Microsoft products of this category. Empty: the parent's.",
    )
    ms_effective_kind = fields.Selection(
        KIND_SELECTION,
        string="Effective Microsoft kind",
        compute="_compute_ms_effective",
        recursive=True,
    )
    ms_effective_instance_id = fields.Many2one(
        "ms.csp.instance",
        string="Effective instance",
        compute="_compute_ms_effective",
        recursive=True,
    )

    @api.depends(
        "ms_kind",
        "ms_instance_id",
        "parent_id.ms_effective_kind",
        "parent_id.ms_effective_instance_id",
    )
    def _compute_ms_effective(self):
        """A child category inherits the kind and settings of its parent unless overridden."""
        for category in self:
            parent = category.parent_id
            category.ms_effective_kind = category.ms_kind or parent.ms_effective_kind
            category.ms_effective_instance_id = (
                category.ms_instance_id or parent.ms_effective_instance_id
            )
