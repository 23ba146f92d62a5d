from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import JsonRpcException, tagged
from odoo.tools import mute_logger

from partner_center import PartnerCenterClient
from partner_center.config import DEFAULT_API_BASE_URL, DEFAULT_LOGIN_HOST

from .capture import CaptureRpcCase


@tagged("post_install", "-at_install")
class TestCredentialsSecurity(CaptureRpcCase):
    """Nobody but the code and Settings administrators decides where the credentials go."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.instance = cls.env["ms.csp.instance"].create(
            {
                "name": "Production",
                "partner_tenant_id": "0c5a0000-5e1c-4a11-9000-000000000001",
                "client_id": "client-id",
                "client_secret": "the-client-secret",
                "refresh_token": "the-refresh-token",
                "country_ids": [Command.set(cls.env.ref("base.us").ids)],
            }
        )
        cls.salesman = cls._user("plain.seller", "sales_team.group_sale_salesman")
        cls.manager = cls._user(
            "csp.manager", "ms_csp_base.group_ms_csp_manager", "sales_team.group_sale_salesman"
        )

    @mute_logger("odoo.http")  # the access error it provokes is expected
    def test_salesman_with_crafted_context_gets_access_error_and_nothing_is_sent(self):
        with (
            patch.object(PartnerCenterClient, "products", autospec=True) as products,
            self.assertRaises(JsonRpcException) as refused,
        ):
            self._rpc(
                self.salesman,
                "action_test_connection",
                [[self.instance.id]],
                context=self.capture.crafted_context(),
            )
        self.assertEqual(refused.exception.args[0], "odoo.exceptions.AccessError")
        products.assert_not_called()
        self.assertEqual(self.capture.connections, 0)
        self.assertEqual(self.instance.connection_state, "not_tested")

    def test_manager_context_cannot_move_the_endpoints(self):
        seen = []

        def products(client, *args, **kwargs):
            seen.append((client.config.api_base_url, client.config.authority_url))
            return []

        with patch.object(PartnerCenterClient, "products", autospec=True, side_effect=products):
            self._rpc(
                self.manager,
                "action_test_connection",
                [[self.instance.id]],
                context=self.capture.crafted_context(),
            )
        self.assertEqual(
            seen,
            [(DEFAULT_API_BASE_URL, f"{DEFAULT_LOGIN_HOST}/0c5a0000-5e1c-4a11-9000-000000000001")],
        )
        self.assertEqual(self.capture.connections, 0)

    @mute_logger("odoo.http")  # the access error it provokes is expected
    def test_manager_cannot_read_or_write_credentials_or_tenant(self):
        for field, value in (
            ("client_secret", "x"),
            ("refresh_token", "x"),
            ("partner_tenant_id", "0c5a0000-5e1c-4a11-9000-000000000002"),
            ("environment", "microsoft"),
            ("auth_mode", "app_only"),
        ):
            with self.subTest(field=field), self.assertRaises(JsonRpcException) as refused:
                self._rpc(self.manager, "write", [[self.instance.id], {field: value}])
            self.assertEqual(refused.exception.args[0], "odoo.exceptions.AccessError")
            with self.subTest(field=field), self.assertRaises(AccessError):
                self.instance.with_user(self.manager).read([field])
        self.assertEqual(
            self.instance.sudo().partner_tenant_id, "0c5a0000-5e1c-4a11-9000-000000000001"
        )

    def test_manager_may_rename_and_choose_countries(self):
        self._rpc(
            self.manager,
            "write",
            [
                [self.instance.id],
                {
                    "name": "Production EU",
                    "country_ids": [Command.set(self.env.ref("base.fr").ids)],
                },
            ],
        )
        self.assertEqual(self.instance.name, "Production EU")

    def test_only_administrators_create_instances(self):
        with self.assertRaises(AccessError):
            self.env["ms.csp.instance"].with_user(self.manager).create({"name": "Mine"})

    def test_client_refuses_a_caller_without_the_manager_group(self):
        with (
            patch.object(PartnerCenterClient, "products", autospec=True) as products,
            self.assertRaises(AccessError),
        ):
            self.instance.with_user(self.salesman)._ms_client()
        products.assert_not_called()

    def test_new_secrets_are_not_written_to_the_chatter(self):
        self.instance.write(
            {"client_secret": "rotated-secret-value", "refresh_token": "rotated-refresh-value"}
        )
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking values are written at commit
        for secret in ("rotated-secret-value", "rotated-refresh-value"):
            self.assertFalse(self.env["mail.message"].search_count([("body", "ilike", secret)]))
            self.assertFalse(
                self.env["mail.tracking.value"].search_count(
                    ["|", ("old_value_char", "ilike", secret), ("new_value_char", "ilike", secret)]
                )
            )
