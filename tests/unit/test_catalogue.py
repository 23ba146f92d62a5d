"""Pure catalogue logic: market merge, SKU kind, price selection, conversion, texts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from partner_center.catalogue import (
    PERPETUAL,
    REASON_NO_RATE,
    REASON_NOT_PRICED,
    REASON_NOT_SOLD_IN_COUNTRY,
    SOFTWARE_SUBSCRIPTION,
    STATUS_AVAILABLE,
    STATUS_NEW,
    STATUS_NO_LONGER_AVAILABLE,
    MarketSku,
    NoPrice,
    SkuPrice,
    convert_amount,
    convert_price,
    localized_text,
    merge_catalogues,
    price_for_customer,
    round_amount,
    select_prices,
    sku_kind,
)
from partner_center.errors import MissingRateError
from partner_center.resources import Availability, Product, Sku, Term

from .common import price_row


def market_sku(
    product_id="DG7GMGF0D5SL",
    sku_id="0001",
    country="US",
    purchasable=True,
    terms=("P1Y",),
    cycles=("annual",),
    view=None,
):
    product = Product(id=product_id, title=f"Product {product_id}")
    sku = Sku(
        id=sku_id,
        product_id=product_id,
        title=f"SKU {sku_id}",
        supported_billing_cycles=tuple(cycles),
    )
    availability = Availability(
        id="DG7GMGF0AAAA",
        product_id=product_id,
        sku_id=sku_id,
        catalog_item_id=f"{product_id}:{sku_id}:DG7GMGF0AAAA",
        country=country,
        is_purchasable=purchasable,
        terms=tuple(Term(duration=term) for term in terms),
    )
    return MarketSku(product, sku, (availability,), target_view=view)


def by_code(entries):
    return {entry.code: entry for entry in entries}


# === MERGE === #


def test_merge_builds_the_superset_with_per_country_availability():
    entries = by_code(
        merge_catalogues(
            {
                "US": [market_sku(sku_id="0001"), market_sku(sku_id="0002", purchasable=False)],
                "DE": [market_sku(sku_id="0002", country="DE"), market_sku(sku_id="0003")],
            }
        )
    )
    assert sorted(entries) == ["DG7GMGF0D5SL:0001", "DG7GMGF0D5SL:0002", "DG7GMGF0D5SL:0003"]
    assert entries["DG7GMGF0D5SL:0001"].countries == {"DE": False, "US": True}
    assert entries["DG7GMGF0D5SL:0002"].purchasable_countries == ("DE",)
    assert all(entry.status == STATUS_NEW for entry in entries.values())


def test_merge_status_against_previous_codes():
    previous = {"DG7GMGF0D5SL:0001", "DG7GMGF0D5SL:0002", "DG7GMGF0D5SL:0009"}
    entries = by_code(
        merge_catalogues(
            {
                "US": [market_sku(sku_id="0001"), market_sku(sku_id="0002", purchasable=False)],
                "DE": [market_sku(sku_id="0003", country="DE")],
            },
            previous,
        )
    )
    assert entries["DG7GMGF0D5SL:0001"].status == STATUS_AVAILABLE
    assert entries["DG7GMGF0D5SL:0002"].status == STATUS_NO_LONGER_AVAILABLE  # not purchasable
    assert entries["DG7GMGF0D5SL:0003"].status == STATUS_NEW
    gone = entries["DG7GMGF0D5SL:0009"]  # disappeared from every market
    assert gone.status == STATUS_NO_LONGER_AVAILABLE
    assert gone.countries == {"DE": False, "US": False}


def test_sku_purchasable_in_one_country_only_stays_available():
    entries = by_code(
        merge_catalogues(
            {"US": [market_sku(purchasable=False)], "GB": [market_sku(country="GB")]},
            ["DG7GMGF0D5SL:0001"],
        )
    )
    assert entries["DG7GMGF0D5SL:0001"].status == STATUS_AVAILABLE


def test_merge_collects_terms_and_kind():
    (entry,) = merge_catalogues(
        {"US": [market_sku(terms=("P1Y", "P3Y"), cycles=("annual", "triennial"))]}
    )
    assert entry.term_durations == ("P1Y", "P3Y")
    assert entry.billing_cycles == ("annual", "triennial")
    assert entry.kind == SOFTWARE_SUBSCRIPTION
    assert (entry.product_id, entry.sku_id) == ("DG7GMGF0D5SL", "0001")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"target_view": "SoftwareSubscriptions"}, SOFTWARE_SUBSCRIPTION),
        ({"target_view": "SoftwarePerpetual", "term_durations": ["P1Y"]}, PERPETUAL),
        ({"target_view": "Software", "tags": ["Software", "Perpetual"]}, PERPETUAL),
        ({"term_durations": ["P3Y"]}, SOFTWARE_SUBSCRIPTION),
        ({"term_durations": [None], "billing_cycles": ["one_time"]}, PERPETUAL),
        ({"billing_cycles": ["annual"]}, SOFTWARE_SUBSCRIPTION),
        ({}, None),
    ],
)
def test_sku_kind(kwargs, expected):
    assert sku_kind(**kwargs) == expected


# === PRICE SELECTION === #


def test_highest_price_across_the_instance_countries():
    rows = [
        price_row(market="DE", currency="EUR", price="100", erp="130"),
        price_row(market="FR", currency="EUR", price="105", erp="125"),
        price_row(market="IT", currency="EUR", price="999", erp="999"),  # not configured
    ]
    prices = select_prices(rows, ["DE", "FR"])
    price = prices[("DG7GMGF0D5SL:0007", "P1Y", "annual", "EUR")]
    assert (price.cost, price.cost_market) == (Decimal("105"), "FR")
    assert (price.sell, price.sell_market) == (Decimal("130"), "DE")


def test_prices_are_kept_per_term_billing_and_currency():
    rows = [
        price_row(term="P1Y", billing="Annual", price="100"),
        price_row(term="P3Y", billing="Annual", price="300"),
        price_row(term="P3Y", billing="Triennial", price="290"),
        price_row(market="GB", currency="GBP", price="80"),
        price_row(market="GB", currency="EUR", price="95"),
    ]
    prices = select_prices(rows, ["US", "GB"])
    assert len(prices) == 5
    assert prices[("DG7GMGF0D5SL:0007", "P3Y", "triennial", "USD")].cost == Decimal("290")


def test_price_selection_uses_rows_effective_on_the_date():
    rows = [
        price_row(price="100", start="2/1/2024 12:00:00 AM", end="2/29/2024 11:59:59 PM"),
        price_row(price="120", start="3/1/2024 12:00:00 AM", end="11/30/9999 11:59:59 PM"),
    ]
    from datetime import date

    (price,) = select_prices(rows, ["US"], on_date=date(2024, 2, 10)).values()
    assert price.cost == Decimal("100")


def test_price_selection_ignores_other_segments_and_higher_tiers():
    rows = [
        price_row(price="100"),
        price_row(price="10", segment="Education"),
        price_row(price="90", tier_min="0", tier_max="10"),
        price_row(price="80", tier_min="11"),
    ]
    (price,) = select_prices(rows, ["US"]).values()
    assert price.cost == Decimal("100")


def test_missing_erp_price_leaves_sell_empty():
    (price,) = select_prices([price_row(erp="")], ["US"]).values()
    assert price.sell is None and price.cost == Decimal("100")


# === CONVERSION === #


def test_round_amount_half_up_to_the_currency_decimals():
    assert round_amount(Decimal("1.005"), 2) == Decimal("1.01")
    assert round_amount(Decimal("1234.5"), 0) == Decimal("1235")
    assert round_amount(Decimal("1.2345"), 3) == Decimal("1.235")
    with pytest.raises(ValueError):
        round_amount(Decimal(1), -1)


def test_convert_price_into_an_unsupported_currency():
    price = SkuPrice("P:S", "P1Y", "annual", "EUR", cost=Decimal("100"), sell=Decimal("125.55"))
    converted = convert_price(price, "PLN", {"EUR": Decimal("4.3217")}, rounding=2)
    assert converted.currency == "PLN"
    assert converted.cost == Decimal("432.17")
    assert converted.sell == Decimal("542.59")
    assert (converted.rate, converted.source_currency) == (Decimal("4.3217"), "EUR")


def test_convert_amount_keeps_missing_amounts():
    assert convert_amount(None, Decimal(2), 2) is None


def test_missing_rate_names_the_currency():
    price = SkuPrice("P:S", "P1Y", "annual", "EUR", cost=Decimal("100"))
    with pytest.raises(MissingRateError) as caught:
        convert_price(price, "PLN", {"USD": Decimal("4")}, rounding=2)
    assert caught.value.currency == "EUR"
    assert "EUR" in str(caught.value) and "PLN" in str(caught.value)


def test_zero_rate_is_refused_not_used():
    price = SkuPrice("P:S", "P1Y", "annual", "EUR", cost=Decimal("100"))
    with pytest.raises(MissingRateError):
        convert_price(price, "PLN", {"EUR": Decimal(0)}, rounding=2)


# === ONE CUSTOMER === #

CUSTOMER_ROWS = [
    price_row(market="US", currency="USD", price="100", erp="130"),
    price_row(market="DE", currency="EUR", price="92", erp="119"),
    price_row(market="DE", currency="CHF", price="88", erp="114"),
    price_row(market="GB", currency="GBP", price="79", erp="101"),
]


def customer_price(**kwargs):
    defaults = {"code": "DG7GMGF0D5SL:0007", "term_duration": "P1Y", "billing_plan": "annual"}
    return price_for_customer(CUSTOMER_ROWS, **{**defaults, **kwargs})


def test_customer_gets_their_own_market_price():
    price = customer_price(country="DE", currency="EUR", purchasable_countries=["DE", "US"])
    assert (price.cost, price.sell, price.cost_market) == (Decimal("92"), Decimal("119"), "DE")


def test_converted_customer_price_comes_from_the_first_priced_currency_with_a_rate():
    # DE is priced in CHF and EUR: both have a rate into ILS, CHF comes first.
    rates = {"CHF": Decimal("4.1"), "EUR": Decimal("3.9"), "USD": Decimal("3.7")}
    price = customer_price(country="DE", currency="ILS", rates=rates)
    assert (price.source_currency, price.sell) == ("CHF", Decimal("467.40"))
    # A rate from a currency the market does not price in never serves.
    result = customer_price(country="GB", currency="ILS", rates={"USD": Decimal("3.7")})
    assert isinstance(result, NoPrice) and result.reason == REASON_NO_RATE


def test_customer_price_when_not_sold_in_the_country():
    result = customer_price(country="FR", currency="EUR", purchasable_countries=["DE"])
    assert isinstance(result, NoPrice) and not result
    assert result.reason == REASON_NOT_SOLD_IN_COUNTRY


def test_customer_price_when_the_market_has_no_price():
    result = customer_price(country="FR", currency="EUR")
    assert result.reason == REASON_NOT_PRICED
    result = customer_price(country="US", currency="USD", term_duration="P3Y")
    assert result.reason == REASON_NOT_PRICED


def test_customer_price_converted_when_currency_not_priced_there():
    price = customer_price(country="DE", currency="PLN", rates={"EUR": Decimal("4.3")}, rounding=2)
    assert (price.currency, price.cost, price.source_currency) == ("PLN", Decimal("395.60"), "EUR")


def test_customer_price_without_a_rate_says_why():
    result = customer_price(country="DE", currency="PLN", rates={"USD": Decimal("4")})
    assert result.reason == REASON_NO_RATE
    assert "PLN" in result.message and "CHF, EUR" in result.message


# === TEXTS === #

TEXTS = {"en-US": "Licence", "de-DE": "Lizenz", "fr": "Licence FR", "el-GR": ""}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("de_DE", "Lizenz"),
        ("de-DE", "Lizenz"),
        ("de_AT", "Lizenz"),
        ("fr_BE", "Licence FR"),
        ("el_GR", "Licence"),  # empty translation: English
        ("he_IL", "Licence"),
        (None, "Licence"),
    ],
)
def test_localized_text(lang, expected):
    assert localized_text(TEXTS, lang) == expected


def test_localized_text_without_english_uses_any_text():
    assert localized_text({"de-DE": "Lizenz"}, "fr_FR") == "Lizenz"
    assert localized_text({}, "fr_FR") == ""


def test_billing_periods_of_a_term():
    from partner_center.catalogue import billing_periods

    assert billing_periods("P1Y", "annual") == 1
    assert billing_periods("P3Y", "annual") == 3
    assert billing_periods("P3Y", "triennial") == 1
    assert billing_periods("P1Y", "monthly") == 12
    assert billing_periods(None, "one_time") == 1


def test_price_per_billing_period_splits_the_term_price():
    from decimal import Decimal

    from partner_center.catalogue import SkuPrice, per_billing_period

    term_price = SkuPrice(
        "P:S", "P3Y", "annual", "USD", cost=Decimal("432.53"), sell=Decimal("500")
    )
    yearly = per_billing_period(term_price, 2)
    assert (yearly.cost, yearly.sell) == (Decimal("144.18"), Decimal("166.67"))
    triennial = SkuPrice("P:S", "P3Y", "triennial", "USD", cost=Decimal("432.53"))
    assert per_billing_period(triennial, 2) == triennial
