from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from partner_center import PartnerCenterClient

from .common import MsCspCatalogueCase

CONTOSO = "0c5a0001-5e1c-4a11-9000-00000000c001"


@tagged("post_install", "-at_install")
class TestMicrosoftSaleOrder(MsCspCatalogueCase):
    """The end customer decides the price and the tenant; what cannot be ordered is refused."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.instance._ms_get_services_definition(commit=False)
        cls.sku = cls.instance.sku_ids.filtered(
            lambda s: s.kind == "ms_software_subscription"
            and {"US", "DE"} <= set(s.country_ids.mapped("code"))
        )[:1]
        cls.variant = cls.sku.product_tmpl_id.product_variant_ids.filtered(
            lambda v: v.ms_term_plan == "P1Y_annual"
        )
        cls.pricelists = {p.currency_id.name: p for p in cls.instance.pricelist_ids}
        cls.reseller = cls.env["res.partner"].create(
            {"name": "Reseller Ltd", "is_company": True, "country_id": cls.env.ref("base.us").id}
        )
        cls.german = cls.env["res.partner"].create(
            {"name": "Kunde GmbH", "is_company": True, "country_id": cls.env.ref("base.de").id}
        )
        cls.env["ms.csp.customer"].create(
            {"partner_id": cls.reseller.id, "instance_id": cls.instance.id, "tenant_id": CONTOSO}
        )

    def order(self, currency="USD", quantity=2, **values):
        return self.env["sale.order"].create(
            {
                "partner_id": self.reseller.id,
                "pricelist_id": self.pricelists[currency].id,
                "order_line": [
                    (0, 0, {"product_id": self.variant.id, "product_uom_qty": quantity})
                ],
                **values,
            }
        )

    def price_row(self, country, currency):
        return self.sku.price_ids.filtered(
            lambda p: p.country_id.code == country
            and p.term_plan == "P1Y_annual"
            and p.currency_id.name == currency
        )

    def test_end_customer_defaults_to_the_ordering_company(self):
        order = self.order()
        self.assertEqual(order.ms_end_customer_id, self.reseller)
        self.assertEqual(order.order_line.price_unit, self.price_row("US", "USD").sell)

    def test_changing_the_end_customer_reprices_microsoft_lines(self):
        order = self.order(currency="EUR")
        order.ms_end_customer_id = self.german
        self.assertEqual(order.order_line.price_unit, self.price_row("DE", "EUR").sell)
        with Form(order) as form:  # the same from the form
            form.ms_end_customer_id = self.reseller
        # the US market prices in USD only and no EUR rate is set: the line says why
        self.assertIn("no conversion rate into EUR", order.order_line.ms_price_error)
        with self.assertRaisesRegex(UserError, "no conversion rate into EUR"):
            order.action_confirm()

    def test_a_currency_microsoft_does_not_price_in_is_converted(self):
        order = self.order(currency="ILS")
        self.assertAlmostEqual(
            order.order_line.price_unit, self.price_row("US", "USD").sell * 3.7, places=2
        )
        self.assertFalse(order.order_line.ms_price_error)

    def test_a_line_without_price_says_why_and_blocks_confirmation(self):
        japan = self.env["res.partner"].create(
            {"name": "JP KK", "is_company": True, "country_id": self.env.ref("base.jp").id}
        )
        order = self.order(ms_end_customer_id=japan.id)
        self.assertIn("not sold in Japan", order.order_line.ms_price_error)
        with self.assertRaisesRegex(UserError, "not sold in Japan"):
            order.action_confirm()
        self.assertEqual(order.state, "draft")

    def test_end_customer_without_tenant_is_refused_with_what_to_do(self):
        order = self.order(currency="EUR", ms_end_customer_id=self.german.id)
        with self.assertRaises(UserError) as refused:
            order.action_confirm()
        self.assertIn("Kunde GmbH has no Partner Center tenant linked", str(refused.exception))
        self.assertIn("Microsoft CSP tab", str(refused.exception))

    def test_fractional_quantity_is_refused(self):
        order = self.order(quantity=1.5)
        with self.assertRaisesRegex(UserError, "whole quantities"):
            order.action_confirm()

    def test_a_quantity_partner_center_refuses_is_refused_at_confirmation(self):
        others = self.instance.sku_ids - self.sku
        others.write({"limits_next_read": "2999-01-01 00:00:00"})
        self.assertEqual(self.sku.limits_read_date, False)
        self.assertEqual(self.env["ms.csp.sku"]._ms_cron_read_quantity_limits(commit=False), 1)
        listed = {sku.code: sku for sku in self.simulator.catalogue.all_skus()}[self.sku.code]
        high = listed.maximum_quantity
        self.assertEqual((self.sku.minimum_quantity, self.sku.maximum_quantity), (1, high))
        self.assertTrue(self.sku.limits_read_date)
        self.assertGreater(self.sku.limits_next_read, self.sku.limits_read_date)
        order = self.order(quantity=high + 1)
        with self.assertRaises(UserError) as refused:
            order.action_confirm()
        self.assertIn(
            f"quantities of 1 to {high} per order line, not {high + 1}", str(refused.exception)
        )
        self.assertEqual(order.state, "draft")
        order.order_line.product_uom_qty = high
        self.assertIsNone(order.order_line._ms_order_problem())

    def test_a_failed_quantity_read_is_tried_again_later(self):
        self.simulator.set_faults(["GET /v1/products/[^/]+/skus$:503"])
        self.instance.sku_ids.write({"limits_next_read": "2999-01-01 00:00:00"})
        self.sku.limits_next_read = "2000-01-01 00:00:00"
        self.env["ms.csp.sku"]._ms_cron_read_quantity_limits(commit=False)
        self.assertFalse(self.sku.limits_read_date)
        self.assertEqual(self.sku.limits_failures, 1)
        self.assertGreater(self.sku.limits_next_read, self.sku.write_date)
        self.assertIsNone(self.order(quantity=100000).order_line._ms_order_problem())

    def test_lines_are_handed_to_the_engine_without_calling_partner_center(self):
        order = self.order(quantity=3)
        with self.patch_requests() as request:
            provisionings = order._ms_create_provisionings(order.order_line)
        request.assert_not_called()
        self.assertEqual(len(provisionings), 1)
        self.assertEqual(
            (
                provisionings.customer_tenant_id,
                provisionings.partner_id,
                provisionings.res_model,
                provisionings.res_id,
            ),
            (CONTOSO, self.reseller, "sale.order", order.id),
        )
        line = provisionings.line_ids
        self.assertEqual(
            (
                line.catalog_item_id,
                line.quantity,
                line.billing_cycle,
                line.term_duration,
                line.res_id,
            ),
            (self.sku.code, 3, "annual", "P1Y", order.order_line.id),
        )

    @staticmethod
    def patch_requests():
        return patch.object(PartnerCenterClient, "_request", autospec=True)

    def test_a_line_is_handed_to_the_engine_once(self):
        order = self.order()
        first = order._ms_create_provisionings(order.order_line)
        again = order._ms_create_provisionings(order.order_line)
        self.assertEqual(len(first), 1)
        self.assertFalse(again)

    def test_an_order_handed_to_partner_center_cannot_be_cancelled(self):
        order = self.order()
        order.action_confirm()
        order._ms_create_provisionings(order.order_line)  # what the selling addons do
        with self.assertRaisesRegex(UserError, "cannot be cancelled"):
            order._action_cancel()
        self.assertEqual(order.state, "sale")

    def test_a_line_refused_before_any_cart_keeps_what_its_provisioning_orders(self):
        order = self.order(quantity=2)
        order.action_confirm()
        order._ms_create_provisionings(order.order_line)  # unless a selling addon did
        provisioning = order.order_line._ms_handed_over()[order.order_line.id].provisioning_id
        provisioning.write({"state": "failed", "failed_step": "pending"})  # refused, no cart
        order._action_cancel()  # nothing was ordered: the order may be cancelled
        order.action_draft()
        with self.assertRaisesRegex(
            UserError, f"handed to the Microsoft provisioning " f"{provisioning.name} for 2"
        ):
            order.order_line.product_uom_qty = 5
        with self.assertRaisesRegex(UserError, "cannot be deleted"):
            order.order_line.unlink()
        with self.assertRaisesRegex(UserError, "cannot be deleted"):
            order.unlink()
        with self.assertRaisesRegex(UserError, "cannot change"):  # the tenant it orders for
            order.ms_end_customer_id = self.german
        order.partner_id = self.german  # a new ordering company keeps the end customer
        self.assertEqual(order.ms_end_customer_id, self.reseller)
        order.partner_id = self.reseller
        order.order_line.product_uom_qty = 2  # the same quantity is no change
        order.action_confirm()
        self.assertFalse(order._ms_create_provisionings(order.order_line), "never handed twice")
        self.assertEqual(provisioning.line_ids.quantity, 2)

    def test_a_provisioning_whose_order_is_gone_is_not_retried(self):
        order = self.order()
        order.action_confirm()
        order._ms_create_provisionings(order.order_line)
        provisioning = order.order_line._ms_handed_over()[order.order_line.id].provisioning_id
        # its document removed behind Odoo's back (a database clean-up, another module)
        provisioning.write({"state": "failed", "failed_step": "pending", "res_id": 2**31 - 1})
        with self.assertRaisesRegex(UserError, "no longer exists"):
            provisioning.action_retry()
        self.assertEqual(provisioning.state, "failed")

    def test_the_end_customer_of_a_confirmed_order_stays(self):
        order = self.order()
        order.action_confirm()
        with self.assertRaisesRegex(UserError, "cannot change"):
            order.ms_end_customer_id = self.german
        order.ms_end_customer_id = self.reseller  # the same one is no change
