from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import config

from partner_center import ClientConfig

DEMO_ORIGIN = "Microsoft CSP demo"


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
        string="Simulator URL",
        groups="base.group_system",
        help="Root URL of the Partner Center simulator, e.g. https://127.0.0.1:8770.",
    )
    simulator_ca_file = fields.Char(
        string="Simulator certificate",
        groups="base.group_system",
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
            instance.simulator_url.rstrip("/"),
            instance.simulator_ca_file or None,
            **self._ms_client_settings(),
        )

    @api.model
    def _ms_wire_demo_to_simulator(self):
        """Point the demo instance at the simulator ``make run`` started (odoo.conf options)."""
        url = config.get("ms_csp_simulator_url")
        instance = self.env.ref("ms_csp_simulator.demo_instance", raise_if_not_found=False)
        if not (url and instance):
            return
        instance.sudo().write(
            {
                "environment": "simulator",
                "simulator_url": url,
                "simulator_ca_file": config.get("ms_csp_simulator_ca_file") or False,
            }
        )

    @api.model
    def _ms_prepare_demo(self):
        """What ``make run`` does once the server's database is ready: wire the demo instance to
        the simulator, sync its catalogue the first time, and leave a quotation to confirm.

        :return: lines to print for the person who started ``make run``
        """
        self._ms_wire_demo_to_simulator()
        demo = self.env.ref("ms_csp_simulator.demo_instance", raise_if_not_found=False)
        if not demo:
            return []
        said = []
        if demo.last_sync_state in ("never", "failed"):
            run = demo._ms_get_services_definition()
            last = (run.log or "").strip().splitlines()[-1:]
            said.append(f"Demo catalogue sync: {run.state}. {run.error_message or ''.join(last)}")
        quotation = self._ms_demo_quotation(demo)
        if quotation:
            said.append(
                f"Demo quotation {quotation.name} for {quotation.partner_id.name}: "
                "confirm it (Sales) and watch Microsoft CSP > Provisioning."
            )
        return said

    @api.model
    def _ms_demo_quotation(self, demo):
        """A draft quotation for Contoso of a software subscription and a perpetual license."""
        orders = self.env["sale.order"]
        existing = orders.search([("origin", "=", DEMO_ORIGIN), ("state", "=", "draft")], limit=1)
        contoso = self.env.ref("ms_csp_simulator.partner_contoso", raise_if_not_found=False)
        if existing or not contoso:
            return existing
        us = self.env.ref("base.us")
        variants = self.env["product.product"]
        for plan in ("P1Y_annual", "one_time"):
            variants |= variants.search(
                [
                    ("ms_term_plan", "=", plan),
                    ("ms_instance_id", "=", demo.id),
                    ("ms_sku_id.country_ids", "in", us.ids),
                    ("sale_ok", "=", True),
                ],
                limit=1,
            )
        if not variants:
            return orders
        salesperson = self.env.ref("base.user_demo", raise_if_not_found=False)
        return orders.create(
            {
                "partner_id": contoso.id,
                "origin": DEMO_ORIGIN,
                "user_id": salesperson.id if salesperson else self.env.uid,
                "pricelist_id": demo.pricelist_ids.filtered(
                    lambda pricelist: pricelist.currency_id.name == "USD"
                )[:1].id,
                "order_line": [
                    Command.create({"product_id": variant.id, "product_uom_qty": 5})
                    for variant in variants
                ],
            }
        )
