from contextlib import ExitStack
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.ms_catalogue_sync.models import ms_csp_catalogue_sync

from .common import MsCspCatalogueCase


@tagged("post_install", "-at_install")
class TestSyncLanguage(MsCspCatalogueCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("de_DE")
        cls.instance.catalogue_lang = "de_DE"

    def test_descriptions_in_the_catalogue_language_where_microsoft_translates_them(self):
        self.sync()
        catalogue = self.simulator.catalogue
        translated = untranslated = 0
        for sku in self.instance.sku_ids:
            german = catalogue.sku(sku.ms_product_ref, sku.ms_sku_ref).localized_text("de-DE")
            template = sku.product_tmpl_id
            english_name = template.with_context(lang="en_US").name
            german_name = template.with_context(lang="de_DE").name
            if german and self.env.ref("base.de") in sku.country_ids:
                self.assertEqual(german_name, german[0])
                self.assertNotEqual(english_name, german[0])
                translated += 1
            else:
                self.assertEqual(german_name, english_name)
                untranslated += 1
        self.assertTrue(translated and untranslated)


class WorkerKilled(BaseException):
    """What ends a worker without any handler running (as a killed process would)."""


@tagged("post_install", "-at_install")
class TestSyncResume(MsCspCatalogueCase):
    def crash_on_third_batch(self, error):
        """Patches: batches of 10 SKUs, the third raising ``error``."""
        applier = type(self.env["ms.csp.catalogue.applier"])
        original = applier._ms_apply_batch
        calls = []

        def third_batch_fails(this, *args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise error
            return original(this, *args, **kwargs)

        stack = ExitStack()
        stack.enter_context(patch.object(ms_csp_catalogue_sync, "BATCH_SIZE", 10))
        stack.enter_context(patch.object(applier, "_ms_apply_batch", third_batch_fails))
        return stack

    def assert_two_whole_batches(self):
        half = self.instance.sku_ids
        self.assertEqual(len(half), 20)
        self.assertTrue(all(sku.product_tmpl_id and sku.price_ids for sku in half))

    def assert_next_run_finishes(self):
        run = self.sync()
        self.assertEqual(run.state, "done")
        self.assertEqual(set(self.instance.sku_ids.mapped("code")), self.expected_codes())
        self.assertEqual(run.new_count, len(self.expected_codes()) - 20)
        self.assertEqual(run.sku_done, run.sku_total)
        return run

    def test_an_error_half_way_keeps_whole_batches_and_says_so(self):
        with (
            self.crash_on_third_batch(MemoryError("out of memory")),
            mute_logger("odoo.addons.ms_catalogue_sync.models.ms_csp_instance"),
        ):
            failed = self.sync()
        self.assertEqual(failed.state, "failed")
        self.assertEqual(failed.sku_done, 20)
        self.assertIn("stopped while writing the catalog (out of memory)", failed.error_message)
        self.assertEqual(self.instance.last_sync_state, "failed")
        self.assert_two_whole_batches()
        self.assert_next_run_finishes()

    def test_a_sync_stopped_half_way_leaves_the_next_one_everything_to_compare(self):
        self.sync()
        self.simulator.update_settings(month=1)
        with (
            self.crash_on_third_batch(MemoryError("out of memory")),
            mute_logger("odoo.addons.ms_catalogue_sync.models.ms_csp_instance"),
        ):
            self.assertEqual(self.sync().state, "failed")
        self.assertFalse(self.instance.sudo().catalogue_checkpoint)
        # Microsoft serves again what the last complete sync read: the half-written month is
        # still found and undone
        self.simulator.update_settings(month=0)
        run = self.sync()
        self.assertEqual(run.state, "done")
        self.assertIn("SKUs and", run.log)
        sold = self.instance.sku_ids.filtered(
            lambda sku: sku.catalog_status != "no_longer_available"
        )
        self.assertEqual(set(sold.mapped("code")), self.expected_codes(month=0))

    def test_a_killed_worker_leaves_a_run_the_next_one_closes(self):
        # No assertRaises here: Odoo's rolls back to a savepoint, and a killed worker does not.
        crash = None
        with self.crash_on_third_batch(WorkerKilled("worker killed")):
            try:
                self.sync()
            except WorkerKilled as error:
                crash = error
        self.assertEqual(str(crash), "worker killed")
        crashed = self.instance.sync_run_ids
        self.assertEqual((crashed.state, crashed.sku_done), ("running", 20))
        self.assert_two_whole_batches()
        self.assert_next_run_finishes()
        self.assertEqual(crashed.state, "failed")
        self.assertIn("Interrupted", crashed.error_message)

    def test_progress_is_reported_on_the_run(self):
        run = self.sync()
        self.assertEqual(run.progress, 100.0)
        self.assertGreater(run.duration, 0)
        self.assertIn("Read", run.log)


@tagged("post_install", "-at_install")
class TestSettings(MsCspCatalogueCase):
    def test_settings_set_the_sync_schedule(self):
        settings = self.env["res.config.settings"].create(
            {"ms_csp_sync_interval_number": 2, "ms_csp_sync_interval_type": "weeks"}
        )
        settings.execute()
        cron = self.env.ref("ms_catalogue_sync.cron_get_services_definition")
        self.assertEqual((cron.interval_number, cron.interval_type), (2, "weeks"))
        self.assertGreaterEqual(settings.ms_csp_instance_count, 1)
