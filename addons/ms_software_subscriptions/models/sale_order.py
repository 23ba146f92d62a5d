from odoo import fields, models


class SaleOrder(models.Model):
    """Confirmation creates one subscription per Microsoft software-subscription line and hands
    the lines to the provisioning engine (no Partner Center call here).

    One subscription per line, not one per subscription template as ``subscription_oca`` groups
    them: each line is one Partner Center subscription, with its own Software ID, expiration date,
    auto-renew and status.
    """

    _inherit = "sale.order"

    def _action_confirm(self):
        result = super()._action_confirm()
        # The orders subscription_oca makes to invoice a period of a subscription
        # ("Sale order & Invoice" mode) order nothing: Partner Center renews by itself.
        orders = self.filtered(lambda order: not order.order_subscription_id)
        lines = orders.order_line._ms_software_subscription_lines()
        if lines:
            subscriptions = orders._ms_create_software_subscriptions(lines)
            provisionings = orders._ms_create_provisionings(lines)
            subscriptions._ms_link_provisioning_lines(provisionings.line_ids)
        return result

    def group_subscription_lines(self):
        """Leave Microsoft lines out of ``subscription_oca``'s grouping: they get a subscription
        each (``_ms_create_software_subscriptions``)."""
        grouped = super().group_subscription_lines()
        microsoft = self.order_line._ms_software_subscription_lines()
        result = {}
        for template, lines in grouped.items():
            kept = [line for line in lines if line not in microsoft]
            if kept:
                result[template] = kept
        return result

    def _ms_create_software_subscriptions(self, lines):
        """Create and start the subscriptions of ``lines``, as superuser (the confirming user may
        be a salesperson or a portal customer).

        :return: the subscriptions (sudo)
        """
        done = (
            self.env["sale.subscription"]
            .sudo()
            .search([("ms_sale_line_id", "in", lines.ids)])
            .ms_sale_line_id
        )
        subscriptions = (
            self.env["sale.subscription"]
            .sudo()
            .create([line._ms_subscription_values() for line in lines - done])
        )
        for subscription in subscriptions:
            # as subscription_oca does: the order invoices the first period, the subscription
            # the next ones
            subscription.action_start_subscription()
            template = subscription.template_id
            subscription.recurring_next_date = fields.Date.add(
                subscription.date_start,
                **{template.recurring_rule_type: template.recurring_interval},
            )
        return subscriptions

    def _ms_subscription_order_values(self):
        """Values of a Microsoft subscription that come from the order."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        return {
            "ms_is_microsoft": True,
            "partner_id": self.partner_id.id,
            "ms_end_customer_id": self.ms_end_customer_id.commercial_partner_id.id,
            "company_id": self.company_id.id,
            "user_id": self.user_id.id or self.env.uid,
            "pricelist_id": self.pricelist_id.id,
            "fiscal_position_id": self.fiscal_position_id.id,
            "sale_order_id": self.id,
            "date_start": today,
            "ms_purchase_date": today,
            "ms_status": "active",
        }
