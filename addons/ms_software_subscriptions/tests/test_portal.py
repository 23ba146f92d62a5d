import unittest

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import MsSoftwareSubscriptionCase


@tagged("post_install", "-at_install")
class TestSoftwareSubscriptionPortal(HttpCase, MsSoftwareSubscriptionCase):
    """The storefront: a distributor orders for the end customer Reseller Ltd (Contoso's
    tenant); Reseller Ltd also orders for itself. Each portal user sees only its own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.distributor = cls.env["res.partner"].create(
            {"name": "Distributor Inc", "is_company": True, "country_id": cls.env.ref("base.us").id}
        )
        cls.stranger = cls.env["res.partner"].create(
            {"name": "Stranger LLC", "is_company": True, "country_id": cls.env.ref("base.us").id}
        )
        cls.for_end_customer = cls.subscriptions_of_order(
            cls.confirmed(partner_id=cls.distributor.id, ms_end_customer_id=cls.reseller.id)
        )
        cls.own = cls.subscriptions_of_order(cls.confirmed(cls.triennial))
        cls.env["ms.csp.provisioning"].sudo()._ms_cron_process(commit=False)
        cls.distributor_user = cls.portal_user("portal.distributor", cls.distributor)
        cls.end_customer_user = cls.portal_user("portal.endcustomer", cls.reseller)
        cls.stranger_user = cls.portal_user("portal.stranger", cls.stranger)

    @classmethod
    def subscriptions_of_order(cls, order):
        return cls.env["sale.subscription"].search([("sale_order_id", "=", order.id)])

    @classmethod
    def portal_user(cls, login, company):
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
                    "password": f"{login}-pw-123",
                    "partner_id": contact.id,
                    "groups_id": [Command.set([cls.env.ref("base.group_portal").id])],
                }
            )
        )

    def login(self, user):
        self.authenticate(user.login, f"{user.login}-pw-123")

    def count_on_card(self):
        return self.make_jsonrpc_request(
            "/my/counters", {"counters": ["ms_software_subscription_count"]}
        )["ms_software_subscription_count"]

    def detail(self, subscription, access_token=None):
        query = f"?access_token={access_token}" if access_token else ""
        return self.url_open(
            f"/my/software-subscriptions/{subscription.id}{query}", allow_redirects=False
        )

    # === CARD === #

    def test_home_shows_the_card_with_each_users_count(self):
        self.login(self.distributor_user)
        home = self.url_open("/my")
        self.assertEqual(home.status_code, 200)
        self.assertIn("/my/software-subscriptions", home.text)
        self.assertIn("Software Subscriptions", home.text)
        self.assertEqual(self.count_on_card(), 1)
        self.login(self.end_customer_user)
        self.assertEqual(self.count_on_card(), 2, "its own order and the distributor's for it")
        self.login(self.stranger_user)
        self.assertEqual(self.count_on_card(), 0)

    # === LIST === #

    def test_list_shows_the_users_subscriptions_only(self):
        self.login(self.distributor_user)
        page = self.url_open("/my/software-subscriptions")
        self.assertEqual(page.status_code, 200)
        self.assertIn(self.for_end_customer.access_url, page.text)
        self.assertNotIn(self.own.access_url, page.text)
        self.login(self.end_customer_user)
        page = self.url_open("/my/software-subscriptions?sortby=name")
        self.assertEqual(page.status_code, 200)
        self.assertEqual(page.text.count("o_ms_software_subscription_row"), 2)
        self.login(self.stranger_user)
        page = self.url_open("/my/software-subscriptions")
        self.assertEqual(page.text.count("o_ms_software_subscription_row"), 0)
        self.assertIn("There are no Microsoft software subscriptions", page.text)

    def test_list_searches_by_name_and_status(self):
        self.own.sudo().name = "Triennial seats for HQ"
        self.login(self.end_customer_user)
        page = self.url_open("/my/software-subscriptions?search_in=name&search=HQ")
        self.assertEqual(page.text.count("o_ms_software_subscription_row"), 1)
        self.assertIn(self.own.access_url, page.text)
        self.for_end_customer.sudo().ms_status = "expired"
        page = self.url_open("/my/software-subscriptions?search_in=status&search=Expired")
        self.assertEqual(page.text.count("o_ms_software_subscription_row"), 1)
        self.assertIn(self.for_end_customer.access_url, page.text)
        page = self.url_open(
            "/my/software-subscriptions?search_in=status&search=active" "&sortby=date"
        )
        self.assertEqual(page.text.count("o_ms_software_subscription_row"), 1)
        self.assertIn(self.own.access_url, page.text)

    # === DETAIL === #

    def assert_detail_shows_the_subscription(self, response, subscription):
        self.assertEqual(response.status_code, 200)
        self.assertTrue(subscription.ms_order_id and subscription.ms_order_alias)
        for value in (
            subscription.name,
            subscription.ms_order_id,
            subscription.ms_order_alias,
            subscription.ms_product_id.name,
        ):
            self.assertIn(value, response.text)

    def test_detail_for_the_reseller_and_the_end_customer(self):
        subscription = self.for_end_customer
        subscription.sudo().write({"ms_software_id": "SOFTWARE-ID-0001"})
        for user in (self.distributor_user, self.end_customer_user):
            self.login(user)
            response = self.detail(subscription)
            self.assert_detail_shows_the_subscription(response, subscription)
            self.assertIn("SOFTWARE-ID-0001", response.text)
            # prices are for the company that ordered, not for its end customer
            if user == self.distributor_user:
                self.assertIn("Unit price", response.text)
            else:
                self.assertNotIn("Unit price", response.text)

    def test_detail_hides_the_provisioning_error(self):
        provisioning = self.own.ms_provisioning_id.sudo()
        provisioning.last_error_message = "Internal: token for tenant X expired"
        self.login(self.end_customer_user)
        response = self.detail(self.own)
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("token for tenant X", response.text)

    def test_others_get_403_or_404(self):
        self.login(self.stranger_user)
        self.assertEqual(self.detail(self.own).status_code, 403)
        self.login(self.distributor_user)
        self.assertEqual(self.detail(self.own).status_code, 403, "the end customer's own order")
        guessed = self.env["sale.subscription"].search([], order="id desc", limit=1).id + 1000
        response = self.url_open(f"/my/software-subscriptions/{guessed}", allow_redirects=False)
        self.assertEqual(response.status_code, 404)

    def test_another_records_access_token_is_refused(self):
        token = self.for_end_customer.sudo()._portal_ensure_token()
        self.login(self.distributor_user)
        self.assertEqual(self.detail(self.own, access_token=token).status_code, 403)
        # a record's own token opens it (the link a customer receives by mail)
        own_token = self.own.sudo()._portal_ensure_token()
        self.login(self.stranger_user)
        self.assertEqual(self.detail(self.own, access_token=own_token).status_code, 200)

    def test_portal_users_cannot_write(self):
        with self.assertRaises(AccessError):
            self.own.with_user(self.end_customer_user).write({"name": "Mine"})

    # === IN A BROWSER === #

    def test_portal_tour_from_home_card_to_detail(self):
        """In a real browser: the card, the list, the page of a synchronized subscription. A
        tour that cannot run (no Chromium, no websocket-client) fails instead of being skipped."""
        self.own.sudo().name = "Tour seats for HQ"
        self.assertEqual(self.own.ms_sync_state, "synchronized")
        self.assertTrue(self.own.ms_order_id)
        # start_tour logs in with the login as the password
        self.end_customer_user.sudo().password = self.end_customer_user.login
        try:
            self.start_tour(
                "/my", "ms_software_subscriptions_portal", login=self.end_customer_user.login
            )
        except unittest.SkipTest as skipped:
            self.fail(f"The portal tour did not run: {skipped}")
