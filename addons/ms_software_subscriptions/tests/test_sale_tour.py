"""In a browser: a salesperson sells a Microsoft software subscription for an end customer."""

import unittest

from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import MsSoftwareSubscriptionCase

TAILSPIN = "0c5a0003-5e1c-4a11-9000-00000000c003"  # the simulator's German demo customer
RESELLER_PRICE, END_CUSTOMER_PRICE = 400.0, 525.0


@tagged("post_install", "-at_install")
class TestSoftwareSubscriptionSaleTour(HttpCase, MsSoftwareSubscriptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.end_customer = cls.env["res.partner"].create(
            {
                "name": "Tailspin Toys GmbH",
                "is_company": True,
                "country_id": cls.env.ref("base.de").id,
            }
        )
        cls.env["ms.csp.customer"].create(
            {
                "partner_id": cls.end_customer.id,
                "instance_id": cls.instance.id,
                "tenant_id": TAILSPIN,
            }
        )
        cls.reseller.property_product_pricelist = cls.pricelists["USD"]
        cls.sku.product_tmpl_id.name = "Tour Software Subscription"
        # known prices in USD, whatever term plan the product configurator proposes
        Price = cls.env["ms.csp.price"]
        plans = set(cls.sku.product_tmpl_id.product_variant_ids.mapped("ms_term_plan"))
        usd = cls.env.ref("base.USD")
        for country, sell in (
            (cls.env.ref("base.us"), RESELLER_PRICE),
            (cls.end_customer.country_id, END_CUSTOMER_PRICE),
        ):
            for plan in plans:
                row = Price.search(
                    [
                        ("sku_id", "=", cls.sku.id),
                        ("term_plan", "=", plan),
                        ("country_id", "=", country.id),
                        ("currency_id", "=", usd.id),
                    ]
                )
                if row:
                    row.sell = sell
                else:
                    Price.create(
                        {
                            "sku_id": cls.sku.id,
                            "instance_id": cls.instance.id,
                            "term_plan": plan,
                            "country_id": country.id,
                            "currency_id": usd.id,
                            "cost": sell / 2,
                            "sell": sell,
                        }
                    )
        cls.salesperson = (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "Sam Salesperson",
                    "login": "ms.salesperson",
                    "password": "ms.salesperson",
                    "email": "ms.salesperson@example.com",
                    "groups_id": [Command.set([cls.env.ref("sales_team.group_sale_salesman").id])],
                }
            )
        )

    def test_salesperson_sells_for_an_end_customer(self):
        self.assertIn(self.end_customer.country_id, self.sku.country_ids)
        for partner, price in (
            (self.reseller, RESELLER_PRICE),
            (self.end_customer, END_CUSTOMER_PRICE),
        ):
            self.assertEqual(
                self.annual._ms_end_customer_price(partner, self.env.ref("base.USD"))[0], price
            )
        try:
            self.start_tour(
                "/odoo/action-sale.action_quotations_with_onboarding/new",
                "ms_software_subscriptions_sale",
                login=self.salesperson.login,
            )
        except unittest.SkipTest as skipped:
            self.fail(f"The sale tour did not run: {skipped}")
        order = self.env["sale.order"].search([("partner_id", "=", self.reseller.id)])
        self.assertEqual(len(order), 1)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.user_id, self.salesperson)
        self.assertEqual(order.ms_end_customer_id, self.end_customer)
        self.assertEqual(order.order_line.price_unit, END_CUSTOMER_PRICE)
        self.run_engine()
        subscription = self.subscriptions_of(order)
        self.assertEqual(len(subscription), 1)
        self.assertEqual(subscription.ms_end_customer_id, self.end_customer)
        self.assertEqual(subscription.ms_sync_state, "synchronized")
        self.assertTrue(subscription.ms_order_id)
        self.assertEqual(subscription.ms_provisioning_id.customer_tenant_id, TAILSPIN)
        # the back office sees it: Microsoft CSP > Software Subscriptions
        try:
            self.start_tour("/odoo", "ms_software_subscriptions_backend_list", login="admin")
        except unittest.SkipTest as skipped:
            self.fail(f"The back-office tour did not run: {skipped}")
