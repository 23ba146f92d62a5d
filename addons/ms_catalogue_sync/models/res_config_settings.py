from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    ms_csp_instance_count = fields.Integer(
        string="Partner Center instances", compute="_compute_ms_csp_instance_count")
    ms_csp_sync_interval_number = fields.Integer(
        string="Sync every", config_parameter="ms_catalogue_sync.sync_interval_number", default=1)
    ms_csp_sync_interval_type = fields.Selection(
        [("days", "Days"), ("weeks", "Weeks"), ("months", "Months")],
        string="Sync interval unit", config_parameter="ms_catalogue_sync.sync_interval_type",
        default="months")

    @api.depends("company_id")
    def _compute_ms_csp_instance_count(self):
        count = self.env["ms.csp.instance"].search_count([])
        for settings in self:
            settings.ms_csp_instance_count = count

    def set_values(self):
        result = super().set_values()
        cron = self.env.ref("ms_catalogue_sync.cron_get_services_definition",
                            raise_if_not_found=False)
        if cron and self.ms_csp_sync_interval_number > 0:
            values = {"interval_number": self.ms_csp_sync_interval_number,
                      "interval_type": self.ms_csp_sync_interval_type or "months"}
            if any(cron[name] != value for name, value in values.items()):
                cron.sudo().write(values)
        return result

    def action_ms_csp_open_instances(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "ms_catalogue_sync.action_ms_csp_instance")
