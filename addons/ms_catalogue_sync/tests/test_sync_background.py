from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.addons.ms_catalogue_sync.models import ms_csp_instance

from partner_center import PartnerCenterClient

from .common import MsCspCatalogueCase

WORKER = "ms_catalogue_sync.cron_ms_csp_sync_worker"


@tagged("post_install", "-at_install")
class TestSyncInBackground(MsCspCatalogueCase, CronMixinCase):
    """The button queues a run and wakes the worker; the worker syncs one instance per call."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls.make_user(cls, "sync.manager", "ms_csp_base.group_ms_csp_manager")
        cls.runs = cls.env["ms.csp.sync.run"]

    def press_button(self, user=None):
        action = self.instance.with_user(user or self.manager).action_get_services_definition()
        return self.runs.browse(action["res_id"])

    def test_button_queues_a_run_wakes_the_worker_and_calls_nothing(self):
        with (
            patch.object(PartnerCenterClient, "_request", autospec=True) as request,
            self.capture_triggers(WORKER) as triggers,
        ):
            run = self.press_button()
        request.assert_not_called()
        self.assertEqual(
            (run.state, run.trigger, run.requested_by_id), ("queued", "manual", self.manager)
        )
        self.assertEqual(len(triggers.records), 1)
        self.assertEqual(self.press_button(), run)  # pressed twice: one run

    def test_worker_syncs_the_queued_run_and_notifies_the_requester(self):
        self.simulator.update_settings(month=1)
        run = self.press_button()
        self.runs._ms_cron_sync_worker(commit=False)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.progress, 100.0)
        self.assertEqual(self.instance.last_sync_state, "done")
        self.env.cr.precommit.run()  # notifications are written when the step commits
        channel = f'"res.partner",{self.manager.partner_id.id}]'
        notification = self.env["bus.bus"].search(
            [("channel", "like", channel)], order="id desc", limit=1
        )
        self.assertIn("Get Services Definition", notification.message)

    def test_a_run_waits_while_its_instance_is_synced_elsewhere(self):
        run = self.press_button()
        with run._ms_claimed() as held_by_another_worker:
            self.assertTrue(held_by_another_worker)
            with run._ms_claimed() as second:
                self.assertFalse(second)
            with self.capture_triggers(WORKER) as triggers:
                self.runs._ms_cron_sync_worker(commit=False)
            self.assertEqual(run.state, "queued")
            self.assertEqual(len(triggers.records), 1)  # looks again later
        self.runs._ms_cron_sync_worker(commit=False)
        self.assertEqual(run.state, "done")

    def test_a_crash_while_holding_an_instance_leaves_nothing_locked(self):
        run = self.press_button()
        crashed = False
        try:
            with run._ms_claimed():
                raise MemoryError("worker died")
        except MemoryError:
            crashed = True
        self.assertTrue(crashed)
        with run._ms_claimed() as claimed:
            self.assertTrue(claimed)

    def test_a_finished_run_is_not_claimed_again(self):
        run = self.press_button()
        self.runs._ms_cron_sync_worker(commit=False)
        with run._ms_claimed() as claimed:
            self.assertFalse(claimed)

    def test_salesman_cannot_queue_a_sync(self):
        seller = self.make_user("sync.seller", "sales_team.group_sale_salesman")
        with self.assertRaises(AccessError):
            self.press_button(seller)
        self.assertFalse(
            self.runs.search([("instance_id", "=", self.instance.id), ("state", "=", "queued")])
        )

    def test_worker_closes_a_run_a_dead_worker_left_running(self):
        run = self.press_button()
        run.write({"state": "running"})  # its worker died: nobody holds the instance
        self.instance.last_sync_state = "running"
        self.runs._ms_cron_sync_worker(commit=False)
        self.assertEqual(run.state, "failed")
        self.assertIn("Interrupted", run.error_message)
        self.assertNotEqual(self.instance.last_sync_state, "running")

    @mute_logger("odoo.addons.ms_catalogue_sync.models.ms_csp_instance")
    def test_an_unexpected_error_while_reading_fails_the_run_and_changes_nothing(self):
        run = self.press_button()
        instance_class = type(self.env["ms.csp.instance"])
        with patch.object(
            instance_class,
            "_ms_fetch_snapshot",
            autospec=True,
            side_effect=RuntimeError("disk full"),
        ):
            self.runs._ms_cron_sync_worker(commit=False)
        self.assertEqual(run.state, "failed")
        self.assertIn(
            "stopped while reading the catalog (RuntimeError: disk full)", run.error_message
        )
        self.assertFalse(self.instance.sku_ids)

    def test_price_rows_are_chosen_at_the_instant_of_the_sync(self):
        # a second ahead: Odoo's clock has whole seconds, tokens already issued stay valid
        now = fields.Datetime.now() + timedelta(seconds=1)
        with (
            patch.object(
                ms_csp_instance, "fetch_snapshot", wraps=ms_csp_instance.fetch_snapshot
            ) as fetch,
            freeze_time(now),
        ):
            self.sync()
        # a row starting at 09:00 counts from 09:00, not from the start of the day
        self.assertEqual(fetch.call_args.kwargs["on_date"], now)
