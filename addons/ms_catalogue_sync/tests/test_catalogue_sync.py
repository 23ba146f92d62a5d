import base64
from io import BytesIO
from unittest.mock import patch

from PIL import Image

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from partner_center.catalogue import billing_periods

from ..models.sync_memo import SYNC_MEMO
from .common import COUNTRIES, MsCspCatalogueCase


@tagged("post_install", "-at_install")
class TestCatalogueSync(MsCspCatalogueCase):
    def test_test_connection_reads_the_catalogue(self):
        self.instance.action_test_connection()
        self.assertEqual(self.instance.connection_state, "connected")
        self.assertIn("software subscription products", self.instance.connection_message)

    def test_rotated_refresh_token_is_kept(self):
        self.instance.action_test_connection()
        token = self.instance.sudo().refresh_token
        self.assertTrue(token)
        self.assertNotEqual(token, self.simulator.initial_refresh_token)
        self.assertTrue(self.instance.sudo().credential_ids.rotated)

    def test_first_sync_creates_one_product_per_sku_of_the_superset(self):
        run = self.sync()
        self.assertEqual(run.state, "done", run.error_message)
        skus = self.instance.sku_ids
        self.assertEqual(set(skus.mapped("code")), self.expected_codes())
        self.assertEqual(set(skus.mapped("catalog_status")), {"new"})
        self.assertEqual(
            run.change_ids.filtered(lambda c: c.change_type == "new").product_tmpl_id,
            skus.product_tmpl_id,
        )
        self.assertEqual(len(skus.product_tmpl_id), len(skus))
        self.assertEqual(run.new_count, len(skus))
        subscription = skus.filtered(lambda s: s.kind == "ms_software_subscription")[:1]
        perpetual = skus.filtered(lambda s: s.kind == "ms_perpetual")[:1]
        self.assertTrue(subscription and perpetual)
        template = subscription.product_tmpl_id
        self.assertEqual(template.service_tracking, "ms_software_subscription")
        self.assertEqual(template.type, "service")
        self.assertEqual(template.uom_id, self.env.ref("ms_catalogue_sync.uom_annual"))
        self.assertEqual(template.ms_sku_code, subscription.code)
        self.assertEqual(
            set(template.product_variant_ids.mapped("ms_term_plan")),
            set(subscription.term_value_ids.mapped("ms_term_plan")),
        )
        self.assertEqual(perpetual.product_tmpl_id.uom_id, self.env.ref("uom.product_uom_unit"))
        self.assertEqual(perpetual.product_tmpl_id.product_variant_ids.ms_term_plan, "one_time")

    def test_default_prices_are_the_highest_over_the_countries(self):
        self.sync()
        catalogue = self.simulator.catalogue
        pricelists = {p.currency_id.name: p for p in self.instance.pricelist_ids}
        self.assertEqual(set(pricelists), {"USD", "EUR", "ILS"})
        checked = 0
        for variant in self.instance.sku_ids.product_tmpl_id.product_variant_ids[:12]:
            sku = variant.ms_sku_id
            term, billing = {
                "P1Y_annual": ("P1Y", "annual"),
                "P3Y_annual": ("P3Y", "annual"),
                "P3Y_triennial": ("P3Y", "triennial"),
                "one_time": (None, "one_time"),
            }[variant.ms_term_plan]
            for currency in ("USD", "EUR"):
                highest = catalogue.highest_price(
                    sku.ms_product_ref, sku.ms_sku_ref, term, billing, currency, COUNTRIES
                )
                if highest is not None:  # Microsoft's price is for the term: per billing period
                    highest = round(highest / billing_periods(term, billing), 2)
                item = pricelists[currency].item_ids.filtered(
                    lambda i, variant=variant: i.product_id == variant
                )
                default = sku.price_ids.filtered(
                    lambda p, currency=currency, plan=variant.ms_term_plan: not p.country_id
                    and p.currency_id.name == currency
                    and p.term_plan == plan
                )
                if highest is None:
                    self.assertFalse(default)
                    continue
                self.assertAlmostEqual(default.cost, float(highest), places=2)
                self.assertTrue(item, f"no {currency} pricelist item for {variant.display_name}")
                self.assertAlmostEqual(item.fixed_price, default.sell, places=2)
                checked += 1
        self.assertGreater(checked, 5)

    def test_every_pricelist_item_prices_its_variant(self):
        """Items are made in bulk: each one must behave as one made in the item form."""
        self.sync()
        variants = self.instance.sku_ids.product_tmpl_id.product_variant_ids
        for pricelist in self.instance.pricelist_ids:
            items = pricelist.item_ids
            self.assertEqual(len(items), len(items.product_id), "one item per variant")
            self.assertGreater(len(items), len(variants) // 2)
            self.assertEqual(items.mapped("company_id"), pricelist.company_id)
            self.assertEqual(items.mapped("currency_id"), pricelist.currency_id)
            self.assertEqual(set(items.mapped("applied_on")), {"0_product_variant"})
            self.assertEqual(set(items.mapped("compute_price")), {"fixed"})
            self.assertTrue(
                all(item.product_tmpl_id == item.product_id.product_tmpl_id for item in items)
            )
            prices = pricelist._get_products_price(items.product_id, 1.0)
            for item in items:
                self.assertAlmostEqual(prices[item.product_id.id], item.fixed_price, places=2)
            self.assertEqual(
                self.env["product.pricelist.item"].search_count(
                    [("pricelist_id", "=", pricelist.id), ("product_id", "in", variants.ids)]
                ),
                len(items),
            )

    def test_unsupported_currency_is_converted_with_the_conversion_rate(self):
        self.sync()
        prices = self.env["ms.csp.price"].search(
            [("instance_id", "=", self.instance.id), ("country_id", "=", False)]
        )
        usd = {(p.sku_id, p.term_plan): p for p in prices if p.currency_id == self.usd}
        ils = [p for p in prices if p.currency_id == self.ils]
        self.assertTrue(ils)
        for price in ils:
            source = usd[(price.sku_id, price.term_plan)]
            # rounded half up to the cent
            self.assertAlmostEqual(price.sell, source.sell * 3.7, delta=0.0051)
            self.assertEqual(price.sell, round(price.sell, 2))

    def test_what_the_sync_keeps_in_memory_ends_with_it(self):
        """Precisions and defaults are read once while a sync writes, and afresh after it."""
        self.sync()
        self.assertNotIn(SYNC_MEMO, self.env.cr.cache)
        self.env.ref("product.decimal_price").digits = 4
        self.assertEqual(self.env["decimal.precision"].precision_get("Product Price"), 4)
        self.env["ir.default"].set("product.template", "description_sale", "Set after the sync")
        product = self.env["product.template"].create({"name": "Not from Microsoft"})
        self.assertEqual(product.description_sale, "Set after the sync")

    def test_defaults_computed_per_record_stay_so_during_a_sync(self):
        self.env.cr.cache[SYNC_MEMO] = {}
        try:
            values = self.env["product.template.attribute.value"]
            colors = {values.default_get(["color", "price_extra"])["color"] for _i in range(40)}
        finally:
            self.env.cr.cache.pop(SYNC_MEMO)
        self.assertGreater(len(colors), 1, "a random colour per value, as without a sync")

    def test_synced_term_values_have_their_own_random_colours(self):
        self.sync()
        values = self.instance.sku_ids.product_tmpl_id.attribute_line_ids.product_template_value_ids
        self.assertGreater(len(values), 30)
        # 11 colours drawn at random for each: more than a few tell each value had its own draw
        self.assertGreater(len(set(values.mapped("color"))), 3, "as without a sync")

    def test_an_item_for_a_product_of_another_company_is_refused(self):
        self.sync()
        moved = self.instance.sku_ids.product_tmpl_id.sorted("id")[-1]  # not the first made
        self.instance.pricelist_ids.item_ids.unlink()
        moved.company_id = self.env["res.company"].create({"name": "Another company"})
        with mute_logger("odoo.addons.ms_catalogue_sync.models.ms_csp_instance"):
            run = self.sync()
        self.assertEqual(run.state, "failed")
        self.assertIn("Incompatible companies", run.error_message)
        self.assertIn(moved.name, run.error_message)

    def test_synced_products_take_an_image_afterwards(self):
        self.sync()
        template = self.instance.sku_ids.product_tmpl_id[:1]
        self.assertFalse(template.image_128)
        self.assertFalse(template.can_image_1024_be_zoomed)
        picture = BytesIO()
        Image.new("RGB", (1600, 1600), "blue").save(picture, "PNG")
        template.image_1920 = base64.b64encode(picture.getvalue())
        self.assertTrue(template.image_128)
        self.assertTrue(template.can_image_1024_be_zoomed)
        self.assertTrue(template.product_variant_ids[:1].image_128, "variants show it too")

    def test_synced_products_have_the_policies_of_products_made_by_hand(self):
        """What Odoo precomputes for a new product (invoicing policy...) is the same."""
        self.sync()
        templates = self.env["product.template"]
        precomputed = [
            name
            for name, field in templates._fields.items()
            if field.store and field.compute and field.precompute
        ]
        for kind in ("ms_software_subscription", "ms_perpetual"):
            synced = self.instance.sku_ids.product_tmpl_id.filtered(
                lambda t, kind=kind: t.service_tracking == kind
            )[:1]
            by_hand = templates.create(
                {
                    "name": "By hand",
                    "type": "service",
                    "service_tracking": kind,
                    "categ_id": synced.categ_id.id,
                    "uom_id": synced.uom_id.id,
                    "uom_po_id": synced.uom_po_id.id,
                    "company_id": synced.company_id.id,
                }
            )
            for name in precomputed:
                self.assertEqual(synced[name], by_hand[name], f"{kind}: {name}")

    def test_synced_products_hold_what_odoo_computes_from_their_terms(self):
        """The sync gives new products values Odoo would compute (configurable, term plan,
        billing unit, weight...): recomputed by Odoo, they stay the same; and the sales prices,
        term extra prices and costs it writes at creation are the default prices."""
        self.sync()
        templates = self.instance.sku_ids.product_tmpl_id
        variants = templates.product_variant_ids
        self.assertTrue(templates.filtered("has_configurable_attributes"))
        self.assertTrue(templates.filtered(lambda t: not t.has_configurable_attributes))
        changes = self.env["ms.csp.sync.change"].search([("instance_id", "=", self.instance.id)])
        checks = [
            (templates, ["has_configurable_attributes", "weight", "volume"]),
            (variants, ["ms_term_plan", "ms_billing_uom_id", "combination_indices"]),
            (variants.product_template_attribute_value_ids, ["product_tmpl_id", "attribute_id"]),
            (self.instance.sku_ids, ["company_id"]),
            (changes, ["instance_id", "company_id", "date"]),
        ]
        for records, names in checks:
            given = {name: [record[name] for record in records] for name in names}
            for name in names:
                self.env.add_to_compute(records._fields[name], records)
                self.assertEqual([record[name] for record in records], given[name], name)
        for template in templates.filtered(lambda t: len(t.product_variant_ids) > 1)[:5]:
            for variant in template.product_variant_ids:
                default = variant.ms_sku_id.price_ids.filtered(
                    lambda p, plan=variant.ms_term_plan: not p.country_id
                    and p.currency_id == self.usd
                    and p.term_plan == plan
                )
                self.assertAlmostEqual(variant.lst_price, default.sell, places=2)
                self.assertAlmostEqual(variant.standard_price, default.cost, places=2)
            self.assertAlmostEqual(
                template.list_price, min(template.product_variant_ids.mapped("lst_price"))
            )

    def test_products_with_another_attribute_get_odoos_variants_priced_the_same(self):
        """An attribute line another module adds to new Microsoft products (here a colour) does
        not stop the sync: Odoo makes those products' variants, which get their prices too."""
        colour = self.env["product.attribute"].create(
            {
                "name": "Colour",
                "value_ids": [Command.create({"name": "Blue"}), Command.create({"name": "Green"})],
            }
        )
        applier = type(self.env["ms.csp.catalogue.applier"])
        original = applier._ms_template_values

        def with_colour(this, sku, context, update=False):
            values = original(this, sku, context, update=update)
            if not update and sku.kind == "ms_perpetual":
                values["attribute_line_ids"] = [
                    Command.create(
                        {
                            "attribute_id": colour.id,
                            "value_ids": [Command.set(colour.value_ids.ids)],
                        }
                    )
                ]
            return values

        with patch.object(applier, "_ms_template_values", with_colour):
            run = self.sync()
        self.assertEqual(run.state, "done", run.error_message)
        coloured = self.instance.sku_ids.product_tmpl_id.filtered(
            lambda t: t.service_tracking == "ms_perpetual"
        )
        plain = self.instance.sku_ids.product_tmpl_id - coloured
        self.assertTrue(coloured and plain)
        for template in coloured[:3]:
            self.assertEqual(len(template.product_variant_ids), 2, "one variant per colour")
            self.assertTrue(template.has_configurable_attributes)
            default = template.ms_sku_id.price_ids.filtered(
                lambda p: not p.country_id and p.currency_id == self.usd
            )
            self.assertAlmostEqual(template.list_price, default.sell, places=2)
        self.assertTrue(all(len(t.product_variant_ids) >= 1 for t in plain))

    def test_instance_buttons_open_its_records(self):
        self.sync()
        skus = self.env["ms.csp.sku"].search(self.instance.action_open_skus()["domain"])
        self.assertEqual(skus, self.instance.sku_ids)
        action = self.instance.action_open_products()
        products = (
            self.env["product.template"].with_context(**action["context"]).search(action["domain"])
        )
        self.assertEqual(products, self.instance.sku_ids.product_tmpl_id)
        runs = self.env["ms.csp.sync.run"].search(self.instance.action_open_sync_runs()["domain"])
        self.assertEqual(runs.instance_id, self.instance)

    def test_runs_count_the_products_they_create_and_change(self):
        first = self.sync()
        self.assertEqual(first.product_created_count, len(self.expected_codes()))
        self.assertEqual(first.product_updated_count, 0)
        second = self.sync()
        self.assertEqual((second.product_created_count, second.product_updated_count), (0, 0))
        self.simulator.update_settings(month=1)
        third = self.sync()
        self.assertEqual(third.product_created_count, third.new_count)

    def test_pricelists_name_their_currency_once(self):
        self.sync()
        usd = self.instance.pricelist_ids.filtered(lambda p: p.currency_id == self.usd)
        self.assertEqual(usd.display_name, "Microsoft Test simulator (USD)")

    def test_updated_products_never_sum_amounts_of_different_currencies(self):
        amounts = ["old_price", "old_cost", "new_price", "new_cost"]
        description = self.env["ms.csp.sync.change"].fields_get(amounts, ["aggregator"])
        self.assertEqual(
            {field: description[field].get("aggregator") for field in amounts},
            dict.fromkeys(amounts),
        )  # the list view's group rows show no total

    def test_second_sync_without_changes_writes_nothing(self):
        self.sync()
        tables = self.synced_rows()
        before = {table: self.row_versions(table, ids) for table, ids in tables.items()}
        self.env.invalidate_all()
        run = self.sync()
        self.assertEqual(run.state, "done")
        self.assertFalse(run.new_count or run.retired_count or run.price_change_count)
        for table, ids in tables.items():
            self.assertEqual(self.row_versions(table, ids), before[table], f"{table} rows written")
        for table, ids in self.synced_rows().items():
            self.assertEqual(sorted(ids), sorted(tables[table]), f"{table} rows added")

    def test_next_month_retires_adds_and_reprices_and_shows_it(self):
        self.sync()
        self.simulator.update_settings(month=1)
        changes = self.simulator.catalogue.changes(1)
        run = self.sync()
        self.assertEqual(run.state, "done", run.error_message)
        by_type = {
            kind: set(
                run.change_ids.filtered(lambda c, kind=kind: c.change_type == kind).mapped(
                    "sku_code"
                )
            )
            for kind in ("new", "retired", "price")
        }
        in_scope = self.expected_codes(month=0) | self.expected_codes(month=1)
        self.assertEqual(by_type["retired"], set(changes["retired"]) & in_scope)
        self.assertEqual(by_type["new"], set(changes["added"]) & self.expected_codes(month=1))
        self.assertTrue(by_type["price"])
        self.assertTrue(by_type["price"] <= set(changes["repriced"]))
        for code in by_type["retired"]:
            product = self.product_of(code)
            self.assertFalse(product.active)
            self.assertEqual(product.ms_catalog_status, "no_longer_available")
        price_change = run.change_ids.filtered(lambda c: c.change_type == "price")[:1]
        self.assertNotEqual(price_change.old_price, price_change.new_price)
        self.assertEqual(
            set(
                self.instance.sku_ids.filtered(
                    lambda s: s.catalog_status != "no_longer_available"
                ).mapped("code")
            ),
            self.expected_codes(month=1),
        )

    def test_retired_product_in_use_is_kept_and_flagged(self):
        self.sync()
        retired_code = self.simulator.catalogue.changes(1)["retired"][0]
        product = self.product_of(retired_code)
        order = self.env["sale.order"].create(
            {
                "partner_id": self.env.ref("base.res_partner_2").id,
                "order_line": [(0, 0, {"product_id": product.product_variant_ids[0].id})],
            }
        )
        self.assertTrue(order.order_line)
        self.simulator.update_settings(month=1)
        self.sync()
        self.assertTrue(product.active)
        self.assertTrue(product.ms_kept_in_use)
        self.assertEqual(product.ms_catalog_status, "no_longer_available")

    def test_sales_prices_in_company_currency_follow_the_default_prices(self):
        self.sync()
        templates = self.instance.sku_ids.product_tmpl_id.filtered(
            lambda t: len(t.product_variant_ids) > 1
        )
        self.assertTrue(templates)
        for variant in templates[:3].product_variant_ids:
            default = variant.ms_sku_id.price_ids.filtered(
                lambda p, plan=variant.ms_term_plan: not p.country_id
                and p.currency_id == self.usd
                and p.term_plan == plan
            )
            self.assertAlmostEqual(variant.lst_price, default.sell, places=2)


@tagged("post_install", "-at_install")
class TestSyncedProductOwnership(MsCspCatalogueCase):
    """The sync owns name, SKU, kind, units and terms; the reseller owns the rest."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.instance._ms_get_services_definition(commit=False)
        cls.template = cls.instance.sku_ids.filtered(
            lambda s: s.kind == "ms_software_subscription" and len(s.term_value_ids) > 1
        )[:1].product_tmpl_id
        cls.product_manager = cls.env["res.users"].create(
            {
                "name": "Product manager",
                "login": "ms.product.manager",
                "groups_id": [
                    Command.set(
                        [
                            cls.env.ref("sales_team.group_sale_manager").id,
                            cls.env.ref("product.group_product_variant").id,
                        ]
                    )
                ],
            }
        )

    def test_what_the_reseller_sets_survives_every_sync(self):
        category = self.env["product.category"].create(
            {"name": "Cloud", "parent_id": self.template.categ_id.id}
        )
        tax = self.env["account.tax"].create({"name": "VAT 17", "amount": 17})
        picture = BytesIO()
        Image.new("RGB", (64, 64), "green").save(picture, "PNG")
        self.template.write(
            {
                "description_sale": "Our words",
                "categ_id": category.id,
                "taxes_id": [Command.set(tax.ids)],
                "image_1920": base64.b64encode(picture.getvalue()),
            }
        )
        self.simulator.update_settings(month=1)
        self.sync()
        self.sync()
        self.assertEqual(
            (self.template.description_sale, self.template.categ_id, self.template.taxes_id),
            ("Our words", category, tax),
        )
        self.assertTrue(self.template.image_1920)

    def test_each_term_variant_has_its_internal_reference(self):
        code = self.template.ms_sku_code
        references = {
            variant.ms_term_plan: variant.default_code
            for variant in self.template.product_variant_ids
        }
        self.assertEqual(references.get("P1Y_annual"), f"{code} P1Y-annual")
        variant = self.template.product_variant_ids[:1]
        self.assertIn(f"[{variant.default_code}]", variant.display_name)

    def test_the_term_attribute_cannot_be_removed_by_a_person(self):
        line = self.template.attribute_line_ids.filtered(
            lambda line: line.attribute_id == self.env.ref("ms_catalogue_sync.attribute_ms_term")
        )
        template = self.template.with_user(self.product_manager)
        with self.assertRaisesRegex(UserError, "cannot be removed"):
            template.write({"attribute_line_ids": [Command.unlink(line.id)]})
        with self.assertRaisesRegex(UserError, "cannot be removed"):
            template.write(
                {
                    "attribute_line_ids": [
                        Command.update(
                            line.id, {"value_ids": [Command.set(line.value_ids[:1].ids)]}
                        )
                    ]
                }
            )
        self.assertEqual(len(self.template.product_variant_ids), len(line.value_ids))

    def test_a_term_microsoft_adds_gets_its_variant_at_the_next_sync(self):
        line = self.template.attribute_line_ids.filtered(
            lambda line: line.attribute_id == self.env.ref("ms_catalogue_sync.attribute_ms_term")
        )
        added = line.value_ids[-1:]
        # the product as it was before Microsoft sold that term: one value and variant less
        line.value_ids = [Command.unlink(added.id)]
        self.assertNotIn(added, line.value_ids)
        self.instance._ms_get_services_definition(commit=False)
        self.assertIn(added, line.value_ids)
        variant = self.template.product_variant_ids.filtered(
            lambda variant: variant.ms_term_plan == added.ms_term_plan
        )
        self.assertEqual(
            variant.default_code,
            f"{self.template.ms_sku_code} {added.ms_term_plan.replace('_', '-')}",
        )
