from odoo import fields, models


class MsCspProvisioning(models.Model):
    """What the engine's answers mean for perpetual license assets.

    The hooks run inside the engine's step transaction, as the cron user, and touch only the
    assets of this record's lines: another addon overrides the same hooks for its own records.
    No Partner Center call here: the Perpetual ID is read by the asset's own cron.
    """

    _inherit = "ms.csp.provisioning"

    def _ms_perpetual_assets(self):
        return (
            self.env["ms.perpetual.asset"]
            .sudo()
            .search([("provisioning_line_id", "in", self.line_ids.ids)])
        )

    def _ms_on_ordered(self):
        result = super()._ms_on_ordered()
        now = fields.Datetime.now()
        for provisioning in self:
            assets = provisioning._ms_perpetual_assets()
            order_id = provisioning.ms_order_id
            linked = assets.filtered(
                lambda asset, order_id=order_id: asset.ms_order_id and asset.ms_order_id != order_id
            )
            for asset in linked:  # never overwrite an order id: tell a person instead
                asset.message_post(
                    body=self.env._(
                        "Partner Center order %(new)s was placed for this license, which is linked "
                        "to order %(old)s: check both in Partner Center and cancel the one not "
                        "wanted.",
                        new=provisioning.ms_order_alias,
                        old=asset.ms_order_alias or asset.ms_order_id,
                    )
                )
            assets -= linked
            for asset in assets:
                asset.write(
                    {
                        "sync_status": "synchronized",
                        "ms_order_id": provisioning.ms_order_id,
                        "ms_order_alias": provisioning.ms_order_alias,
                        "ms_line_item_number": asset.provisioning_line_id.line_item_number,
                        "customer_tenant_id": provisioning.customer_tenant_id,
                        "last_error_code": False,
                        "last_error_message": False,
                        "perpetual_id_next_check": now,
                        "perpetual_id_check_count": 0,
                    }
                )
            if assets:
                assets._ms_trigger_refresh()
        return result

    def _ms_retry_refusals(self):
        refusals = super()._ms_retry_refusals()
        linked = self._ms_perpetual_assets().filtered("ms_order_id")
        if linked and self.state == "failed":
            refusals.append(
                self.env._(
                    "%(provisioning)s: %(assets)s are already linked to a Microsoft order (by "
                    "reconciliation): retrying would order them again.",
                    provisioning=self.name,
                    assets=", ".join(linked.mapped("name")),
                )
            )
        return refusals

    def _ms_on_fulfilled(self):
        """Fulfilled lines have their entitlement: check for the Perpetual ID at once."""
        result = super()._ms_on_fulfilled()
        assets = self._ms_perpetual_assets().filtered(lambda asset: not asset.perpetual_id)
        if assets:
            assets.write({"perpetual_id_next_check": fields.Datetime.now()})
            assets._ms_trigger_refresh()
        return result

    def _ms_on_failed(self):
        """Assets not ordered yet fail with Partner Center's error. An asset whose order is
        already placed stays synchronized (a retry only follows that order again): the error is
        noted in its chatter."""
        result = super()._ms_on_failed()
        for provisioning in self:
            assets = provisioning._ms_perpetual_assets()
            assets.filtered(lambda asset: not asset.ms_order_id).write(
                {
                    "sync_status": "failed",
                    "last_error_code": provisioning.last_error_code,
                    "last_error_message": provisioning.last_error_message,
                }
            )
            for asset in assets.filtered("ms_order_id"):
                asset.message_post(
                    body=self.env._(
                        "Following order %(order)s in Partner Center failed: %(error)s",
                        order=asset.ms_order_alias,
                        error=provisioning.last_error_message,
                    )
                )
        return result
