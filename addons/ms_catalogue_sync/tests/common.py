"""Fixtures of the catalogue tests: a real Partner Center simulator over HTTPS on 127.0.0.1."""

from odoo import Command
from odoo.tests import TransactionCase

from partner_center.simulator import Simulator, SimulatorSettings

COUNTRIES = ("US", "GB", "DE", "FR", "GR")


class MsCspSimulatorCase(TransactionCase):
    """An instance wired to a fresh simulator (small catalogue, no delays)."""

    sku_count = 40

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Odoo's test guard compares the timeout with a number; the client passes
        # (connect, read) pairs, which requests accepts. Keep the longer one for the guard.
        if isinstance(kw.get("timeout"), tuple):
            kw["timeout"] = max(value for value in kw["timeout"] if value is not None)
        return super()._request_handler(s, r, **kw)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = Simulator(SimulatorSettings(
            seed=7, sku_count=cls.sku_count, order_complete_delay=0, fulfilment_delay=0))
        cls.simulator.start()
        cls.addClassCleanup(cls.simulator.stop)
        cls.env.ref("base.EUR").active = True
        cls.env.ref("base.ILS").active = True
        cls.usd, cls.eur, cls.ils = (cls.env.ref(f"base.{name}") for name in ("USD", "EUR", "ILS"))
        cls.countries = cls.env["res.country"].search([("code", "in", COUNTRIES)])
        cls.instance = cls.env["ms.csp.instance"].create({
            "name": "Test simulator",
            "environment": "simulator",
            "simulator_url": cls.simulator.base_url,
            "simulator_ca_file": cls.simulator.ca_file,
            "partner_tenant_id": cls.simulator.partner_tenant_id,
            "client_id": cls.simulator.client_id,
            "client_secret": cls.simulator.client_secret,
            "refresh_token": cls.simulator.initial_refresh_token,
            "country_ids": [Command.set(cls.countries.ids)],
            "active_currency_ids": [Command.set((cls.usd | cls.eur | cls.ils).ids)],
            "default_currency_id": cls.usd.id,
        })
        cls.rate = cls.env["ms.csp.conversion.rate"].create({
            "currency_id": cls.ils.id, "base_currency_id": cls.usd.id, "rate": 3.7,
            "date": "2020-01-01",
        })

    def setUp(self):
        super().setUp()
        self.simulator.reset()  # no faults, first month, the initial refresh token valid again
        self.instance.refresh_token = self.simulator.initial_refresh_token

    def sync(self):
        return self.instance._ms_get_services_definition()

    def expected_codes(self, month=None):
        """Codes the simulator sells (purchasable) in at least one of the instance's countries."""
        codes = set()
        for country in COUNTRIES:
            for view in ("SoftwareSubscriptions", "SoftwarePerpetual"):
                codes |= {sku.code for sku in self.simulator.catalogue.skus_for(
                    country, view, month=month, purchasable_only=True)}
        return codes

    def product_of(self, code):
        sku = self.env["ms.csp.sku"].search([
            ("instance_id", "=", self.instance.id), ("code", "=", code)])
        return sku.product_tmpl_id.with_context(active_test=False)
