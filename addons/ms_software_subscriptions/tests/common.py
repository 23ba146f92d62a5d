"""Fixtures: the catalogue synced from the simulator, a reseller linked to its US tenant, and
helpers that run the provisioning engine and this addon's refresh cron as their crons do."""

from datetime import timedelta

from odoo import fields

from odoo.addons.ms_catalogue_sync.tests.common import MsCspCatalogueCase

from partner_center.client import order_marker

CONTOSO = "0c5a0001-5e1c-4a11-9000-00000000c001"  # the simulator's US demo customer
FINAL_STATES = ("fulfilled", "failed")


class MsSoftwareSubscriptionCase(MsCspCatalogueCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.instance._ms_get_services_definition(commit=False)
        cls.sku = cls.instance.sku_ids.filtered(
            lambda sku: sku.kind == "ms_software_subscription"
            and "US" in sku.country_ids.mapped("code")
            and {"P1Y_annual", "P3Y_triennial"} <= set(sku.term_value_ids.mapped("ms_term_plan"))
        )[:1]
        variants = cls.sku.product_tmpl_id.product_variant_ids
        cls.annual = variants.filtered(lambda variant: variant.ms_term_plan == "P1Y_annual")
        cls.triennial = variants.filtered(lambda variant: variant.ms_term_plan == "P3Y_triennial")
        cls.pricelists = {
            pricelist.currency_id.name: pricelist for pricelist in cls.instance.pricelist_ids
        }
        cls.reseller = cls.env["res.partner"].create(
            {"name": "Reseller Ltd", "is_company": True, "country_id": cls.env.ref("base.us").id}
        )
        cls.env["ms.csp.customer"].create(
            {"partner_id": cls.reseller.id, "instance_id": cls.instance.id, "tenant_id": CONTOSO}
        )
        cls.service = cls.env["product.product"].create(
            {"name": "Installation service", "type": "service", "list_price": 100.0}
        )

    # === ORDERS === #

    @classmethod
    def order(cls, *products, quantity=2, currency="USD", **values):
        return cls.env["sale.order"].create(
            {
                "partner_id": cls.reseller.id,
                "pricelist_id": cls.pricelists[currency].id,
                "order_line": [
                    (0, 0, {"product_id": product.id, "product_uom_qty": quantity})
                    for product in products or (cls.annual,)
                ],
                **values,
            }
        )

    @classmethod
    def confirmed(cls, *products, **values):
        order = cls.order(*products, **values)
        order.action_confirm()
        return order

    def subscriptions_of(self, order):
        return self.env["sale.subscription"].search([("sale_order_id", "=", order.id)])

    # === CRONS === #

    def run_engine(self):
        return self.env["ms.csp.provisioning"].sudo()._ms_cron_process(commit=False)

    def run_refresh(self):
        return self.env["sale.subscription"].sudo()._ms_cron_refresh(commit=False)

    def run_engine_until_final(self, provisionings, max_runs=20):
        for _run in range(max_runs):
            self.run_engine()
            if all(state in FINAL_STATES for state in provisionings.mapped("state")):
                return
            self.elapse(provisionings)
        self.fail(f"Still not final after {max_runs} runs: {provisionings.mapped('state')}")

    def api_calls(self):
        """Partner Center API calls the simulator saw (not token requests)."""
        return [
            entry
            for entry in self.simulator.requests_log()
            if entry["path"].lower().startswith("/v1/customers")
        ]

    def elapse(self, records, field="next_attempt_at"):
        """Time passes: what was postponed is due now."""
        past = fields.Datetime.now() - timedelta(seconds=1)
        records.filtered(field).sudo().write({field: past})

    def orders_of(self, provisioning):
        """The simulator's orders for the record's key (the admin view: no listing lag)."""
        marker = order_marker(provisioning.idempotency_key)
        return [
            order
            for order in self.simulator.all_orders(CONTOSO)
            if any(marker in (line.get("friendlyName") or "") for line in order["lineItems"])
        ]
