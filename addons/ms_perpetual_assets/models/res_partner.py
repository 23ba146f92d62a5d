from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    ms_perpetual_asset_count = fields.Integer(
        string="Perpetual licenses",
        compute="_compute_ms_perpetual_asset_count",
        groups="ms_csp_base.group_ms_csp_user",
    )

    def _compute_ms_perpetual_asset_count(self):
        counts = dict(
            self.env["ms.perpetual.asset"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.ms_perpetual_asset_count = counts.get(partner.commercial_partner_id, 0)

    def action_ms_open_perpetual_assets(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ms_perpetual_assets.action_ms_perpetual_asset"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_ms_reconcile_perpetual_licences(self):
        """Read this company's Partner Center orders now and open the reconciliation report."""
        self.ensure_one()
        report = self.env["ms.perpetual.reconciliation"]._ms_run_for_partner(self)
        return self.env["ms.perpetual.reconciliation.line"]._ms_open_action(report)
