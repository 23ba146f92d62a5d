from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from odoo.addons.ms_catalogue_sync.const import KIND_SOFTWARE_SUBSCRIPTION

# What Partner Center cannot change on a software subscription once ordered
LOCKED_FIELDS = ("product_id", "product_uom_qty")


class SaleSubscriptionLine(models.Model):
    _inherit = "sale.subscription.line"

    product_uom_id = fields.Many2one(
        "uom.uom",
        string="Unit",
        compute="_compute_product_uom_id",
        store=True,
        readonly=False,
        help="The unit of the invoice lines: Microsoft software subscriptions are billed per "
        "Annual or Triennial term.",
    )

    @api.depends("product_id")
    def _compute_product_uom_id(self):
        for line in self:
            line.product_uom_id = line.product_id.ms_billing_uom_id or line.product_id.uom_id

    @api.depends(
        "product_id", "sale_subscription_id.partner_id", "sale_subscription_id.pricelist_id"
    )
    def _compute_price_unit(self):
        """Microsoft lines keep the end customer's price they were sold at: the pricelist holds
        the catalogue's default price only."""
        kept = self.filtered(lambda line: line.sale_subscription_id.ms_is_microsoft)
        return super(SaleSubscriptionLine, self - kept)._compute_price_unit()

    def _prepare_account_move_line(self):
        values = super()._prepare_account_move_line()
        if self.product_uom_id:
            values["product_uom_id"] = self.product_uom_id.id
        return values

    def _prepare_sale_order_line(self):
        values = super()._prepare_sale_order_line()
        if self.product_uom_id:
            values["product_uom"] = self.product_uom_id.id
        return values

    # === REFUSALS === #

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines._ms_check_products()
        return lines

    def write(self, vals):
        if any(field in vals for field in LOCKED_FIELDS):
            self._ms_check_locked_change(vals)
        result = super().write(vals)
        if "product_id" in vals or "sale_subscription_id" in vals:
            self._ms_check_products()
        return result

    def _ms_check_products(self):
        """A Microsoft software subscription holds its plan only: Microsoft offers no add-ons,
        and nothing else on it would be provisioned."""
        for line in self.filtered(lambda line: line.sale_subscription_id.ms_is_microsoft):
            subscription = line.sale_subscription_id
            if line.product_id.service_tracking != KIND_SOFTWARE_SUBSCRIPTION:
                raise UserError(
                    self.env._(
                        "%(product)s cannot be added to the Microsoft software subscription "
                        "%(subscription)s: Microsoft offers no add-ons to software subscriptions "
                        "and "
                        "nothing else on it would be provisioned. Sell it on its own order or "
                        "subscription.",
                        product=line.product_id.display_name or "-",
                        subscription=subscription.display_name,
                    )
                )
            if (
                line.product_id != subscription.ms_product_id
                or len(subscription.sale_subscription_line_ids) > 1
            ):
                raise UserError(
                    self.env._(
                        "The Microsoft software subscription %s holds exactly one plan, the one "
                        "ordered: sell another plan on a new quotation.",
                        subscription.display_name,
                    )
                )

    def _ms_check_locked_change(self, vals):
        digits = self.env["decimal.precision"].precision_get("Product Unit of Measure")
        for line in self.filtered(lambda line: line.sale_subscription_id.ms_is_microsoft):
            new_product = "product_id" in vals and vals["product_id"] != line.product_id.id
            new_quantity = (
                "product_uom_qty" in vals
                and float_compare(
                    vals["product_uom_qty"], line.product_uom_qty, precision_digits=digits
                )
                != 0
            )
            if new_product or new_quantity:
                raise UserError(
                    self.env._(
                        "%s is a Microsoft software subscription: Microsoft supports no upgrade, "
                        "downgrade or quantity change of software subscriptions. Sell another "
                        "subscription on a new quotation instead.",
                        line.sale_subscription_id.display_name,
                    )
                )
