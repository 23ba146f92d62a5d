from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..const import KIND_PERPETUAL, KIND_SOFTWARE_SUBSCRIPTION
from .sync_memo import sync_is_writing

MS_KINDS = (KIND_SOFTWARE_SUBSCRIPTION, KIND_PERPETUAL)


class ProductTemplate(models.Model):
    _inherit = "product.template"

    service_tracking = fields.Selection(
        selection_add=[
            (KIND_SOFTWARE_SUBSCRIPTION, "Microsoft Software Subscription"),
            (KIND_PERPETUAL, "Microsoft Perpetual License"),
        ],
        ondelete={KIND_SOFTWARE_SUBSCRIPTION: "set default", KIND_PERPETUAL: "set default"},
    )
    ms_instance_id = fields.Many2one(
        "ms.csp.instance", string="Partner Center instance", index=True, copy=False
    )
    ms_sku_id = fields.Many2one(
        "ms.csp.sku",
        string="Microsoft SKU",
        index=True,
        copy=False,
        domain="[('instance_id', '=', ms_instance_id), ('kind', '=', service_tracking)]",
        help="Software Subscription SKU / Perpetual License SKU: the SKU title, coded "
        "ProductId:SkuId.",
    )
    ms_sku_code = fields.Char(related="ms_sku_id.code", string="SKU code")
    ms_catalog_status = fields.Selection(
        related="ms_sku_id.catalog_status", string="Catalog status"
    )
    ms_kept_in_use = fields.Boolean(
        string="Retired but in use",
        readonly=True,
        copy=False,
        help="Microsoft no longer sells this SKU, but the product is still used by orders, "
        "subscriptions or licenses, so it stays active.",
    )
    ms_is_microsoft = fields.Boolean(
        compute="_compute_ms_is_microsoft", search="_search_ms_is_microsoft"
    )

    _sql_constraints = [
        ("ms_sku_unique", "unique(ms_sku_id)", "A Microsoft SKU has exactly one product."),
    ]

    @api.depends("service_tracking")
    def _compute_ms_is_microsoft(self):
        for template in self:
            template.ms_is_microsoft = template.service_tracking in MS_KINDS

    def _search_ms_is_microsoft(self, operator, value):
        positive = (operator == "=") == bool(value)
        return [("service_tracking", "in" if positive else "not in", list(MS_KINDS))]

    @api.constrains("ms_sku_id", "service_tracking", "ms_instance_id")
    def _check_ms_sku(self):
        for template in self.filtered("ms_sku_id"):
            if template.ms_sku_id.kind != template.service_tracking:
                raise ValidationError(
                    self.env._(
                        "The SKU %(sku)s is a %(kind)s: product %(product)s must be of that kind.",
                        sku=template.ms_sku_id.display_name,
                        product=template.name,
                        kind=dict(
                            self._fields["service_tracking"]._description_selection(self.env)
                        )[template.ms_sku_id.kind],
                    )
                )
            if template.ms_sku_id.instance_id != template.ms_instance_id:
                raise ValidationError(
                    self.env._(
                        "The SKU of %s belongs to another Partner Center instance.", template.name
                    )
                )

    # === HOOKS FOR THE SUBSCRIPTION AND LICENCE ADDONS === #

    @api.model
    def _ms_product_values(self, sku, kind):
        """Values of the product of ``sku`` (create and update). Extended by the addons that sell
        Microsoft products, e.g. to make software subscriptions subscribable.

        :param sku: the ``ms.csp.sku`` record
        :param kind: its ``service_tracking`` value
        """
        return {
            "name": sku.name,
            "type": "service",
            "service_tracking": kind,
            "ms_instance_id": sku.instance_id.id,
            "ms_sku_id": sku.id,
            "default_code": sku.code,
            "sale_ok": True,
            "purchase_ok": True,
        }

    def _ms_in_use(self):
        """The templates of ``self`` still in use, that a retired SKU must not archive.

        Here: sold on a sale order that is not cancelled. The subscription and license addons add
        their own records.
        """
        lines = (
            self.env["sale.order.line"]
            .sudo()
            ._read_group(
                [("product_id.product_tmpl_id", "in", self.ids), ("state", "!=", "cancel")],
                ["product_id"],
            )
        )
        return self.browse({product.product_tmpl_id.id for (product,) in lines})

    def _get_related_fields_variant_template(self):
        """While a catalog sync writes: none.

        After creating templates, Odoo writes these fields (the code among them) again on each
        one, to pass them on to its single variant: one write, an inverse and its queries per
        product. The sync creates its templates before their variants, which get their own
        codes: there is nothing to pass on, and a first sync saves two writes per product.
        Measured with ``benchmarks/catalogue_sync.py``.
        """
        if sync_is_writing(self.env):
            return []
        return super()._get_related_fields_variant_template()

    def _set_product_variant_field(self, fname):
        """While a catalog sync creates templates: nothing.

        Odoo passes a template's code, given at creation, on to its single variant, looking up
        each template's variants one by one. The sync creates its templates without variants
        (``create_product_product=False``) and gives each variant its own code afterwards:
        there is no variant to pass anything on to. Measured with
        ``benchmarks/catalogue_sync.py`` (a tenth of the product creation).
        """
        if sync_is_writing(self.env) and self.env.context.get("create_product_product") is False:
            return
        super()._set_product_variant_field(fname)
