"""In a browser: a Microsoft CSP manager retries a failed perpetual license from the back office."""

import unittest

from odoo.tests import HttpCase, tagged

from .common import PerpetualAssetCase

REFUSAL = {
    "code": 400,
    "description": "Tour checkout refused",
    "data": [],
    "source": "PartnerCenter",
}


@tagged("post_install", "-at_install")
class TestPerpetualLicenseBackendTour(PerpetualAssetCase, HttpCase):
    def run_tour(self, name):
        try:
            self.start_tour("/odoo", name, login=self.manager.login)
        except unittest.SkipTest as skipped:
            self.fail(f"The back-office tour {name} did not run: {skipped}")

    def test_manager_retries_a_failed_licence_until_it_has_its_perpetual_id(self):
        self.manager.password = self.manager.login
        self.product.product_tmpl_id.name = "Tour Perpetual License"
        self.simulator.set_faults(
            [
                {
                    "kind": "status",
                    "method": "POST",
                    "path_regex": r"/carts/[^/]+/checkout$",
                    "status": 400,
                    "count": 1,
                    "body": REFUSAL,
                }
            ]
        )
        asset = self.asset_of(self.sell())
        self.run_engine()
        self.assertEqual(asset.sync_status, "failed")
        self.assertFalse(self.orders_in_partner_center(asset))

        self.run_tour("ms_perpetual_assets_backend_retry")
        self.assertEqual(asset.sync_status, "pending", "continued from the dialog")
        self.run_engine()
        self.run_refresh()
        (placed,) = self.orders_in_partner_center(asset)  # one order, linked
        self.assertEqual(asset.sync_status, "synchronized")
        self.assertEqual(asset.ms_order_id, placed["id"])
        self.assertTrue(asset.perpetual_id)

        self.run_tour("ms_perpetual_assets_backend_synced")
