from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    ms_csp_sync_interval_number = fields.Integer(
        string="Sync every", config_parameter="ms_catalogue_sync.sync_interval_number", default=1
    )
    ms_csp_sync_interval_type = fields.Selection(
        [("days", "Days"), ("weeks", "Weeks"), ("months", "Months")],
        string="Sync interval unit",
        config_parameter="ms_catalogue_sync.sync_interval_type",
        default="months",
    )

    def set_values(self):
        result = super().set_values()
        cron = self.env.ref(
            "ms_catalogue_sync.cron_get_services_definition", raise_if_not_found=False
        )
        if cron and self.ms_csp_sync_interval_number > 0:
            values = {
                "interval_number": self.ms_csp_sync_interval_number,
                "interval_type": self.ms_csp_sync_interval_type or "months",
            }
            if any(cron[name] != value for name, value in values.items()):
                cron.sudo().write(values)
        return result
