from odoo import api, fields, models
from odoo.exceptions import ValidationError


class MsCspConversionRate(models.Model):
    """Rate of a currency Microsoft does not price in, against one it does.

    Prices in ``currency_id`` = Microsoft's price in ``base_currency_id`` × ``rate``.
    """

    _name = "ms.csp.conversion.rate"
    _description = "Microsoft Currency Conversion Rate"
    _inherit = ["mail.thread"]
    _order = "currency_id, date desc, id desc"
    _rec_name = "currency_id"

    currency_id = fields.Many2one(
        "res.currency",
        string="Currency",
        required=True,
        tracking=True,
        help="The currency Microsoft does not price in.",
    )
    base_currency_id = fields.Many2one(
        "res.currency",
        string="Microsoft currency",
        required=True,
        tracking=True,
        help="The currency Microsoft prices in that the rate converts from. Only a currency "
        "Microsoft prices the SKU in, in the customer's country, can serve; when several with a "
        "rate can, the first in alphabetical order of ISO code wins (EUR before GBP before "
        "USD).",
    )
    rate = fields.Float(
        required=True,
        digits=(12, 6),
        tracking=True,
        help="Units of the currency for one unit of the Microsoft currency.",
    )
    date = fields.Date(
        string="Effective from", required=True, default=fields.Date.context_today, tracking=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )

    _sql_constraints = [
        ("rate_positive", "CHECK(rate > 0)", "A conversion rate must be positive."),
        (
            "rate_unique",
            "unique(currency_id, base_currency_id, date, company_id)",
            "There is already a rate for these currencies on that date.",
        ),
    ]

    @api.constrains("currency_id", "base_currency_id")
    def _check_currencies(self):
        for rate in self:
            if rate.currency_id == rate.base_currency_id:
                raise ValidationError(self.env._("A currency cannot be converted from itself."))

    @api.model
    def _ms_rates_for(self, currency, company, on_date):
        """Rates into ``currency`` in effect on ``on_date``: {base currency name: Decimal rate}."""
        rates = self.search(
            [
                ("currency_id", "=", currency.id),
                ("date", "<=", on_date),
                ("company_id", "in", company.parent_ids.ids),
            ]
        )
        result = {}
        for rate in rates:  # newest first: the first seen per base currency is in effect
            result.setdefault(rate.base_currency_id.name, rate.rate)
        return result
