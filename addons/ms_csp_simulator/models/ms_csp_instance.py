from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import config

from partner_center import ClientConfig


class MsCspInstance(models.Model):
    """The "Partner Center simulator" environment, kept apart from real Partner Center.

    Like Odoo's ``payment_demo``, this addon exists for demos and development: production never
    installs it. Its settings decide where requests (and so the credentials) go: only Settings
    administrators can read or write them.
    """

    _inherit = "ms.csp.instance"

    environment = fields.Selection(
        selection_add=[("simulator", "Partner Center simulator")],
        ondelete={"simulator": "set default"},
    )
    simulator_url = fields.Char(
        string="Simulator URL", groups="base.group_system",
        help="Root URL of the Partner Center simulator, e.g. https://127.0.0.1:8770.",
    )
    simulator_ca_file = fields.Char(
        string="Simulator certificate", groups="base.group_system",
        help="Path of the simulator's self-signed certificate on the Odoo server.",
    )

    @api.constrains("environment", "simulator_url")
    def _check_simulator_url(self):
        for instance in self.sudo():
            if instance.environment == "simulator" and not instance.simulator_url:
                raise ValidationError(self.env._("Give the simulator's URL for %s.", instance.name))

    def _ms_client_config(self):
        instance = self.sudo()
        if instance.environment != "simulator":
            return super()._ms_client_config()
        return ClientConfig.for_simulator(
            instance.simulator_url.rstrip("/"), instance.simulator_ca_file or None,
            **self._ms_client_settings())

    @api.model
    def _ms_wire_demo_to_simulator(self):
        """Point the demo instance at the simulator ``make run`` started (odoo.conf options)."""
        url = config.get("ms_csp_simulator_url")
        instance = self.env.ref("ms_csp_simulator.demo_instance", raise_if_not_found=False)
        if not (url and instance):
            return
        instance.sudo().write({
            "environment": "simulator", "simulator_url": url,
            "simulator_ca_file": config.get("ms_csp_simulator_ca_file") or False,
        })
