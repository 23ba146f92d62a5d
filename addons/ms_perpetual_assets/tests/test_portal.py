"""The customer portal: /my "Licenses" card, list and detail, and who sees what."""

import unittest

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import PerpetualAssetCase


@tagged("post_install", "-at_install")
class TestPerpetualLicensePortal(PerpetualAssetCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reseller = cls.env["res.partner"].create(
            {
                "name": "Fabrikam Reseller",
                "is_company": True,
                "country_id": cls.env.ref("base.us").id,
            }
        )
        cls.reseller_user = cls._portal_user_cls("reseller.portal", cls.reseller)
        cls.customer_user = cls._portal_user_cls("customer.portal", cls.customer)
        cls.stranger = cls.env["res.partner"].create({"name": "Northwind", "is_company": True})
        cls.stranger_user = cls._portal_user_cls("stranger.portal", cls.stranger)

    @classmethod
    def _portal_user_cls(cls, login, company):
        contact = cls.env["res.partner"].create(
            {"name": f"{login} contact", "parent_id": company.id, "email": f"{login}@example.com"}
        )
        return (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": contact.name,
                    "login": login,
                    "password": login,
                    "partner_id": contact.id,
                    "groups_id": [fields.Command.set([cls.env.ref("base.group_portal").id])],
                }
            )
        )

    def setUp(self):
        super().setUp()
        order = self.env["sale.order"].create(
            {
                "partner_id": self.reseller.id,
                "ms_end_customer_id": self.customer.id,
                "pricelist_id": self.pricelist.id,
                "order_line": [
                    fields.Command.create({"product_id": self.product.id, "product_uom_qty": 4})
                ],
            }
        )
        order.action_confirm()
        self.asset = self.asset_of(order)
        self.asset.sudo().write(
            {
                "sync_status": "synchronized",
                "ms_order_id": "order-guid-0001",
                "ms_order_alias": "ALIAS-0001",
                "perpetual_id": "ALIAS-0001-0",
                "last_error_message": "internal: connection reset by peer (cart 42)",
            }
        )
        # a license nobody of the above may see
        self.hidden = self.asset.sudo().copy(
            {
                "partner_id": self.stranger.id,
                "sale_order_id": False,
                "sale_line_id": False,
                "name": "Stranger license",
            }
        )

    def _login(self, user):
        self.authenticate(user.login, user.login)

    def _counters(self):
        response = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["perpetual_license_count"]}
        )
        return response["perpetual_license_count"]

    def test_asset_is_a_portal_document(self):
        self.assertEqual(self.asset.access_url, f"/my/perpetual-licenses/{self.asset.id}")
        self.assertEqual(self.asset.ordering_partner_id, self.reseller)
        self.assertEqual(self.asset.partner_id, self.customer)

    def test_home_card_counts_the_licences_of_the_users_company(self):
        for user, expected in (
            (self.reseller_user, 1),
            (self.customer_user, 1),
            (self.stranger_user, 1),
        ):
            with self.subTest(user=user.login):
                self._login(user)
                self.assertEqual(self._counters(), expected)
        self._login(self.reseller_user)
        home = self.url_open("/my")
        self.assertEqual(home.status_code, 200)
        self.assertIn("/my/perpetual-licenses", home.text)
        self.assertIn("perpetual_license_count", home.text)

    def test_reseller_and_end_customer_see_the_list_and_the_detail(self):
        for user in (self.reseller_user, self.customer_user):
            with self.subTest(user=user.login):
                self._login(user)
                listing = self.url_open("/my/perpetual-licenses")
                self.assertEqual(listing.status_code, 200)
                self.assertIn(self.asset.access_url, listing.text)
                self.assertNotIn(self.hidden.access_url, listing.text)
                detail = self.url_open(self.asset.access_url)
                self.assertEqual(detail.status_code, 200)
                for shown in (
                    self.asset.name,
                    "ALIAS-0001",
                    "order-guid-0001",
                    "ALIAS-0001-0",
                    self.asset.ms_sku_name,
                    "Synchronized",
                ):
                    self.assertIn(shown, detail.text)
                # prices are for the company that ordered, not for its end customer
                if user == self.reseller_user:
                    self.assertIn("Unit price", detail.text)
                    self.assertIn("USD", detail.text)
                else:
                    self.assertNotIn("Unit price", detail.text)
                self.assertNotIn("connection reset", detail.text, "no technical detail")
                self.assertNotIn("cart 42", detail.text)

    def test_list_sorts_and_searches_by_name_and_status(self):
        second = self.asset.sudo().copy({"sale_line_id": False, "name": "AAAA Another license"})
        self._login(self.customer_user)
        by_name = self.url_open("/my/perpetual-licenses?sortby=name").text
        self.assertLess(by_name.index(second.access_url), by_name.index(self.asset.access_url))
        found = self.url_open("/my/perpetual-licenses?search_in=name&search=Another").text
        self.assertIn(second.access_url, found)
        self.assertNotIn(self.asset.access_url, found)
        second.sudo().status = "cancelled"
        cancelled = self.url_open("/my/perpetual-licenses?search_in=status&search=cancel").text
        self.assertIn(second.access_url, cancelled)
        self.assertNotIn(self.asset.access_url, cancelled)

    @mute_logger("odoo.http")
    def test_third_portal_user_is_refused(self):
        self._login(self.stranger_user)
        listing = self.url_open("/my/perpetual-licenses")
        self.assertNotIn(self.asset.access_url, listing.text)
        self.assertEqual(self.url_open(self.asset.access_url).status_code, 403)
        token = self.hidden.sudo()._portal_ensure_token()
        self.assertEqual(
            self.url_open(f"{self.asset.access_url}?access_token={token}").status_code,
            403,
            "another record's token opens nothing",
        )
        self.assertEqual(
            self.url_open(f"{self.hidden.access_url}?access_token={token}").status_code, 200
        )

    @mute_logger("odoo.http")
    def test_guessed_id_is_not_found(self):
        self._login(self.customer_user)
        missing = self.env["ms.perpetual.asset"].sudo().search([], order="id desc", limit=1).id + 1
        self.assertEqual(self.url_open(f"/my/perpetual-licenses/{missing}").status_code, 404)
        self.assertEqual(self.url_open(self.hidden.access_url).status_code, 403)

    def test_portal_tour_from_home_card_to_detail(self):
        """In a real browser: the card, the list, the license page. A tour that cannot run
        (no Chromium, no websocket-client) fails here instead of being skipped."""
        try:
            self.start_tour("/my", "ms_perpetual_assets_portal", login=self.customer_user.login)
        except unittest.SkipTest as skipped:
            self.fail(f"The portal tour did not run: {skipped}")
