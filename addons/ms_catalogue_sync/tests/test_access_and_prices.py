from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import MsCspCatalogueCase


@tagged("post_install", "-at_install")
class TestAccessAndPrices(MsCspCatalogueCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.instance._ms_get_services_definition(commit=False)
        users = cls.env["res.users"].with_context(no_reset_password=True)
        cls.salesman = users.create(
            {
                "name": "Sales user",
                "login": "ms.sales@example.com",
                "groups_id": [(6, 0, [cls.env.ref("sales_team.group_sale_salesman").id])],
            }
        )
        cls.portal = users.create(
            {
                "name": "Portal user",
                "login": "ms.portal@example.com",
                "groups_id": [(6, 0, [cls.env.ref("base.group_portal").id])],
            }
        )
        cls.sku = cls.instance.sku_ids.filtered(
            lambda s: s.kind == "ms_software_subscription" and len(s.country_ids) >= 2
        )[:1]
        cls.variant = cls.sku.product_tmpl_id.product_variant_ids.filtered(
            lambda v: v.ms_term_plan == "P1Y_annual"
        )

    def test_sales_user_sees_products_but_not_credentials(self):
        template = self.sku.product_tmpl_id.with_user(self.salesman)
        self.assertEqual(template.ms_sku_id.code, self.sku.code)
        instance = self.instance.with_user(self.salesman)
        self.assertEqual(instance.name, "Test simulator")
        with self.assertRaises(AccessError):
            instance.read(["client_secret"])
        with self.assertRaises(AccessError):
            instance.read(["refresh_token"])
        with self.assertRaises(AccessError):
            self.env["ms.csp.credential"].with_user(self.salesman).search([])

    def test_portal_user_sees_neither(self):
        with self.assertRaises(AccessError):
            self.instance.with_user(self.portal).read(["name"])
        with self.assertRaises(AccessError):
            self.sku.with_user(self.portal).read(["code"])

    def test_end_customer_price_follows_billing_country_and_currency(self):
        country = self.sku.country_ids.filtered(lambda c: c.code != "US")[:1]
        partner = self.env["res.partner"].create({"name": "End customer", "country_id": country.id})
        row = self.sku.price_ids.filtered(
            lambda p: p.country_id == country and p.term_plan == "P1Y_annual"
        )[:1]
        price, cost, reason = self.variant._ms_end_customer_price(partner, row.currency_id)
        self.assertFalse(reason)
        self.assertEqual((price, cost), (row.sell, row.cost))
        default = self.sku.price_ids.filtered(
            lambda p: not p.country_id
            and p.term_plan == "P1Y_annual"
            and p.currency_id == row.currency_id
        )
        self.assertGreaterEqual(default.sell, price)

    def test_end_customer_price_says_why_there_is_none(self):
        nowhere = self.env["res.partner"].create({"name": "No country"})
        self.assertIn("no country", self.variant._ms_end_customer_price(nowhere, self.usd)[2])
        elsewhere = self.env.ref("base.jp")
        partner = self.env["res.partner"].create({"name": "JP", "country_id": elsewhere.id})
        self.assertIn("not sold in", self.variant._ms_end_customer_price(partner, self.usd)[2])

    def test_microsoft_line_keeps_its_billing_unit(self):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.env.ref("base.res_partner_2").id,
                "order_line": [(0, 0, {"product_id": self.variant.id})],
            }
        )
        line = order.order_line
        self.assertEqual(line.product_uom, self.env.ref("ms_catalogue_sync.uom_annual"))
        with self.assertRaises(ValidationError):
            line.product_uom = self.env.ref("ms_catalogue_sync.uom_triennial")
        triennial = self.sku.product_tmpl_id.product_variant_ids.filtered(
            lambda v: v.ms_term_plan == "P3Y_triennial"
        )
        if triennial:
            line.product_id = triennial
            self.assertEqual(line.product_uom, self.env.ref("ms_catalogue_sync.uom_triennial"))

    def test_child_category_inherits_kind_unless_overridden(self):
        parent = self.env.ref("ms_catalogue_sync.product_category_ms_software_subscriptions")
        child = self.env["product.category"].create({"name": "Office", "parent_id": parent.id})
        self.assertEqual(child.ms_effective_kind, "ms_software_subscription")
        child.ms_kind = "ms_perpetual"
        self.assertEqual(child.ms_effective_kind, "ms_perpetual")

    def test_variant_cost_is_the_default_partner_price_in_the_company_currency(self):
        default = self.sku.price_ids.filtered(
            lambda p: not p.country_id and p.term_plan == "P1Y_annual" and p.currency_id == self.usd
        )
        self.assertEqual(self.env.company.currency_id, self.usd)
        self.assertAlmostEqual(self.variant.standard_price, default.cost, places=2)

    def test_invoice_lines_keep_the_billing_unit(self):
        customer = self.env["res.partner"].create(
            {
                "name": "Invoiced customer",
                "is_company": True,
                "country_id": self.env.ref("base.us").id,
            }
        )
        self.env["ms.csp.customer"].create(
            {
                "partner_id": customer.id,
                "instance_id": self.instance.id,
                "tenant_id": "0c5a0001-5e1c-4a11-9000-00000000c001",
            }
        )
        order = self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "pricelist_id": self.instance.pricelist_ids.filtered(
                    lambda p: p.currency_id == self.usd
                ).id,
                "order_line": [(0, 0, {"product_id": self.variant.id, "product_uom_qty": 3})],
            }
        )
        order.action_confirm()
        invoice = order._create_invoices()
        line = invoice.invoice_line_ids.filtered(
            lambda invoice_line: invoice_line.product_id == self.variant
        )
        self.assertEqual(line.product_uom_id, self.env.ref("ms_catalogue_sync.uom_annual"))
        self.assertEqual(line.price_unit, order.order_line.price_unit)

    def test_instance_of_a_parent_company_serves_its_branches(self):
        branch = self.env["res.company"].create(
            {"name": "Branch", "parent_id": self.instance.company_id.id}
        )
        user = (
            self.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "Branch user",
                    "login": "ms.branch@example.com",
                    "company_id": branch.id,
                    "company_ids": [(6, 0, branch.ids)],
                    "groups_id": [(6, 0, [self.env.ref("ms_csp_base.group_ms_csp_user").id])],
                }
            )
        )
        visible = self.env["ms.csp.instance"].with_user(user).with_company(branch).search([])
        self.assertIn(self.instance, visible)
