from odoo import api, fields, models

from ..const import KIND_PERPETUAL, TERM_PLAN_ONE_TIME, TERM_PLANS
from .ms_csp_sku import TERM_PLAN_SELECTION
from .sync_memo import sync_is_writing


class ProductProduct(models.Model):
    _inherit = "product.product"

    ms_term_plan = fields.Selection(
        TERM_PLAN_SELECTION,
        string="Microsoft term",
        compute="_compute_ms_term_plan",
        store=True,
        help="Term and billing plan of this variant of a Microsoft product.",
    )
    ms_billing_uom_id = fields.Many2one(
        "uom.uom",
        string="Billing unit",
        compute="_compute_ms_term_plan",
        store=True,
        help="The unit of this variant's sale and invoice lines (Annual, Triennial, Units).",
    )

    @api.depends(
        "product_tmpl_id.service_tracking",
        "product_tmpl_id.ms_sku_id",
        "product_template_attribute_value_ids",
    )
    def _compute_ms_term_plan(self):
        units = self.env.ref("uom.product_uom_unit")
        # not found while the module installs: no variant has a term plan yet then
        billing_units = {
            plan: self.env.ref(f"ms_catalogue_sync.{uom}", raise_if_not_found=False)
            for plan, (_term, _billing, _value, uom) in TERM_PLANS.items()
            if uom
        }
        for product in self:
            if product.service_tracking == KIND_PERPETUAL:
                product.ms_term_plan, product.ms_billing_uom_id = TERM_PLAN_ONE_TIME, units
                continue
            values = product.product_template_attribute_value_ids.product_attribute_value_id
            plans = values.filtered("ms_term_plan").mapped("ms_term_plan")
            plan = plans[0] if plans and product.ms_sku_id else False
            product.ms_term_plan = plan
            product.ms_billing_uom_id = billing_units.get(plan) or False

    def _prepare_create_values(self, vals_list):
        """While a catalog sync writes, new variants do not give their template its own values.

        Odoo precomputes the variant fields that are its template's (``_inherits``), such as the
        properties, then writes each back to the template, one write per variant: a first sync
        would rewrite every new product once per term. The value is read from the template, so
        the write changes nothing; the sync's variants leave it out. Values the caller gives
        are kept.
        """
        result = super()._prepare_create_values(vals_list)
        if sync_is_writing(self.env):
            inherited = [name for name, field in self._fields.items() if field.inherited]
            for given, values in zip(vals_list, result, strict=True):
                if given.get("product_tmpl_id"):
                    for name in inherited:
                        if name not in given:
                            values.pop(name, None)
        return result

    def _ms_end_customer_price(self, partner, currency=None, on_date=None):
        """The price of this Microsoft variant for ``partner``'s billing country and currency.

        :param currency: the currency of the order (default: the partner's pricelist currency)
        :return: ``(price, cost, None)``, or ``(None, None, reason)`` saying why there is none
        """
        self.ensure_one()
        return self.env["ms.csp.price"]._ms_price_for(self, partner, currency, on_date)
