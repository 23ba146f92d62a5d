from odoo import Command, api, models
from odoo.exceptions import UserError

from odoo.addons.ms_catalogue_sync.const import KIND_SOFTWARE_SUBSCRIPTION


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    def _ms_software_subscription_lines(self):
        return self._ms_microsoft_lines().filtered(
            lambda line: line.product_id.service_tracking == KIND_SOFTWARE_SUBSCRIPTION
        )

    def _ms_subscription_values(self):
        """The subscription of this line: the order's values, the term's template, one line in
        the unit Microsoft bills (Annual, Triennial) at the order's (end-customer) price."""
        self.ensure_one()
        product = self.product_id
        line_values = self.get_subscription_line_values()
        line_values.update(
            product_uom_id=self.product_uom.id, tax_ids=[Command.set(self.tax_id.ids)]
        )
        return {
            **self.order_id._ms_subscription_order_values(),
            "name": product.with_context(display_default_code=False).display_name,
            "template_id": product.ms_subscription_template_id.id,
            "ms_sale_line_id": self.id,
            "ms_instance_id": product.ms_instance_id.id,
            "sale_subscription_line_ids": [Command.create(line_values)],
        }

    # === REFUSALS === #

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        added = lines._ms_software_subscription_lines().filtered(
            lambda line: line.order_id.state == "sale"
        )
        if added:
            raise UserError(
                self.env._(
                    "%(product)s cannot be added to the confirmed order %(order)s: Microsoft "
                    "software subscriptions are ordered when an order is confirmed. Put it on a "
                    "new quotation.",
                    product=added[0].product_id.display_name,
                    order=added[0].order_id.name,
                )
            )
        return lines

    def _ms_locked_change_message(self, provisioning):
        """A confirmed software subscription says why in Microsoft's terms."""
        if not self._ms_software_subscription_lines() or self.order_id.state != "sale":
            return super()._ms_locked_change_message(provisioning)
        return self.env._(
            "%(product)s on %(order)s is a confirmed Microsoft software subscription: "
            "Microsoft supports no upgrade, downgrade or quantity change of software "
            "subscriptions. Sell another subscription on a new quotation instead.",
            product=self.product_id.display_name,
            order=self.order_id.name,
        )
