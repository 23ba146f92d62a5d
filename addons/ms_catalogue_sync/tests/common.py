"""Fixtures of the catalogue tests: an instance with currencies, wired to the simulator."""

from odoo import Command
from odoo.tools import SQL

from odoo.addons.ms_csp_base.tests.common import COUNTRIES, MsCspSimulatorCase


class MsCspCatalogueCase(MsCspSimulatorCase):
    """The base fixture's instance, selling in USD, EUR and ILS (ILS by conversion rate)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.ref("base.EUR").active = True
        cls.env.ref("base.ILS").active = True
        cls.usd, cls.eur, cls.ils = (cls.env.ref(f"base.{name}") for name in ("USD", "EUR", "ILS"))
        cls.instance.write(
            {
                "active_currency_ids": [Command.set((cls.usd | cls.eur | cls.ils).ids)],
                "default_currency_id": cls.usd.id,
            }
        )
        cls.rate = cls.env["ms.csp.conversion.rate"].create(
            {
                "currency_id": cls.ils.id,
                "base_currency_id": cls.usd.id,
                "rate": 3.7,
                "date": "2020-01-01",
            }
        )

    def sync(self):
        return self.instance._ms_get_services_definition(commit=False)

    def expected_codes(self, month=None):
        """Codes the simulator sells (purchasable) in at least one of the instance's countries."""
        codes = set()
        for country in COUNTRIES:
            for view in ("SoftwareSubscriptions", "SoftwarePerpetual"):
                codes |= {
                    sku.code
                    for sku in self.simulator.catalogue.skus_for(
                        country, view, month=month, purchasable_only=True
                    )
                }
        return codes

    def product_of(self, code):
        sku = self.env["ms.csp.sku"].search(
            [("instance_id", "=", self.instance.id), ("code", "=", code)]
        )
        return sku.product_tmpl_id.with_context(active_test=False)

    def synced_rows(self):
        """Table -> ids of the instance's synced products, variants, items and prices."""
        templates = self.instance.sku_ids.product_tmpl_id
        return {
            "product_template": templates.ids,
            "product_product": templates.with_context(active_test=False).product_variant_ids.ids,
            "product_pricelist_item": self.instance.pricelist_ids.item_ids.ids,
            "ms_csp_price": self.instance.sku_ids.price_ids.ids,
        }

    def row_versions(self, table, ids):
        """id -> the stored version of each row: any write gives a row a new one.

        An UPDATE makes a new version of a row, at a new place (``ctid``) and stamped with its
        transaction (``xmin``), whether or not the values differ.
        """
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT id, ctid::text || ':' || xmin::text FROM %s WHERE id = ANY(%s)",
                SQL.identifier(table),
                list(ids),
            )
        )
        return dict(self.env.cr.fetchall())
