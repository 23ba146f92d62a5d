"""Perpetual licenses from sale to Partner Center and back, over real HTTPS to the simulator."""

import re
from datetime import datetime

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged
from odoo.tools import format_datetime

from .common import ENGINE_CRON, REFRESH_CRON, PerpetualAssetCase


@tagged("post_install", "-at_install")
class TestPerpetualAssetProvisioning(PerpetualAssetCase):
    def test_confirmation_creates_one_asset_per_line_without_calling_partner_center(self):
        with self.capture_triggers(ENGINE_CRON) as engine:
            order = self.sell(quantity=3)
        asset = self.asset_of(order)
        line = order.order_line
        self.assertEqual(len(asset), 1)
        self.assertFalse(self.simulator.requests_log(), "no Partner Center call at confirmation")
        self.assertTrue(engine.records, "the engine's cron is woken")
        self.assertEqual(
            (
                asset.name,
                asset.status,
                asset.sync_status,
                asset.quantity,
                asset.price_unit,
                asset.price_subtotal,
                asset.currency_id,
                asset.sale_line_id,
                asset.partner_id,
            ),
            (
                self.product.name,
                "active",
                "pending",
                3,
                line.price_unit,
                line.price_subtotal,
                self.usd,
                line,
                self.customer,
            ),
        )
        self.assertEqual(asset.ms_sku_name, self.sku.name)
        self.assertEqual(asset.provisioning_line_id.res_id, line.id)
        self.assertEqual(asset.provisioning_id.line_ids.billing_cycle, "one_time")
        self.assertEqual(self.customer.ms_perpetual_asset_count, 1)

    def test_order_is_synchronized_with_its_ids_then_gets_the_perpetual_id(self):
        self.simulator.update_settings(fulfilment_delay=300)
        order = self.sell()
        asset = self.asset_of(order)
        with self.capture_triggers(REFRESH_CRON) as refresh:
            self.run_engine()
        self.assertTrue(refresh.records, "the Perpetual ID poll is woken at ordering")
        (placed,) = self.orders_in_partner_center(asset)
        self.assertEqual(asset.sync_status, "synchronized")
        self.assertEqual(
            (asset.ms_order_id, asset.ms_order_alias), (placed["id"], placed["alternateId"])
        )
        self.assertFalse(asset.perpetual_id, "the entitlement is not published yet")
        self.assertEqual(self.run_refresh(), 1)
        self.assertFalse(asset.perpetual_id)
        self.assertGreater(asset.perpetual_id_next_check, fields.Datetime.now())
        self.assertEqual(self.run_refresh(), 0, "not due again yet")
        self.simulator.advance_clock(301)
        self.elapse_refresh(asset)
        self.assertEqual(self.run_refresh(), 1)
        self.assertEqual(asset.perpetual_id, f"{placed['alternateId']}-0")
        self.assertFalse(asset.perpetual_id_next_check)
        self.assertEqual(len(self.requests("GET", "/entitlements")), 2, "one read per check")

    def test_refresh_button_reads_partner_center_once(self):
        self.simulator.update_settings(fulfilment_delay=300)
        asset = self.asset_of(self.sell())
        self.run_engine()
        self.simulator.advance_clock(301)
        before = len(self.requests("GET", "/entitlements"))
        action = asset.with_user(self.manager).action_ms_refresh_from_microsoft()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(len(self.requests("GET", "/entitlements")), before + 1)
        self.assertTrue(asset.perpetual_id)

    def test_refresh_is_for_managers(self):
        asset = self.asset_of(self.sell())
        self.run_engine()
        user = self.make_user("perpetual.user", "ms_csp_base.group_ms_csp_user")
        with self.assertRaises(AccessError):
            asset.with_user(user).action_ms_refresh_from_microsoft()

    def test_dropped_checkout_answer_orders_once(self):
        self.simulator.set_faults(["checkout:drop_after_commit::1"])
        self.simulator.update_settings(order_list_lag=900)  # a search would not see the order
        asset = self.asset_of(self.sell())
        self.run_engine()
        (placed,) = self.orders_in_partner_center(asset)  # no duplicate order
        self.assertEqual(asset.sync_status, "synchronized")
        self.assertEqual(asset.ms_order_id, placed["id"])


@tagged("post_install", "-at_install")
class TestPerpetualAssetRetry(PerpetualAssetCase):
    def _failed_asset(self):
        self.simulator.set_faults(["checkout:400::1"])
        asset = self.asset_of(self.sell())
        self.run_engine()
        self.assertEqual(asset.sync_status, "failed")
        self.assertTrue(asset.last_error_message)
        self.assertFalse(self.orders_in_partner_center(asset))
        return asset

    def _retry_dialog(self, asset):
        action = asset.with_user(self.manager).action_ms_retry()
        self.assertEqual(action["res_model"], "ms.perpetual.asset.retry")
        return Form(
            self.env[action["res_model"]].with_user(self.manager).with_context(**action["context"])
        ).save()

    def test_continue_provisions_one_order_and_links_it(self):
        asset = self._failed_asset()
        wizard = self._retry_dialog(asset)
        with self.capture_triggers(ENGINE_CRON) as engine:
            wizard.action_continue()
        self.assertTrue(engine.records)
        self.assertEqual(asset.sync_status, "pending")
        self.run_engine()
        (placed,) = self.orders_in_partner_center(asset)
        self.assertEqual(asset.sync_status, "synchronized")
        self.assertEqual(asset.ms_order_id, placed["id"])
        self.assertFalse(asset.last_error_message)

    def test_cancel_changes_nothing_anywhere(self):
        asset = self._failed_asset()
        provisioning_state = asset.provisioning_id.state
        orders_before = len(self.orders_in_partner_center())
        requests_before = len(self.simulator.requests_log())
        wizard = self._retry_dialog(asset)
        wizard.action_cancel()
        self.run_engine()
        self.assertEqual(asset.sync_status, "failed")
        self.assertEqual(asset.provisioning_id.state, provisioning_state)
        self.assertEqual(
            len(self.orders_in_partner_center()), orders_before, "simulator order count unchanged"
        )
        self.assertFalse(self.orders_in_partner_center(asset))
        self.assertEqual(len(self.simulator.requests_log()), requests_before)

    def test_retry_is_for_managers_and_failed_assets(self):
        asset = self._failed_asset()
        user = self.make_user("perpetual.user", "ms_csp_base.group_ms_csp_user")
        with self.assertRaises(AccessError):
            asset.with_user(user).action_ms_retry()
        ok = self.asset_of(self.sell())
        with self.assertRaises(UserError):
            ok.with_user(self.manager).action_ms_retry()


@tagged("post_install", "-at_install")
class TestPerpetualAssetCancellation(PerpetualAssetCase):
    def _invoiced_asset(self):
        order = self.sell(quantity=2)
        invoice = order._create_invoices()
        invoice.action_post()
        asset = self.asset_of(order)
        self.run_engine()
        self.assertEqual(asset.sync_status, "synchronized")
        self.assertEqual(asset.invoice_line_ids.move_id, invoice)
        return asset, invoice

    def test_cancellation_inside_the_window_cancels_and_prepares_a_credit_note(self):
        asset, invoice = self._invoiced_asset()
        self.simulator.advance_clock(20 * 86400)
        asset.with_user(self.manager).action_ms_cancel_in_microsoft()
        self.assertEqual(asset.status, "cancelled")
        self.assertEqual(self.orders_in_partner_center(asset)[0]["status"], "cancelled")
        self.assertEqual(len(self.requests("PATCH", "/orders/")), 1, "one call")
        note = asset.credit_note_id
        self.assertEqual(
            (note.move_type, note.state, note.reversed_entry_id), ("out_refund", "draft", invoice)
        )
        self.assertEqual(note.amount_untaxed, asset.price_subtotal)
        self.assertIn("Cancelled in Partner Center", asset.message_ids[0].body)

    def test_cancellation_names_the_offer_of_the_line(self):
        asset = self.asset_of(self.sell())
        self.run_engine()
        offer = asset.provisioning_line_id.ms_offer_id
        self.assertEqual(offer.count(":"), 2, "pid:sid:aid, as Partner Center gave it")
        # Partner Center checks the offer named against the order line
        asset.provisioning_line_id.ms_offer_id = offer + "X"
        with self.assertRaisesRegex(UserError, "nothing was changed"):
            asset.with_user(self.manager).action_ms_cancel_in_microsoft()
        self.assertEqual(asset.status, "active")
        asset.provisioning_line_id.ms_offer_id = offer
        asset.with_user(self.manager).action_ms_cancel_in_microsoft()
        self.assertEqual(asset.status, "cancelled")

    def test_cancellation_without_invoice_prepares_no_credit_note(self):
        asset = self.asset_of(self.sell())
        self.run_engine()
        asset.with_user(self.manager).action_ms_cancel_in_microsoft()
        self.assertEqual(asset.status, "cancelled")
        self.assertFalse(asset.credit_note_id)

    def test_cancellation_outside_the_window_is_refused_with_its_date(self):
        asset, _invoice = self._invoiced_asset()
        asset.purchase_date = datetime(2031, 3, 1, 10, 0)
        self.assertEqual(asset.cancellation_deadline, datetime(2031, 3, 31, 10, 0), "30 days")
        closed = format_datetime(self.env(user=self.manager), asset.cancellation_deadline)
        with (
            freeze_time("2031-03-31 10:00:01"),
            self.assertRaisesRegex(UserError, f"cancellation window closed on {re.escape(closed)}"),
        ):
            asset.with_user(self.manager).action_ms_cancel_in_microsoft()
        self.assertEqual(asset.status, "active")
        self.assertFalse(self.requests("PATCH", "/orders/"), "nothing sent")

    def test_partner_center_date_is_trusted(self):
        """Partner Center's cancellationAllowedUntilDate, when given, closes the window even
        before the 30 days."""
        asset, _invoice = self._invoiced_asset()
        asset.write(
            {
                "purchase_date": datetime(2031, 3, 1, 10, 0),
                "ms_cancellation_allowed_until": datetime(2031, 3, 5, 10, 0),
            }
        )
        closed = format_datetime(self.env(user=self.manager), datetime(2031, 3, 5, 10, 0))
        with (
            freeze_time("2031-03-05 10:00:01"),
            self.assertRaisesRegex(UserError, f"cancellation window closed on {re.escape(closed)}"),
        ):
            asset.with_user(self.manager).action_ms_cancel_in_microsoft()
        self.assertFalse(self.requests("PATCH", "/orders/"))

    def test_refusal_by_partner_center_changes_nothing(self):
        asset, _invoice = self._invoiced_asset()
        self.simulator.advance_clock(31 * 86400)  # Partner Center's window closed first
        with self.assertRaisesRegex(UserError, "cancellation window has closed"):
            asset.with_user(self.manager).action_ms_cancel_in_microsoft()
        self.assertEqual(asset.status, "active")
        self.assertFalse(asset.credit_note_id)

    def test_cancellation_is_for_managers(self):
        asset = self.asset_of(self.sell())
        self.run_engine()
        user = self.make_user("perpetual.user", "ms_csp_base.group_ms_csp_user")
        with self.assertRaises(AccessError):
            asset.with_user(user).action_ms_cancel_in_microsoft()


@tagged("post_install", "-at_install")
class TestPerpetualAssetAccess(PerpetualAssetCase):
    def test_assets_of_another_company_are_hidden(self):
        asset = self.asset_of(self.sell())
        other = self.env["res.company"].create({"name": "Other reseller"})
        hidden = asset.sudo().copy({"company_id": other.id, "sale_line_id": False})
        user = self.make_user("perpetual.user", "ms_csp_base.group_ms_csp_user")
        visible = self.Asset.with_user(user).search([("id", "in", (asset | hidden).ids)])
        self.assertEqual(visible, asset)

    def test_users_read_and_only_managers_write(self):
        asset = self.asset_of(self.sell())
        user = self.make_user("perpetual.user", "ms_csp_base.group_ms_csp_user")
        self.assertEqual(asset.with_user(user).name, self.product.name)
        with self.assertRaises(AccessError):
            asset.with_user(user).name = "Renamed"
        asset.with_user(self.manager).name = "Renamed"
        self.assertEqual(asset.name, "Renamed")

    def test_partner_smart_button_opens_the_customers_assets(self):
        asset = self.asset_of(self.sell())
        action = self.customer.action_ms_open_perpetual_assets()
        self.assertEqual(self.Asset.search(action["domain"]), asset)

    def test_confirming_again_creates_no_second_asset(self):
        order = self.sell()
        order._action_confirm()
        self.assertEqual(len(self.asset_of(order)), 1)
        self.assertEqual(
            len(
                self.env["ms.csp.provisioning"].search(
                    [("res_model", "=", "sale.order"), ("res_id", "=", order.id)]
                )
            ),
            1,
        )
