from odoo import api, fields, models

from ..const import (
    CATALOG_STATUS_AVAILABLE,
    CATALOG_STATUS_NEW,
    CATALOG_STATUS_RETIRED,
    KIND_PERPETUAL,
    KIND_SOFTWARE_SUBSCRIPTION,
    TERM_PLAN_ONE_TIME,
    TERM_PLANS,
)

TERM_PLAN_SELECTION = [
    ("P1Y_annual", "1 year, billed annually"),
    ("P3Y_annual", "3 years, billed annually"),
    ("P3Y_triennial", "3 years, billed triennially"),
    ("one_time", "Perpetual, billed once"),
]
assert {key for key, _label in TERM_PLAN_SELECTION} == set(TERM_PLANS)

CATALOG_STATUS_SELECTION = [
    (CATALOG_STATUS_NEW, "New"),
    (CATALOG_STATUS_AVAILABLE, "Available"),
    (CATALOG_STATUS_RETIRED, "No longer available"),
]

KIND_SELECTION = [
    (KIND_SOFTWARE_SUBSCRIPTION, "Microsoft Software Subscription"),
    (KIND_PERPETUAL, "Microsoft Perpetual License"),
]


class MsCspSku(models.Model):
    """A Microsoft SKU of an instance's catalogue, keyed ``ProductId:SkuId``."""

    _name = "ms.csp.sku"
    _description = "Microsoft SKU"
    _order = "name, code"

    name = fields.Char(string="Title", required=True)
    code = fields.Char(required=True, index=True, help="ProductId:SkuId, as Partner Center has it.")
    ms_product_ref = fields.Char(
        string="Microsoft product ID", required=True, help="Partner Center's ProductId."
    )
    ms_sku_ref = fields.Char(
        string="Microsoft SKU ID", required=True, help="Partner Center's SkuId, within its product."
    )
    instance_id = fields.Many2one("ms.csp.instance", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="instance_id.company_id", store=True, index=True)
    kind = fields.Selection(KIND_SELECTION, required=True, index=True)
    catalog_status = fields.Selection(
        CATALOG_STATUS_SELECTION, required=True, default=CATALOG_STATUS_NEW, index=True
    )
    description = fields.Text()
    publisher = fields.Char()
    country_ids = fields.Many2many(
        "res.country", string="Sold in", help="Configured countries where it can be bought."
    )
    term_value_ids = fields.Many2many(
        "product.attribute.value",
        string="Term values",
        readonly=True,
        domain=[("ms_term_plan", "!=", False)],
        help="The Microsoft Term values it is sold with: one variant each. A perpetual license, "
        "sold once, has none.",
    )
    term_plan_names = fields.Char(string="Terms", compute="_compute_term_plan_names")
    product_tmpl_id = fields.Many2one("product.template", string="Product", index=True)
    price_ids = fields.One2many("ms.csp.price", "sku_id", string="Prices per country")
    last_sync_run_id = fields.Many2one("ms.csp.sync.run", string="Last changed by", readonly=True)

    _sql_constraints = [
        (
            "code_instance_unique",
            "unique(instance_id, code)",
            "A SKU code is unique within an instance.",
        ),
    ]

    @api.depends("term_value_ids", "kind")
    def _compute_term_plan_names(self):
        labels = dict(TERM_PLAN_SELECTION)
        for sku in self:
            sku.term_plan_names = "; ".join(labels[key] for key in sku._ms_term_plans())

    def _ms_term_plans(self):
        """The keys of the term plans it is sold with (``TERM_PLANS``), in their order."""
        self.ensure_one()
        if self.kind == KIND_PERPETUAL:
            return [TERM_PLAN_ONE_TIME]
        plans = set(self.term_value_ids.mapped("ms_term_plan"))
        return [plan for plan in TERM_PLANS if plan in plans]

    @api.depends("name", "code")
    def _compute_display_name(self):
        for sku in self:
            sku.display_name = f"{sku.name} [{sku.code}]" if sku.code else sku.name
