from decimal import Decimal

from odoo import api, fields, models

from partner_center.catalogue import SkuPrice, choose_customer_price

from ..const import TERM_PLANS
from .ms_csp_sku import TERM_PLAN_SELECTION


class MsCspPrice(models.Model):
    """A SKU's price in one country's price sheet: what an end customer there pays.

    The default prices of a product (pricelists, cost) are the highest over the instance's
    countries; these rows keep each country's own price for the end-customer price.
    """

    _name = "ms.csp.price"
    _description = "Microsoft Price per Country"
    _order = "sku_id, term_plan, country_id, currency_id"
    # Rows written by the catalog sync only, a dozen per SKU: who and when is the sync run's
    # (its change lines keep old and new prices). Without the four audit columns a first sync
    # inserts its rows without checking two user references per row.
    _log_access = False

    sku_id = fields.Many2one("ms.csp.sku", required=True, ondelete="cascade", index=True)
    instance_id = fields.Many2one("ms.csp.instance", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="instance_id.company_id")
    term_plan = fields.Selection(TERM_PLAN_SELECTION, required=True)
    country_id = fields.Many2one(
        "res.country",
        index=True,
        help="Empty: the instance's default price, the highest over its countries (converted for "
        "currencies Microsoft does not price in).",
    )
    currency_id = fields.Many2one("res.currency", required=True)
    scope = fields.Char(string="Applies to", compute="_compute_scope")
    cost = fields.Monetary(string="Partner price", currency_field="currency_id")
    sell = fields.Monetary(string="Retail price (ERP)", currency_field="currency_id")

    @api.depends("country_id")
    def _compute_scope(self):
        default = self.env._("All countries (highest)")
        for price in self:
            price.scope = price.country_id.name or default

    def init(self):
        # One price per SKU, term plan, country (or default) and currency.
        self.env.cr.execute("""
            CREATE UNIQUE INDEX IF NOT EXISTS ms_csp_price_unique_idx ON ms_csp_price
            (sku_id, term_plan, currency_id, COALESCE(country_id, 0))
        """)

    @api.model
    def _ms_price_for(self, product, partner, currency=None, on_date=None):
        """The end-customer price of a Microsoft variant: billing country and currency decide.

        :return: ``(price, cost, None)`` or ``(None, None, reason)``
        """
        sku, plan = product.ms_sku_id, product.ms_term_plan
        country = partner.commercial_partner_id.country_id
        currency = (
            currency
            or partner.property_product_pricelist.currency_id
            or product.env.company.currency_id
        )
        if not (sku and plan):
            return None, None, self.env._("%s is not a Microsoft product.", product.display_name)
        if not country:
            return (
                None,
                None,
                self.env._(
                    "%s has no country: its billing address decides the Microsoft price.",
                    partner.commercial_partner_id.display_name,
                ),
            )
        if country not in sku.country_ids:
            return (
                None,
                None,
                self.env._(
                    "%(product)s is not sold in %(country)s.",
                    product=product.display_name,
                    country=country.name,
                ),
            )
        rows = self.sudo().search(
            [("sku_id", "=", sku.id), ("term_plan", "=", plan), ("country_id", "=", country.id)]
        )
        term, billing, _value, _uom = TERM_PLANS[plan]
        by_currency = {
            row.currency_id.name: SkuPrice(
                sku.code,
                term,
                billing,
                row.currency_id.name,
                cost=Decimal(str(row.cost)),
                sell=Decimal(str(row.sell)),
            )
            for row in rows
        }
        rates = self.env["ms.csp.conversion.rate"]._ms_rates_for(
            currency, sku.company_id, on_date or fields.Date.context_today(self)
        )
        price = choose_customer_price(
            by_currency,
            code=sku.code,
            country=country.code,
            currency=currency.name,
            rates={name: Decimal(str(rate)) for name, rate in rates.items()},
            rounding=currency_rounding(currency),
        )
        if price:
            return float(price.sell), float(price.cost), None
        return (
            None,
            None,
            self.env._(
                "%(product)s is priced in %(priced)s in %(country)s, not in %(currency)s, and no "
                "conversion rate into %(currency)s is set.",
                product=product.display_name,
                priced=", ".join(sorted(by_currency)) or self.env._("no currency"),
                country=country.name,
                currency=currency.name,
            ),
        )


def currency_rounding(currency):
    """A ``res.currency``'s rounding step for the price logic (``0.01``, ``0.05``, ``1``)."""
    return Decimal(str(currency.rounding))
