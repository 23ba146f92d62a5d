from odoo import models

from ..const import KIND_PERPETUAL, TERM_PLAN_ONE_TIME


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def _action_confirm(self):
        """Confirmed perpetual license lines become assets and are handed to the engine.

        The end customer, its price and the checks before confirmation are the shared ones of
        ``ms_catalogue_sync``; nothing here calls Partner Center (the engine's cron does).
        """
        result = super()._action_confirm()
        lines = self.order_line._ms_perpetual_lines()
        if lines:
            known = (
                self.env["ms.perpetual.asset"]
                .sudo()
                .search([("sale_line_id", "in", lines.ids)])
                .sale_line_id
            )
            lines -= known
        if lines:
            provisionings = self._ms_create_provisionings(lines)
            self.env["ms.perpetual.asset"]._ms_create_for_lines(lines, provisionings)
        return result


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    def _ms_perpetual_lines(self):
        return self.filtered(
            lambda line: not line.display_type
            and line.product_id.service_tracking == KIND_PERPETUAL
            and line.product_id.ms_term_plan == TERM_PLAN_ONE_TIME
        )
