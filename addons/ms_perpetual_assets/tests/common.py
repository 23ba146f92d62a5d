"""Fixtures of the perpetual license tests: a synced catalogue, a linked US customer, the crons."""

from datetime import timedelta

from odoo import fields

from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.addons.ms_catalogue_sync.tests.common import MsCspCatalogueCase

from partner_center.client import order_marker

US_TENANT = "0c5a0001-5e1c-4a11-9000-00000000c001"  # the simulator's US demo customer
ENGINE_CRON = "ms_csp_base.cron_ms_csp_provisioning"
REFRESH_CRON = "ms_perpetual_assets.cron_ms_perpetual_asset_refresh"


class PerpetualAssetCase(CronMixinCase, MsCspCatalogueCase):
    """A perpetual license product sold in the US and a customer whose tenant is linked."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.instance._ms_get_services_definition(commit=False)
        cls.sku = cls.instance.sku_ids.filtered(
            lambda sku: sku.kind == "ms_perpetual"
            and sku.product_tmpl_id
            and "US" in sku.country_ids.mapped("code")
        )[:1]
        cls.product = cls.sku.product_tmpl_id.product_variant_ids.filtered(
            lambda variant: variant.ms_term_plan == "one_time"
        )
        cls.pricelist = cls.instance.pricelist_ids.filtered(
            lambda pricelist: pricelist.currency_id == cls.usd
        )[:1]
        cls.customer = cls.env["res.partner"].create(
            {"name": "Contoso Ltd", "is_company": True, "country_id": cls.env.ref("base.us").id}
        )
        cls.env["ms.csp.customer"].create(
            {"partner_id": cls.customer.id, "instance_id": cls.instance.id, "tenant_id": US_TENANT}
        )
        cls.manager = cls.make_user_cls(
            "perpetual.manager", "ms_csp_base.group_ms_csp_manager", "sales_team.group_sale_manager"
        )
        cls.Asset = cls.env["ms.perpetual.asset"]

    @classmethod
    def make_user_cls(cls, login, *group_xmlids):
        return cls.env["res.users"].create(
            {
                "name": login,
                "login": login,
                "email": f"{login}@example.com",
                "groups_id": [
                    fields.Command.set([cls.env.ref(xmlid).id for xmlid in group_xmlids])
                ],
            }
        )

    # === HELPERS === #

    def sell(self, quantity=2, confirm=True):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "pricelist_id": self.pricelist.id,
                "order_line": [
                    fields.Command.create(
                        {"product_id": self.product.id, "product_uom_qty": quantity}
                    )
                ],
            }
        )
        if confirm:
            order.action_confirm()
        return order

    def asset_of(self, order):
        return self.Asset.search([("sale_order_id", "=", order.id)])

    def run_engine(self, max_runs=40):
        """Run the provisioning cron, letting postponements elapse, until nothing is active."""
        Provisioning = self.env["ms.csp.provisioning"].sudo()
        for _run in range(max_runs):
            Provisioning._ms_cron_process(commit=False)
            active = Provisioning.search([("state", "in", ("pending", "cart", "submitted"))])
            if not active:
                return
            active.filtered("next_attempt_at").write(
                {"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)}
            )
        self.fail("The provisioning engine did not settle.")

    def run_refresh(self):
        return self.Asset.sudo()._ms_cron_refresh_perpetual_ids(commit=False)

    def elapse_refresh(self, assets):
        assets.sudo().write(
            {"perpetual_id_next_check": fields.Datetime.now() - timedelta(seconds=1)}
        )

    def orders_in_partner_center(self, asset=None):
        """The customer's Microsoft orders (the admin view: no listing lag); with ``asset``,
        only those placed for its provisioning (orders of earlier tests stay in the simulator)."""
        orders = self.simulator.all_orders(US_TENANT)
        if asset is None:
            return orders
        marker = order_marker(asset.provisioning_id.idempotency_key)
        return [
            order
            for order in orders
            if any(marker in (line.get("friendlyName") or "") for line in order["lineItems"])
        ]

    def requests(self, method, path_part):
        return [
            entry
            for entry in self.simulator.requests_log()
            if entry["method"] == method and path_part in entry["path"]
        ]
