from odoo import fields, models


class MsPerpetualAssetRetry(models.TransientModel):
    """The confirmation before a failed perpetual license is provisioned again.

    Continue: the provisioning is resumed; the engine first searches Partner Center for an order
    already placed for it and links that one, and only orders when none exists. Cancel: nothing
    changes, in Odoo or in Partner Center.
    """

    _name = "ms.perpetual.asset.retry"
    _description = "Retry a perpetual license provisioning"

    asset_ids = fields.Many2many("ms.perpetual.asset", string="Perpetual licenses", readonly=True)

    def action_continue(self):
        self.ensure_one()
        assets = self.asset_ids.filtered(lambda asset: asset.sync_status == "failed")
        assets._ms_check_manager(self.env._("retry a perpetual license"))
        provisionings = assets.provisioning_id.filtered(lambda record: record.state == "failed")
        if not provisionings:  # already resumed elsewhere: nothing to do
            return {"type": "ir.actions.act_window_close"}
        action = provisionings.action_retry()
        resumed = (
            self.env["ms.perpetual.asset"]
            .sudo()
            .search([("provisioning_id", "in", provisionings.ids), ("sync_status", "=", "failed")])
        )
        resumed.write(
            {"sync_status": "pending", "last_error_code": False, "last_error_message": False}
        )
        for asset in resumed:
            asset.message_post(
                body=self.env._(
                    "Provisioning retried by %s: an order already placed in Partner Center is "
                    "linked first; otherwise a new order is placed.",
                    self.env.user.name,
                )
            )
        return action

    def action_cancel(self):
        """Nothing changes, here or in Partner Center."""
        return {"type": "ir.actions.act_window_close"}
