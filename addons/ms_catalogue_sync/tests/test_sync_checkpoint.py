"""A sync that finds nothing changed since the last one: at Microsoft, in the instance's settings,
in the records it keeps. Anything else changed, and it reads and compares everything again."""

from odoo import fields
from odoo.tests import tagged

from .common import MsCspCatalogueCase

UNCHANGED = "same as at the last sync"
COMPARED = "SKUs and"  # "Read 300 SKUs and 1200 prices in 1.2 s."


@tagged("post_install", "-at_install")
class TestSyncCheckpoint(MsCspCatalogueCase):
    def sync_done(self):
        run = self.sync()
        self.assertEqual(run.state, "done", run.error_message)
        return run

    def assertCompared(self, run):
        self.assertIn(COMPARED, run.log)
        self.assertNotIn(UNCHANGED, run.log)

    def test_nothing_changed_makes_new_skus_available_without_reading_the_sheets(self):
        first = self.sync_done()
        self.assertCompared(first)
        self.assertEqual(set(self.instance.sku_ids.mapped("catalog_status")), {"new"})
        # the quantity limits, read by another cron, are not the sync's
        self.instance.sku_ids[:3].write({"minimum_quantity": 5, "maximum_quantity": 50})
        run = self.sync_done()
        self.assertIn(UNCHANGED, run.log)
        self.assertNotIn(COMPARED, run.log)
        self.assertEqual(set(self.instance.sku_ids.mapped("catalog_status")), {"available"})
        self.assertEqual(self.instance.sku_ids.last_sync_run_id, run)
        self.assertEqual(run.sku_total, len(self.instance.sku_ids))
        self.assertEqual(run.sku_done, run.sku_total)
        self.assertEqual(
            self.instance.last_sync_message, "0 new, 0 no longer available, 0 price changes."
        )
        self.assertIn(UNCHANGED, self.sync_done().log)

    def test_what_a_person_changes_of_what_the_sync_keeps_is_repaired_by_the_next_sync(self):
        self.sync_done()
        items = self.instance.pricelist_ids.item_ids
        item, removed = items[0], items[1]
        removed_from = removed.pricelist_id
        variant = item.product_id
        price = self.instance.sku_ids.price_ids.filtered("country_id")[0]
        kept = (item.fixed_price, variant.standard_price, price.sell, removed.product_id)
        manager = self.make_user(
            "catalogue_manager",
            "ms_csp_base.group_ms_csp_manager",
            "product.group_product_pricelist",
            "sales_team.group_sale_manager",
        )
        item.with_user(manager).fixed_price += 10
        variant.with_user(manager).standard_price += 10
        price.with_user(manager).sell += 10
        removed.with_user(manager).unlink()
        self.env.invalidate_all()
        run = self.sync_done()
        self.assertCompared(run)
        self.assertEqual(
            (item.fixed_price, variant.standard_price, price.sell),
            kept[:3],
        )
        restored = self.instance.pricelist_ids.item_ids.filtered(
            lambda i: i.product_id == kept[3] and i.pricelist_id == removed_from
        )
        self.assertEqual(len(restored), 1)
        self.assertIn(UNCHANGED, self.sync_done().log)

    def test_a_new_conversion_rate_reprices_at_the_next_sync(self):
        self.sync_done()
        ils = self.instance.pricelist_ids.filtered(lambda p: p.currency_id == self.ils)
        usd = self.instance.pricelist_ids.filtered(lambda p: p.currency_id == self.usd)
        variant = ils.item_ids[0].product_id
        usd_price = usd.item_ids.filtered(lambda i: i.product_id == variant).fixed_price
        self.rate.copy({"rate": 4.0, "date": fields.Date.today()})  # the newest is in effect
        run = self.sync_done()
        self.assertCompared(run)
        self.assertAlmostEqual(
            ils.item_ids.filtered(lambda i: i.product_id == variant).fixed_price,
            usd_price * 4.0,
            delta=0.0051,
        )

    def test_a_sync_after_a_price_row_starts_or_ends_reads_everything(self):
        self.sync_done()
        checkpoint = self.instance.sudo().catalogue_checkpoint
        self.assertTrue(checkpoint["changes_after"])
        self.instance.sudo().catalogue_checkpoint = {
            **checkpoint,
            "changes_after": "2020-01-01 00:00:00",
        }
        self.assertCompared(self.sync_done())

    def test_a_country_less_reads_everything(self):
        self.sync_done()
        greece = self.instance.country_ids.filtered(lambda c: c.code == "GR")
        self.assertTrue(self.instance.sku_ids.filtered(lambda sku: greece in sku.country_ids))
        self.instance.country_ids -= greece
        self.assertCompared(self.sync_done())
        self.assertFalse(self.instance.sku_ids.filtered(lambda sku: greece in sku.country_ids))

    def test_only_settings_administrators_see_the_checkpoint(self):
        self.sync_done()
        manager = self.make_user("catalogue_manager", "ms_csp_base.group_ms_csp_manager")
        instance = self.instance.with_user(manager)
        self.assertNotIn("catalogue_checkpoint", instance.fields_get())
        self.assertTrue(self.instance.sudo().catalogue_checkpoint["sources"])
