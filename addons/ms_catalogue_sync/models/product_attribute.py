from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.product.models.product_template_attribute_line import (
    ProductTemplateAttributeLine as ProductLine,
)

from .ms_csp_sku import TERM_PLAN_SELECTION
from .sync_memo import sync_is_writing


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

    @api.model_create_multi
    def create(self, vals_list):
        """While a catalog sync creates products: the lines of its new templates, as they are.

        Before creating lines, Odoo looks for an archived line of the same template and
        attribute to reactivate, one query per line. The templates the sync is making, made
        without their variants (``create_product_product=False``), have no archived line, and
        without variants Odoo does nothing more: the sync creates the Microsoft Term lines of a
        batch in one call. Only while no other module adds to Odoo's line creation. Measured
        with ``benchmarks/catalogue_sync.py`` (a tenth of a first sync).
        """
        if (
            sync_is_writing(self.env)
            and self.env.context.get("create_product_product") is False
            and _only_create_between(type(self), ProductTemplateAttributeLine, ProductLine)
        ):
            return super(ProductLine, self).create(vals_list)
        return super().create(vals_list)

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


def _only_create_between(model_class, ours, odoos):
    """Whether no class between ``ours`` and ``odoos`` in ``model_class``'s order defines
    ``create``: skipping ``odoos.create`` skips nobody else's."""
    order = model_class.__mro__
    between = order[order.index(ours) + 1 : order.index(odoos)]
    return not any("create" in vars(cls) for cls in between)
