"""Fixtures of the suite's tests: a real Partner Center simulator over HTTPS on 127.0.0.1.

Instances reach it through the one method that decides where requests go,
``ms.csp.instance._ms_client_config``, patched here as Odoo's payment tests patch their
provider's request method. Nothing a caller puts in the context changes where a request goes.
"""

from unittest.mock import patch

from odoo import Command
from odoo.tests import TransactionCase

from partner_center import ClientConfig
from partner_center.simulator import Simulator, SimulatorSettings

COUNTRIES = ("US", "GB", "DE", "FR", "GR")


class MsCspSimulatorCase(TransactionCase):
    """An instance wired to a fresh simulator (small catalogue, no delays).

    ``client_settings`` are extra :class:`ClientConfig` settings for every client (short
    deadlines for fault tests); ``endpoints`` maps an instance id to another simulator root.
    """

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
        cls.simulator = Simulator(
            SimulatorSettings(
                seed=7, sku_count=cls.sku_count, order_complete_delay=0, fulfilment_delay=0
            )
        )
        cls.simulator.start()
        cls.addClassCleanup(cls.simulator.stop)
        cls.client_settings = {}
        cls.endpoints = {}
        instance_class = type(cls.env["ms.csp.instance"])
        cls.startClassPatcher(
            patch.object(
                instance_class,
                "_ms_client_config",
                autospec=True,
                side_effect=cls._simulator_config,
            )
        )
        cls.countries = cls.env["res.country"].search([("code", "in", COUNTRIES)])
        cls.instance = cls.env["ms.csp.instance"].create(cls._instance_values())

    @classmethod
    def _simulator_config(cls, instance):
        root = cls.endpoints.get(instance.id, cls.simulator.base_url)
        return ClientConfig.for_simulator(
            root, cls.simulator.ca_file, **instance._ms_client_settings(), **cls.client_settings
        )

    @classmethod
    def _instance_values(cls):
        return {
            "name": "Test simulator",
            "partner_tenant_id": cls.simulator.partner_tenant_id,
            "client_id": cls.simulator.client_id,
            "client_secret": cls.simulator.client_secret,
            "refresh_token": cls.simulator.initial_refresh_token,
            "country_ids": [Command.set(cls.countries.ids)],
        }

    def setUp(self):
        super().setUp()
        self.simulator.reset()  # no faults, first month, the initial refresh token valid again
        self.instance.refresh_token = self.simulator.initial_refresh_token
        self.client_settings.clear()

    def make_user(self, login, *group_xmlids):
        """An internal user with exactly these groups (and what they imply)."""
        return self.env["res.users"].create(
            {
                "name": login,
                "login": login,
                "email": f"{login}@example.com",
                "groups_id": [Command.set([self.env.ref(xmlid).id for xmlid in group_xmlids])],
            }
        )
