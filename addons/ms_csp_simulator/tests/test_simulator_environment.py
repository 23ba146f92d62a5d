from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged

from partner_center.simulator import Simulator, SimulatorSettings


@tagged("post_install", "-at_install")
class TestSimulatorEnvironment(TransactionCase):
    """The simulator environment reaches the simulator; only administrators can aim it."""

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        if isinstance(kw.get("timeout"), tuple):  # see ms_csp_base.tests.common
            kw["timeout"] = max(value for value in kw["timeout"] if value is not None)
        return super()._request_handler(s, r, **kw)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = Simulator(SimulatorSettings(sku_count=10)).start()
        cls.addClassCleanup(cls.simulator.stop)
        cls.instance = cls.env["ms.csp.instance"].create({
            "name": "Simulated",
            "environment": "simulator",
            "simulator_url": cls.simulator.base_url,
            "simulator_ca_file": cls.simulator.ca_file,
            "partner_tenant_id": cls.simulator.partner_tenant_id,
            "client_id": cls.simulator.client_id,
            "client_secret": cls.simulator.client_secret,
            "refresh_token": cls.simulator.initial_refresh_token,
            "country_ids": [Command.set(cls.env.ref("base.us").ids)],
        })
        cls.manager = cls.env["res.users"].create({
            "name": "CSP manager", "login": "sim.csp.manager",
            "groups_id": [Command.set([cls.env.ref("ms_csp_base.group_ms_csp_manager").id])],
        })

    def test_test_connection_reaches_the_simulator(self):
        self.instance.with_user(self.manager).action_test_connection()
        self.assertEqual(self.instance.connection_state, "connected")
        self.assertIn("United States", self.instance.connection_message)

    def test_manager_cannot_aim_the_instance_elsewhere(self):
        for values in ({"simulator_url": "https://127.0.0.1:9"},
                       {"simulator_ca_file": "/var/lib/other.pem"},
                       {"environment": "microsoft"}):
            with self.subTest(values=values), self.assertRaises(AccessError):
                self.instance.with_user(self.manager).write(values)
        self.assertEqual(self.instance.simulator_url, self.simulator.base_url)

    def test_demo_instance_is_wired_to_the_simulator(self):
        module = self.env["ir.module.module"].search([("name", "=", "ms_csp_simulator")])
        demo = self.env.ref("ms_csp_simulator.demo_instance", raise_if_not_found=False)
        self.assertEqual(bool(demo), module.demo)
        if not demo:
            return
        self.assertEqual(demo.environment, "simulator")
        self.assertTrue(demo.simulator_url.startswith("https://127.0.0.1:"))
