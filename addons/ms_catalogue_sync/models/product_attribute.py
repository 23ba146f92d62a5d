from odoo import fields, models
from odoo.exceptions import UserError

from .ms_csp_sku import TERM_PLAN_SELECTION


class ProductAttributeValue(models.Model):
    _inherit = "product.attribute.value"

    ms_term_plan = fields.Selection(
        TERM_PLAN_SELECTION,
        string="Microsoft term plan",
        readonly=True,
        help="Set on the values of the Microsoft Term attribute: the variant's term plan.",
    )


class ProductTemplateAttributeLine(models.Model):
    """The Microsoft Term line of a synced product belongs to the sync: its variants are the
    SKU's term plans, priced and provisioned as such. People cannot remove it or its values."""

    _inherit = "product.template.attribute.line"

    def write(self, vals):
        kept = {line: line.value_ids for line in self._ms_synced_term_lines()}
        result = super().write(vals)
        if any(
            line.attribute_id != values.attribute_id[:1] or values - line.value_ids
            for line, values in kept.items()
        ):
            self._ms_refuse_term_change()
        return result

    def unlink(self):
        if self._ms_synced_term_lines():
            self._ms_refuse_term_change()
        return super().unlink()

    def _ms_synced_term_lines(self):
        """The lines of ``self`` a person may not change (the sync runs as superuser)."""
        if self.env.su:
            return self.browse()
        term = self.env.ref("ms_catalogue_sync.attribute_ms_term", raise_if_not_found=False)
        return self.filtered(
            lambda line: line.attribute_id == term and line.product_tmpl_id.ms_sku_id
        )

    def _ms_refuse_term_change(self):
        raise UserError(
            self.env._(
                "The Microsoft Term of a synced Microsoft product and its values come from Partner "
                "Center: they cannot be removed. Archive the variants you do not sell instead."
            )
        )
