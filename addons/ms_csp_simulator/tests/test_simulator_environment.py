from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import JsonRpcException, TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.ms_catalogue_sync.tests.common import MsCspCatalogueCase
from odoo.addons.ms_csp_base.tests.capture import CaptureRpcCase

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
        cls.instance = cls.env["ms.csp.instance"].create(
            {
                "name": "Simulated",
                "environment": "simulator",
                "simulator_url": cls.simulator.base_url,
                "simulator_ca_file": cls.simulator.ca_file,
                "partner_tenant_id": cls.simulator.partner_tenant_id,
                "client_id": cls.simulator.client_id,
                "client_secret": cls.simulator.client_secret,
                "refresh_token": cls.simulator.initial_refresh_token,
                "country_ids": [Command.set(cls.env.ref("base.us").ids)],
            }
        )
        cls.manager = cls.env["res.users"].create(
            {
                "name": "CSP manager",
                "login": "sim.csp.manager",
                "groups_id": [Command.set([cls.env.ref("ms_csp_base.group_ms_csp_manager").id])],
            }
        )

    def test_test_connection_reaches_the_simulator(self):
        self.instance.with_user(self.manager).action_test_connection()
        self.assertEqual(self.instance.connection_state, "connected")
        self.assertIn("United States", self.instance.connection_message)

    def test_manager_cannot_aim_the_instance_elsewhere(self):
        for values in (
            {"simulator_url": "https://127.0.0.1:9"},
            {"simulator_ca_file": "/var/lib/other.pem"},
            {"environment": "microsoft"},
        ):
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
        links = self.env["ms.csp.customer"].search([("instance_id", "=", demo.id)])
        self.assertEqual(
            sorted(links.mapped("tenant_id")),
            [f"0c5a000{n}-5e1c-4a11-9000-00000000c00{n}" for n in range(1, 7)],
        )
        contoso = self.env.ref("ms_csp_simulator.partner_contoso")
        self.assertEqual(
            self.env["ms.csp.customer"]._ms_tenant_for(contoso, demo).domain,
            "contoso-sim.onmicrosoft.com",
        )


@tagged("post_install", "-at_install")
class TestEndpointFieldsOverRpc(CaptureRpcCase):
    """A Microsoft CSP manager who is not an administrator cannot aim an instance anywhere."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.instance = cls.env["ms.csp.instance"].create(
            {
                "name": "Simulated",
                "environment": "simulator",
                "simulator_url": "https://127.0.0.1:8770",
                "partner_tenant_id": "5e1c0a7e-0000-4c5a-9e00-00000000c5b0",
                "client_secret": "the-client-secret",
                "refresh_token": "the-refresh-token",
                "country_ids": [Command.set(cls.env.ref("base.us").ids)],
            }
        )
        cls.manager = cls._user("rpc.csp.manager", "ms_csp_base.group_ms_csp_manager")

    @mute_logger("odoo.http")  # the access error it provokes is expected
    def test_manager_writing_endpoint_fields_over_rpc_is_refused_and_nothing_is_sent(self):
        for values in (
            {"simulator_url": self.capture.url},
            {"simulator_ca_file": "/etc/ssl/certs/ca-certificates.crt"},
            {"environment": "simulator", "simulator_url": self.capture.url},
        ):
            with self.subTest(values=values), self.assertRaises(JsonRpcException) as refused:
                self._rpc(self.manager, "write", [[self.instance.id], values])
            self.assertEqual(refused.exception.args[0], "odoo.exceptions.AccessError")
        self.assertEqual(self.instance.simulator_url, "https://127.0.0.1:8770")
        self.assertEqual(self.capture.connections, 0)


@tagged("post_install", "-at_install")
class TestDemoQuotation(MsCspCatalogueCase):
    """``make run`` leaves a quotation for a demo customer, ready to confirm."""

    def test_demo_quotation_sells_a_subscription_and_a_licence_to_contoso(self):
        self.sync()
        module = self.env["ir.module.module"].search([("name", "=", "ms_csp_simulator")])
        quotation = self.env["ms.csp.instance"]._ms_demo_quotation(self.instance)
        if not module.demo:  # no demo customers without demo data
            self.assertFalse(quotation)
            return
        self.assertEqual(quotation.partner_id, self.env.ref("ms_csp_simulator.partner_contoso"))
        self.assertEqual(
            sorted(quotation.order_line.product_id.mapped("ms_term_plan")),
            ["P1Y_annual", "one_time"],
        )
        self.assertFalse(any(quotation.order_line.mapped("ms_price_error")))
        self.assertEqual(
            self.env["ms.csp.instance"]._ms_demo_quotation(self.instance), quotation, "made once"
        )
        self.assertEqual(
            self.env.ref("base.partner_demo_portal").commercial_partner_id,
            quotation.partner_id,
            "the demo portal user works for Contoso",
        )
