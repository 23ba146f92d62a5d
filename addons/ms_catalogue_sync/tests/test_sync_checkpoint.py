"""A sync that finds nothing changed since the last one: at Microsoft, in the instance's settings,
in the records it keeps. Anything else changed, and it reads and compares everything again."""

from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models import ms_csp_catalogue_sync
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
        tables = self.synced_rows()
        before = {table: self.row_versions(table, ids) for table, ids in tables.items()}
        run = self.sync_done()
        self.assertIn(UNCHANGED, run.log)
        self.assertNotIn(COMPARED, run.log)
        for table, ids in tables.items():
            self.assertEqual(self.row_versions(table, ids), before[table], f"{table} rows written")
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
        manager = self.make_user(
            "catalogue_manager",
            "ms_csp_base.group_ms_csp_manager",
            "product.group_product_pricelist",
            "sales_team.group_sale_manager",
        )
        items = self.instance.pricelist_ids.item_ids
        price = self.instance.sku_ids.price_ids.filtered("country_id")[:1]
        template = items[:1].product_tmpl_id
        sku = self.instance.sku_ids.filtered(lambda s: len(s.country_ids) > 1)[:1]
        lines = self.instance.sku_ids.product_tmpl_id.attribute_line_ids
        term_value = lines.product_template_value_ids.filtered("price_extra")[:1]
        edits = {
            "a pricelist item's price": (items[:1], "fixed_price", 1.0),
            "a variant's cost": (items[:1].product_id, "standard_price", 1.0),
            "a country's price": (price, "sell", 1.0),
            "a term's extra price": (term_value, "price_extra", 1.0),
            "a product's name": (template, "name", " (edited)"),
            "a product archived": (template, "active", None),
            "a country of a SKU": (sku, "country_ids", None),
        }
        for what, (record, name, change) in edits.items():
            with self.subTest(what), self.env.cr.savepoint() as savepoint:
                record.invalidate_recordset()
                kept = record[name]
                record = record.with_user(manager)
                if name == "active":
                    record.action_archive()
                elif name == "country_ids":
                    record.sudo().country_ids = record.country_ids[1:]
                else:
                    record[name] += change
                self.env.invalidate_all()
                run = self.sync_done()
                self.assertCompared(run)
                record.invalidate_recordset()
                self.assertEqual(record[name], kept)
                savepoint.rollback()

    def test_a_pricelist_item_deleted_by_hand_is_made_again(self):
        self.sync_done()
        item = self.instance.pricelist_ids.item_ids[:1]
        pricelist, variant, price = item.pricelist_id, item.product_id, item.fixed_price
        item.unlink()
        self.assertCompared(self.sync_done())
        again = pricelist.item_ids.filtered(lambda i: i.product_id == variant)
        self.assertEqual(again.fixed_price, price)

    def test_a_change_made_while_a_sync_writes_is_repaired_by_the_next_sync(self):
        self.sync_done()
        self.simulator.update_settings(month=1)
        applier = type(self.env["ms.csp.catalogue.applier"])
        apply_batch = applier._ms_apply_batch
        edited = []

        def edit_then_apply_batch(applier_self, instance, run, snapshot, batch, skus, context):
            if batch[0] != min(snapshot.skus) and not edited:
                # a person, while the second batch is written: an item of the first one
                sku = self.env["ms.csp.sku"].browse(skus[min(snapshot.skus)])
                item = self.env["product.pricelist.item"].search(
                    [("product_tmpl_id", "=", sku.product_tmpl_id.id)], limit=1
                )
                edited.append((item, item.fixed_price))
                item.fixed_price += 1
            apply_batch(applier_self, instance, run, snapshot, batch, skus, context)

        with (
            patch.object(ms_csp_catalogue_sync, "BATCH_SIZE", 5),
            patch.object(applier, "_ms_apply_batch", edit_then_apply_batch),
        ):
            self.assertCompared(self.sync_done())
        ((item, price),) = edited
        self.assertCompared(self.sync_done())
        self.assertEqual(item.fixed_price, price)
        self.assertIn(UNCHANGED, self.sync_done().log)

    def test_a_new_month_at_microsoft_reads_everything(self):
        self.sync_done()
        sources = self.instance.sudo().catalogue_checkpoint["sources"]
        self.simulator.update_settings(month=1)
        run = self.sync_done()
        self.assertCompared(run)
        self.assertTrue(run.new_count or run.retired_count or run.price_change_count)
        self.assertNotEqual(self.instance.sudo().catalogue_checkpoint["sources"], sources)
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

    def test_only_settings_administrators_read_or_write_the_checkpoint(self):
        self.sync_done()
        manager = self.make_user("catalogue_manager", "ms_csp_base.group_ms_csp_manager")
        instance = self.instance.with_user(manager)
        self.assertNotIn("catalogue_checkpoint", instance.fields_get())
        with self.assertRaises(AccessError):
            instance.read(["catalogue_checkpoint"])
        with self.assertRaises(AccessError):
            instance.write({"catalogue_checkpoint": False})
        self.assertTrue(self.instance.sudo().catalogue_checkpoint["sources"])
