from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    ms_csp_instance_count = fields.Integer(
        string="Partner Center instances", compute="_compute_ms_csp_instance_count"
    )

    @api.depends("company_id")
    def _compute_ms_csp_instance_count(self):
        count = self.env["ms.csp.instance"].search_count([])
        for settings in self:
            settings.ms_csp_instance_count = count

    def action_ms_csp_open_instances(self):
        return self.env["ir.actions.act_window"]._for_xml_id("ms_csp_base.action_ms_csp_instance")
