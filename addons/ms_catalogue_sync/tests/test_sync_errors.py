from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import MsCspCatalogueCase

# the Partner Center failures these tests provoke are logged there, and expected
INSTANCE_LOGGER = "odoo.addons.ms_csp_base.models.ms_csp_instance"

MALFORMED_SHEET = (
    '"ProductTitle","ProductId","SkuId","SkuTitle","Publisher","SkuDescription","UnitOfMeasure",'
    '"TermDuration","BillingPlan","Market","Currency","UnitPrice","PricingTierRangeMin",'
    '"PricingTierRangeMax","EffectiveStartDate","EffectiveEndDate","Tags","ERP Price","Segment"\n'
    '"Visio","DG7GMGF0D7FV","0002","Visio Plan","Microsoft","Visio","","P1Y","Annual","US",'
    '"USD","twelve","","","1/1/2020 12:00:00 AM","","Software","15","Commercial"\n'
)


@tagged("post_install", "-at_install")
class TestSyncErrors(MsCspCatalogueCase):
    """Each failure leaves the previous catalogue untouched and says why on the instance."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.instance._ms_get_services_definition(commit=False)

    def setUp(self):
        super().setUp()
        self.snapshot_before = self.catalogue_state()

    def catalogue_state(self):
        skus = self.instance.sku_ids
        return (
            sorted(skus.mapped("code")),
            sorted(
                (
                    p.sku_id.code,
                    p.term_plan,
                    p.country_id.code or "",
                    p.currency_id.name,
                    p.cost,
                    p.sell,
                )
                for p in skus.price_ids
            ),
            sorted((i.product_id.id, i.fixed_price) for i in self.instance.pricelist_ids.item_ids),
            sorted(skus.product_tmpl_id.mapped("active")),
        )

    def assert_untouched_with_message(self, run, words):
        self.assertEqual(run.state, "failed")
        self.assertEqual(self.instance.last_sync_state, "failed")
        for word in words:
            self.assertIn(word, self.instance.last_sync_message)
        self.assertIn("Nothing was changed", run.error_message)
        self.assertEqual(self.catalogue_state(), self.snapshot_before)

    def test_missing_conversion_rate_blocks_the_sync(self):
        self.env["ms.csp.conversion.rate"].search([("currency_id", "=", self.ils.id)]).unlink()
        self.simulator.update_settings(month=1)
        run = self.sync()
        self.assert_untouched_with_message(run, ["ILS", "conversion rate"])

    @mute_logger(INSTANCE_LOGGER)
    def test_malformed_price_rows_name_the_row(self):
        self.simulator.update_settings(month=1)
        self.simulator.set_faults(
            [
                {
                    "method": "GET",
                    "path_regex": r"pricesheets.*GB",
                    "kind": "status",
                    "status": 200,
                    "body": MALFORMED_SHEET,
                }
            ]
        )
        run = self.sync()
        self.assert_untouched_with_message(run, ["line 2", "UnitPrice"])

    def test_malformed_rows_the_instance_does_not_use_are_skipped_and_listed(self):
        header, usd_row = MALFORMED_SHEET.splitlines()[:2]
        good = usd_row.replace('"twelve"', '"12"')
        unused = good.replace('"USD","12"', '"JPY","x"')  # JPY is no currency of the instance
        for rows in ((unused, good, unused), (good, unused)):  # wherever they stand
            self.simulator.set_faults(
                [
                    {
                        "method": "GET",
                        "path_regex": r"pricesheets.*GB",
                        "kind": "status",
                        "status": 200,
                        "body": "\n".join((header, *rows)) + "\n",
                    }
                ]
            )
            run = self.sync()
            self.assertEqual(run.state, "done", run.error_message)
            lines = [number for number, row in enumerate(rows, 2) if row is unused]
            self.assertEqual(run.skipped_row_count, len(lines))
            for number in lines:
                self.assertIn(f"GB line {number}, column 'UnitPrice'", run.log)

    @mute_logger(INSTANCE_LOGGER)
    def test_expired_refresh_token_asks_for_consent(self):
        self.simulator.revoke_refresh_tokens()
        self.simulator.expire_access_tokens()
        run = self.sync()
        self.assert_untouched_with_message(run, ["consent again"])
        self.assertEqual(self.instance.connection_state, "error")
        activity = self.instance.activity_ids.filtered(
            lambda a: a.summary == "Partner Center: consent again"
        )
        self.assertIn(self.env.ref("base.user_admin"), activity.user_id)
        self.assertNotIn(self.simulator.client_secret, self.instance.last_sync_message)

    @mute_logger(INSTANCE_LOGGER)
    def test_503_storm_gives_up_and_keeps_the_catalogue(self):
        self.simulator.update_settings(month=1)
        self.simulator.set_faults(["pricesheet:503"])
        self.client_settings.update(deadline_seconds=3, backoff_base=0.05, backoff_max=0.2)
        run = self.sync()
        self.assert_untouched_with_message(run, ["503"])

    @mute_logger(INSTANCE_LOGGER)
    def test_cron_syncs_every_instance_even_when_one_fails(self):
        broken = self.instance.copy(
            {
                "name": "Broken",
                "country_ids": [Command.set(self.countries.ids)],
                "active_currency_ids": [Command.set(self.usd.ids)],
                "default_currency_id": self.usd.id,
            }
        )
        self.endpoints[broken.id] = "https://127.0.0.1:9"
        self.addCleanup(self.endpoints.clear)
        self.client_settings.update(deadline_seconds=2, backoff_base=0.05)
        self.simulator.update_settings(month=1)
        self.env["ms.csp.instance"]._ms_cron_get_services_definition()
        runs = self.env["ms.csp.sync.run"]
        queued = runs.search([("state", "=", "queued")])
        self.assertEqual(queued.instance_id & (broken | self.instance), broken | self.instance)
        for _run in queued:
            runs._ms_cron_sync_worker(commit=False)
        self.assertEqual(broken.last_sync_state, "failed")
        self.assertEqual(self.instance.last_sync_state, "done")
        self.assertNotEqual(self.catalogue_state(), self.snapshot_before)
