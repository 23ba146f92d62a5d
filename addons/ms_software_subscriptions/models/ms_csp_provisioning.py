from odoo import models


class MsCspProvisioning(models.Model):
    """What the engine's answers change on Microsoft software subscriptions.

    The hooks act only on the subscriptions made from this record's lines (a provisioning of
    another addon, or of no subscription, finds none). They run in the engine's step
    transaction and never call Partner Center: the Software ID and expiration date are read
    afterwards by this addon's cron (``sale_subscription_refresh.py``).
    """

    _inherit = "ms.csp.provisioning"

    def _ms_software_subscriptions(self):
        sale_line_ids = [
            line.res_id
            for line in self.line_ids
            if line.res_model == "sale.order.line" and line.res_id
        ]
        if not sale_line_ids:
            return self.env["sale.subscription"].sudo()
        return (
            self.env["sale.subscription"]
            .sudo()
            .search([("ms_is_microsoft", "=", True), ("ms_sale_line_id", "in", sale_line_ids)])
        )

    def _ms_on_ordered(self):
        result = super()._ms_on_ordered()
        for provisioning in self:
            subscriptions = provisioning._ms_software_subscriptions()
            if not subscriptions:
                continue
            last_step = (
                self.env["ms.csp.provisioning.step"]
                .sudo()
                .search([("provisioning_id", "=", provisioning.id)], order="id desc", limit=1)
            )
            found = last_step.step == "search"
            order_id = provisioning.ms_order_id
            linked = subscriptions.filtered(
                lambda subscription, order_id=order_id: subscription.ms_order_id
                and subscription.ms_order_id != order_id
            )
            for subscription in linked:  # never overwrite an order id: tell a person instead
                subscription.message_post(
                    body=self.env._(
                        "Partner Center order %(new)s was placed for this subscription, which is "
                        "linked to order %(old)s: check both in Partner Center.",
                        new=provisioning.ms_order_alias,
                        old=subscription.ms_order_alias or subscription.ms_order_id,
                    )
                )
            subscriptions -= linked
            for subscription in subscriptions:
                line = subscription.ms_provisioning_line_id
                values = {
                    "ms_order_id": provisioning.ms_order_id,
                    "ms_order_alias": provisioning.ms_order_alias,
                }
                if line.ms_subscription_id:
                    values["ms_subscription_id"] = line.ms_subscription_id
                subscription.write(values)
            subscriptions.message_post(
                body=(
                    self.env._(
                        "Partner Center already had order %s of this subscription (placed "
                        "before a lost answer or a retry): it is linked, not placed again.",
                        provisioning.ms_order_alias,
                    )
                    if found
                    else self.env._("Partner Center placed order %s.", provisioning.ms_order_alias)
                )
            )
        return result

    def _ms_on_fulfilled(self):
        result = super()._ms_on_fulfilled()
        for provisioning in self:
            for subscription in provisioning._ms_software_subscriptions():
                line = subscription.ms_provisioning_line_id
                if line.ms_subscription_id:
                    subscription.ms_subscription_id = line.ms_subscription_id
                subscription.ms_refresh_attempts = 0
                subscription._ms_schedule_refresh()
        return result

    def _ms_on_failed(self):
        result = super()._ms_on_failed()
        for provisioning in self:
            subscriptions = provisioning._ms_software_subscriptions()
            if subscriptions:
                subscriptions.message_post(
                    body=self.env._(
                        "Provisioning failed: %s", provisioning.last_error_message or "-"
                    )
                )
                subscriptions._ms_send_provisioning_failure_alerts()
        return result
