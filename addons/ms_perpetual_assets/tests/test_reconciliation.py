"""Reconciliation with Partner Center orders placed outside Odoo, over real HTTPS."""

import uuid

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from partner_center.resources import CartLineItem

from .common import PerpetualAssetCase


@tagged("post_install", "-at_install")
class TestPerpetualReconciliation(PerpetualAssetCase):
    def setUp(self):
        super().setUp()
        # a tenant of its own per test: orders of earlier tests stay in the simulator
        self.tenant = str(uuid.uuid4())
        self.simulator.add_customer(f"Contoso {self.tenant[:8]}", "US", tenant_id=self.tenant)
        self.env["ms.csp.customer"].search(
            [("partner_id", "=", self.customer.id)]
        ).tenant_id = self.tenant
        self.Reconciliation = self.env["ms.perpetual.reconciliation"]

    # === HELPERS === #

    def failed_asset(self, quantity=2):
        """An asset Odoo could not order (Partner Center refused the checkout)."""
        self.simulator.set_faults(["checkout:400::1"])
        asset = self.asset_of(self.sell(quantity=quantity))
        self.run_engine()
        self.simulator.clear_faults()
        self.assertEqual(asset.sync_status, "failed")
        self.assertFalse(asset.ms_order_id)
        return asset

    def order_outside_odoo(self, quantity=2):
        """An order placed straight in Partner Center (as by hand), not through Odoo."""
        line = CartLineItem(
            catalog_item_id=self.product.ms_sku_code, quantity=quantity, billing_cycle="one_time"
        )
        with self.instance._ms_client() as client:
            lines = client.refresh_line_items([line], "US")  # the availability to buy
            result = client.place_order(self.tenant, lines, idempotency_key=str(uuid.uuid4()))
        (order,) = result.orders
        return order

    def reconcile(self):
        action = self.customer.with_user(self.manager).action_ms_reconcile_perpetual_licences()
        return self.Reconciliation.browse(action["res_id"])

    def lines(self, report, kind):
        return report.line_ids.filtered(lambda line: line.kind == kind)

    # === TESTS === #

    def test_exact_match_is_found_then_linked_on_request(self):
        asset = self.failed_asset(quantity=2)
        order = self.order_outside_odoo(quantity=2)
        before = len(self.requests("GET", "/orders"))
        report = self.reconcile()
        self.assertEqual(len(self.requests("GET", "/orders")), before + 1, "one read")
        (match,) = self.lines(report, "match")
        self.assertEqual(
            (match.asset_id, match.ms_order_id, match.ms_order_alias),
            (asset, order.id, order.alias),
        )
        self.assertFalse(asset.ms_order_id, "nothing linked before a person asks")
        report.with_user(self.manager).action_link_exact_matches()
        self.assertEqual(match.state, "linked")
        self.assertEqual(
            (asset.ms_order_id, asset.ms_order_alias, asset.sync_status),
            (order.id, order.alias, "synchronized"),
        )
        self.assertIn("linked by reconciliation", asset.message_ids[0].body)

    def test_a_licence_linked_by_reconciliation_is_not_ordered_again_by_a_retry(self):
        asset = self.failed_asset(quantity=2)
        self.order_outside_odoo(quantity=2)
        report = self.reconcile()
        report.with_user(self.manager).action_link_exact_matches()
        provisioning = asset.provisioning_id
        self.assertEqual(provisioning.state, "failed")
        with self.assertRaisesRegex(UserError, "already linked to a Microsoft order"):
            provisioning.with_user(self.manager).action_retry()
        self.assertEqual(provisioning.state, "failed")

    def test_linked_order_is_never_offered_or_linked_twice(self):
        self.failed_asset(quantity=2)
        order = self.order_outside_odoo(quantity=2)
        report = self.reconcile()
        (match,) = self.lines(report, "match")
        match.with_user(self.manager).action_link()
        with self.assertRaises(UserError):
            match.with_user(self.manager).action_link()
        again = self.reconcile()
        self.assertNotIn(order.id, again.line_ids.mapped("ms_order_id"))
        # a stale line of another report naming the same order is refused too
        other = self.failed_asset(quantity=2)
        stale = match.copy(
            {
                "reconciliation_id": again.id,
                "state": "open",
                "asset_id": other.id,
                "candidate_asset_ids": [Command.set(other.ids)],
            }
        )
        with self.assertRaisesRegex(UserError, "never linked twice"):
            stale.with_user(self.manager).action_link()

    def test_ambiguity_is_listed_for_a_person_to_choose(self):
        first = self.failed_asset(quantity=3)
        second = self.failed_asset(quantity=3)
        order = self.order_outside_odoo(quantity=3)
        report = self.reconcile()
        self.assertFalse(self.lines(report, "match"))
        (ambiguous,) = self.lines(report, "ambiguous")
        self.assertEqual(ambiguous.candidate_asset_ids, first | second)
        self.assertFalse(self.lines(report, "asset_only"), "candidates are not orphans")
        with self.assertRaisesRegex(UserError, "Choose the asset"):
            ambiguous.with_user(self.manager).action_link()
        outsider = self.failed_asset(quantity=1)
        ambiguous.with_user(self.manager).asset_id = outsider
        with self.assertRaisesRegex(UserError, "choose one of the candidates"):
            ambiguous.with_user(self.manager).action_link()
        ambiguous.with_user(self.manager).asset_id = second
        ambiguous.with_user(self.manager).action_link()
        self.assertEqual(second.ms_order_id, order.id)
        self.assertFalse(first.ms_order_id)

    def test_orphans_on_both_sides_are_listed(self):
        lonely_asset = self.failed_asset(quantity=1)
        lonely_order = self.order_outside_odoo(quantity=5)
        report = self.reconcile()
        self.assertEqual(self.lines(report, "asset_only").asset_id, lonely_asset)
        (order_only,) = self.lines(report, "order_only")
        self.assertEqual((order_only.ms_order_id, order_only.quantity), (lonely_order.id, 5))
        self.assertFalse(self.lines(report, "match") | self.lines(report, "ambiguous"))

    def test_missing_asset_is_created_from_the_microsoft_order(self):
        order = self.order_outside_odoo(quantity=4)
        report = self.reconcile()
        (order_only,) = self.lines(report, "order_only")
        order_only.with_user(self.manager).action_create_asset()
        asset = order_only.asset_id
        self.assertEqual(order_only.state, "created")
        self.assertEqual(
            (
                asset.partner_id,
                asset.product_id,
                asset.quantity,
                asset.ms_order_id,
                asset.ms_order_alias,
                asset.sync_status,
                asset.customer_tenant_id,
            ),
            (self.customer, self.product, 4, order.id, order.alias, "synchronized", self.tenant),
        )
        self.assertIn("linked by reconciliation", asset.message_ids[0].body)
        with self.assertRaises(UserError):
            order_only.with_user(self.manager).action_create_asset()
        self.assertNotIn(order.id, self.reconcile().line_ids.mapped("ms_order_id"))

    def test_orders_odoo_placed_are_not_offered(self):
        asset = self.asset_of(self.sell(quantity=2))
        self.run_engine()
        self.assertTrue(asset.ms_order_id)
        report = self.reconcile()
        self.assertFalse(report.line_ids)

    def test_scheduled_report_covers_all_customers_without_linking(self):
        asset = self.failed_asset(quantity=2)
        self.order_outside_odoo(quantity=2)
        report = self.Reconciliation._ms_cron_reconcile(commit=False)
        self.assertEqual(report.scope, "all")
        self.assertIn(asset, self.lines(report, "match").asset_id)
        self.assertFalse(asset.ms_order_id)

    def test_scheduled_report_notes_a_customer_it_could_not_read(self):
        self.simulator.set_faults(["orders:500"])
        report = self.Reconciliation._ms_cron_reconcile(commit=False)
        self.assertIn(self.customer.name, report.error_message)

    def test_asset_list_action_reconciles_the_selected_customer(self):
        asset = self.failed_asset(quantity=2)
        self.order_outside_odoo(quantity=2)
        action = asset.with_user(self.manager).action_ms_reconcile_customers()
        report = self.Reconciliation.browse(action["res_id"])
        self.assertEqual(report.partner_id, self.customer)
        self.assertEqual(self.lines(report, "match").asset_id, asset)

    def test_reconciliation_is_for_managers(self):
        user = self.make_user("perpetual.user", "ms_csp_base.group_ms_csp_user")
        with self.assertRaises(AccessError):
            self.customer.with_user(user).action_ms_reconcile_perpetual_licences()
