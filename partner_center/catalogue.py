"""Pure catalogue and price logic: no HTTP, no Odoo.

* :func:`merge_catalogues` joins several markets' catalogues into one set of SKUs keyed
  ``ProductId:SkuId``, with the countries where each is purchasable and its catalogue status.
* :func:`sku_kind` tells software subscriptions from perpetual licences.
* :func:`select_prices` picks, per SKU, term, billing plan and currency, the highest cost and
  retail price across the instance's countries.
* :func:`convert_price` carries a price into a currency Microsoft does not price in.
* :func:`price_for_customer` gives one end customer's exact price, or why there is none.
* :func:`localized_text` picks a title or description for a language, English as fallback.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from .errors import MissingRateError
from .pricesheet import PriceRow, select_effective
from .resources import Availability, Product, Sku

SOFTWARE_SUBSCRIPTION = "software_subscription"
PERPETUAL = "perpetual"

STATUS_NEW = "new"
STATUS_AVAILABLE = "available"
STATUS_NO_LONGER_AVAILABLE = "no_longer_available"

REASON_NOT_SOLD_IN_COUNTRY = "not_sold_in_country"
REASON_NOT_PRICED = "not_priced"
REASON_NO_RATE = "no_rate"

DEFAULT_SEGMENT = "commercial"

_SUBSCRIPTION_BILLING = {"annual", "triennial", "monthly"}


# === CATALOGUE MERGE === #


@dataclass(frozen=True)
class MarketSku:
    """One SKU as one market's catalogue shows it: product, SKU and that market's availabilities.

    :param target_view: the ``targetView`` it was listed under (``SoftwareSubscriptions``...)
    """

    product: Product
    sku: Sku
    availabilities: tuple[Availability, ...] = ()
    target_view: str | None = None

    @property
    def code(self) -> str:
        return self.sku.code

    @property
    def is_purchasable(self) -> bool:
        return any(availability.is_purchasable for availability in self.availabilities)


class SkuCoded:
    """The ``ProductId`` and ``SkuId`` of a SKU known by its code ``ProductId:SkuId``."""

    code: str

    @property
    def product_id(self) -> str:
        return self.code.split(":", 1)[0]

    @property
    def sku_id(self) -> str:
        return self.code.split(":", 1)[1]


@dataclass(frozen=True)
class CatalogueEntry(SkuCoded):
    """One SKU of the merged catalogue.

    ``countries`` maps every configured country to whether the SKU is purchasable there.
    """

    code: str
    status: str
    countries: Mapping[str, bool] = field(default_factory=dict)
    kind: str | None = None
    product: Product | None = None
    sku: Sku | None = None
    term_durations: tuple[str, ...] = ()
    billing_cycles: tuple[str, ...] = ()

    @property
    def purchasable_countries(self) -> tuple[str, ...]:
        return tuple(sorted(country for country, sold in self.countries.items() if sold))


def merge_catalogues(
    markets: Mapping[str, Iterable[MarketSku]], previous_codes: Iterable[str] = ()
) -> list[CatalogueEntry]:
    """The superset of the markets' SKUs, with per-country availability and catalogue status.

    A SKU is *new* the first time it is seen purchasable, *available* while purchasable in at
    least one configured country, and *no longer available* once it disappears or stops being
    purchasable in every configured country (previous codes absent from every market included).

    :param markets: country code -> the SKUs of that market's catalogue
    :param previous_codes: the SKU codes known before this sync, whatever their status
    :return: one entry per code, sorted by code
    """
    countries = sorted(country.upper() for country in markets)
    seen: dict[str, list[MarketSku]] = {}
    sold_in: dict[str, dict[str, bool]] = {}
    for country, market_skus in markets.items():
        for market_sku in market_skus:
            seen.setdefault(market_sku.code, []).append(market_sku)
            per_country = sold_in.setdefault(market_sku.code, dict.fromkeys(countries, False))
            if market_sku.is_purchasable:
                per_country[country.upper()] = True
    known = set(previous_codes)
    entries = [_entry(code, views, sold_in[code], code in known) for code, views in seen.items()]
    entries += [
        CatalogueEntry(code, STATUS_NO_LONGER_AVAILABLE, dict.fromkeys(countries, False))
        for code in known - seen.keys()
    ]
    return sorted(entries, key=lambda entry: entry.code)


def _entry(code: str, views: list[MarketSku], sold_in: dict[str, bool], known: bool):
    if not any(sold_in.values()):
        status = STATUS_NO_LONGER_AVAILABLE
    else:
        status = STATUS_AVAILABLE if known else STATUS_NEW
    terms = sorted(
        {term for view in views for avail in view.availabilities for term in avail.term_durations}
    )
    cycles = sorted(
        {cycle for view in views for cycle in view.sku.supported_billing_cycles if cycle}
        | {
            term.billing_cycle
            for view in views
            for avail in view.availabilities
            for term in avail.terms
            if term.billing_cycle
        }
    )
    target_views = [view.target_view for view in views if view.target_view]
    return CatalogueEntry(
        code=code,
        status=status,
        countries=sold_in,
        kind=sku_kind(target_views[0] if target_views else None, terms, cycles),
        product=views[0].product,
        sku=views[0].sku,
        term_durations=tuple(terms),
        billing_cycles=tuple(cycles),
    )


def sku_kind(
    target_view: str | None = None,
    term_durations: Iterable[str | None] = (),
    billing_cycles: Iterable[str | None] = (),
    tags: Iterable[str] = (),
) -> str | None:
    """:data:`SOFTWARE_SUBSCRIPTION`, :data:`PERPETUAL`, or ``None`` when nothing tells.

    The target view decides first, then price-sheet tags (``Software;Perpetual``), then terms
    (a subscription has a ``P1Y``/``P3Y`` term), then billing (perpetual is ``one_time`` only).
    """
    view = (target_view or "").lower()
    if view == "softwaresubscriptions":
        return SOFTWARE_SUBSCRIPTION
    if view == "softwareperpetual":
        return PERPETUAL
    lowered_tags = {tag.strip().lower() for tag in tags}
    if "perpetual" in lowered_tags:
        return PERPETUAL
    if lowered_tags & {"subscription", "subscriptions", "softwaresubscription"}:
        return SOFTWARE_SUBSCRIPTION
    if any(term and term.upper().startswith("P") for term in term_durations):
        return SOFTWARE_SUBSCRIPTION
    cycles = {(cycle or "").lower() for cycle in billing_cycles} - {""}
    if cycles & _SUBSCRIPTION_BILLING:
        return SOFTWARE_SUBSCRIPTION
    if cycles == {"one_time"}:
        return PERPETUAL
    return None


# === PRICES === #


@dataclass(frozen=True)
class SkuPrice:
    """A SKU's price for one term, billing plan and currency.

    ``cost`` is the partner's price (UnitPrice), ``sell`` the estimated retail price (ERP Price);
    each remembers the market it was taken from.
    """

    code: str
    term_duration: str | None
    billing_plan: str | None
    currency: str
    cost: Decimal | None = None
    sell: Decimal | None = None
    cost_market: str | None = None
    sell_market: str | None = None
    rate: Decimal | None = None  # set when converted from another currency
    source_currency: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None, str]:
        return (self.code, self.term_duration, self.billing_plan, self.currency)


def select_prices(
    rows: Iterable[PriceRow],
    countries: Iterable[str],
    *,
    on_date: date | datetime | None = None,
    segment: str | None = DEFAULT_SEGMENT,
) -> dict[tuple, SkuPrice]:
    """For each SKU, term, billing plan and currency: the HIGHEST price across ``countries``.

    Cost and retail price are maximized separately. Tiered rows count with their first tier.

    :param rows: price rows of the countries' sheets (other markets are ignored)
    :param on_date: when given, only the rows in effect that day count
    :param segment: rows of another segment are ignored (rows without segment always count)
    :return: :attr:`SkuPrice.key` -> :class:`SkuPrice`
    """
    return highest_prices(market_prices(rows, countries, on_date=on_date, segment=segment))


def market_prices(
    rows: Iterable[PriceRow],
    countries: Iterable[str],
    *,
    on_date: date | datetime | None = None,
    segment: str | None = DEFAULT_SEGMENT,
) -> list[PriceRow]:
    """The row that prices each market, SKU, term, billing plan and currency of ``countries``.

    Parameters as :func:`select_prices`; rows come in the order their key was first seen.
    """
    wanted = {country.upper() for country in countries}
    return _first_tier_rows(_relevant(rows, wanted, on_date, segment))


def highest_prices(rows: Iterable[PriceRow]) -> dict[tuple, SkuPrice]:
    """The highest cost and retail price of each SKU, term, billing plan and currency.

    :param rows: :func:`market_prices` rows; on a tie, the market seen first keeps the price
    """
    by_key: dict[tuple, list[PriceRow]] = {}
    for row in rows:
        key = (row.code, row.term_duration, row.billing_plan, row.currency)
        by_key.setdefault(key, []).append(row)
    return {key: _highest_price(key, key_rows) for key, key_rows in by_key.items()}


def _highest_price(key: tuple, rows: list[PriceRow]) -> SkuPrice:
    cost = cost_market = sell = sell_market = None
    for row in rows:
        if cost is None or row.unit_price > cost:
            cost, cost_market = row.unit_price, row.market
        if row.erp_price is not None and (sell is None or row.erp_price > sell):
            sell, sell_market = row.erp_price, row.market
    return SkuPrice(*key, cost=cost, sell=sell, cost_market=cost_market, sell_market=sell_market)


def _relevant(rows, markets, on_date, segment) -> Iterable[PriceRow]:
    selected = (
        row
        for row in rows
        if row.market in markets and (segment is None or row.segment in (None, segment))
    )
    return select_effective(selected, on_date) if on_date is not None else selected


def _first_tier_rows(rows: Iterable[PriceRow]) -> list[PriceRow]:
    """Per market/SKU/term/plan/currency, the row of the lowest pricing tier."""
    lowest: dict[tuple, PriceRow] = {}
    for row in rows:
        key = (row.market, row.code, row.term_duration, row.billing_plan, row.currency)
        current = lowest.setdefault(key, row)
        if current is row:
            continue
        tier, current_tier = _tier(row), _tier(current)
        if tier < current_tier:
            lowest[key] = row
        elif tier == current_tier and row.unit_price > current.unit_price:
            lowest[key] = row  # duplicates of one tier: keep the dearest, never undersell
    return list(lowest.values())


def _tier(row: PriceRow) -> Decimal:
    return row.tier_min if row.tier_min is not None else Decimal(0)


Rounding = int | Decimal
"""A currency's rounding: its decimal places (``2``) or its rounding step (``Decimal("0.05")``)."""


def rounding_step(rounding: Rounding) -> Decimal:
    """The smallest amount of a currency: ``2`` -> ``0.01``; a step is kept as it is."""
    if isinstance(rounding, int):
        if rounding < 0:
            raise ValueError("decimals cannot be negative")
        return Decimal(1).scaleb(-rounding)
    step = Decimal(rounding)
    if step <= 0:
        raise ValueError("a rounding step must be positive")
    return step


def round_amount(amount: Decimal, rounding: Rounding) -> Decimal:
    """``amount`` rounded half-up to a multiple of the currency's rounding step, as Odoo rounds
    (``float_round`` with ``res.currency.rounding``): ``1.005`` -> ``1.01`` at ``2`` decimals,
    ``1.07`` -> ``1.05`` at a step of ``0.05``. The result has the step's exponent.

    A snapshot rounds every price of every market: when the step is a power of ten and the
    amount holds no more digits than the decimal context keeps, a single ``quantize`` gives
    what :func:`round_to_step` gives, several times faster.
    """
    amount = Decimal(amount)
    unit = _power_of_ten(rounding)
    if unit is not None and amount == +amount:
        rounded = amount.quantize(unit, rounding=ROUND_HALF_UP)
        # a step written with more digits (Decimal("1.0")) gives its exponent to the result
        return rounded if isinstance(rounding, int) else rounded.quantize(rounding)
    return round_to_step(amount, rounding_step(rounding))


def round_to_step(amount: Decimal, step: Decimal) -> Decimal:
    """``amount`` rounded half-up to a multiple of ``step``, with the step's exponent: the
    definition of :func:`round_amount`, for any positive step."""
    units = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (units * step).quantize(step)


@lru_cache(maxsize=64, typed=True)
def _power_of_ten(rounding: Rounding) -> Decimal | None:
    """The power of ten a rounding's step equals, written with one digit (``1E-2``), else None.

    A function of the step's value only: ``Decimal("0.01")`` and ``Decimal("0.010")`` share it
    (typed: the decimal places ``2`` and the step ``Decimal(2)`` do not).
    """
    if type(rounding) not in (int, Decimal):
        return None
    step = rounding_step(rounding)
    unit = Decimal(1).scaleb(step.adjusted())
    return unit if unit == step else None


def round_price(price: SkuPrice, rounding: Rounding) -> SkuPrice:
    """``price`` with its amounts rounded to its currency: how it is compared and stored."""
    return _with_amounts(
        price,
        None if price.cost is None else round_amount(price.cost, rounding),
        None if price.sell is None else round_amount(price.sell, rounding),
    )


def _with_amounts(price: SkuPrice, cost: Decimal | None, sell: Decimal | None) -> SkuPrice:
    """``price`` with other amounts; ``dataclasses.replace`` walks the fields by name, which
    counts when a snapshot reprices tens of thousands of SKU plans."""
    return SkuPrice(
        price.code,
        price.term_duration,
        price.billing_plan,
        price.currency,
        cost,
        sell,
        price.cost_market,
        price.sell_market,
        price.rate,
        price.source_currency,
    )


def convert_amount(amount: Decimal | None, rate: Decimal, rounding: Rounding) -> Decimal | None:
    """``amount * rate`` rounded to the currency's ``rounding``; ``None`` stays ``None``."""
    if amount is None:
        return None
    return round_amount(Decimal(amount) * rate, rounding)


def convert_price(
    price: SkuPrice, target_currency: str, rates: Mapping[str, Decimal], rounding: Rounding
) -> SkuPrice:
    """``price`` carried into ``target_currency``.

    :param rates: source currency -> units of ``target_currency`` for one unit of it
    :param rounding: the target currency's rounding (decimal places or step)
    :raise MissingRateError: when ``rates`` has no positive rate for the price's currency
    """
    if price.currency == target_currency:
        return round_price(price, rounding)
    rate = rates.get(price.currency)
    if rate is None or Decimal(rate) <= 0:
        raise MissingRateError(price.currency, target_currency)
    rate = Decimal(rate)
    return replace(
        price,
        currency=target_currency,
        cost=convert_amount(price.cost, rate, rounding),
        sell=convert_amount(price.sell, rate, rounding),
        rate=rate,
        source_currency=price.currency,
    )


_MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36}
_BILLING_MONTHS = {"monthly": 1, "annual": 12, "triennial": 36}


@lru_cache(maxsize=64)
def billing_periods(term_duration: str | None, billing_plan: str | None) -> int:
    """How many times a term is billed: ``P3Y`` billed ``annual`` is 3, ``triennial`` is 1.

    One-time purchases and unknown combinations are billed once.
    """
    term_months = _MONTHS.get((term_duration or "").upper())
    billing_months = _BILLING_MONTHS.get((billing_plan or "").lower())
    if not term_months or not billing_months or billing_months >= term_months:
        return 1
    return term_months // billing_months


def per_billing_period(price: SkuPrice, rounding: Rounding) -> SkuPrice:
    """``price`` (Microsoft's price for the whole term) for one billing period, rounded to its
    currency.

    A sale line is in the unit Microsoft bills in (Annual, Triennial): a 3-year term billed
    annually is invoiced three times, each a third of the term's price.
    """
    periods = billing_periods(price.term_duration, price.billing_plan)
    if periods == 1:
        return round_price(price, rounding)
    return _with_amounts(
        price,
        period_amount(price.cost, periods, rounding),
        period_amount(price.sell, periods, rounding),
    )


def period_amount(amount: Decimal | None, periods: int, rounding: Rounding) -> Decimal | None:
    """A term's ``amount`` for one of its ``periods`` billing periods, rounded to the currency."""
    if amount is None:
        return None
    return round_amount(Decimal(amount) / periods, rounding)  # divided: 1/3 is inexact


# === ONE CUSTOMER'S PRICE === #


@dataclass(frozen=True)
class NoPrice:
    """Why a customer cannot be given a price: a ``REASON_*`` code and a sentence."""

    reason: str
    message: str

    def __bool__(self) -> bool:
        return False


def price_for_customer(
    rows: Iterable[PriceRow],
    *,
    code: str,
    term_duration: str | None,
    billing_plan: str | None,
    country: str,
    currency: str,
    purchasable_countries: Collection[str] | None = None,
    rates: Mapping[str, Decimal] | None = None,
    rounding: Rounding = 2,
    on_date: date | datetime | None = None,
    segment: str | None = DEFAULT_SEGMENT,
) -> SkuPrice | NoPrice:
    """The exact price of a SKU for a customer of ``country`` paying in ``currency``.

    The customer's own market sets the price (not the highest across countries). When that
    market does not price in ``currency``, a priced currency is converted with ``rates``.

    :param purchasable_countries: where the SKU is sold; ``None`` skips that check
    :param rates: priced currency -> units of ``currency`` for one unit of it
    :return: the :class:`SkuPrice`, or a :class:`NoPrice` saying why there is none
    """
    country = country.upper()
    if purchasable_countries is not None and country not in {
        sold.upper() for sold in purchasable_countries
    }:
        return NoPrice(REASON_NOT_SOLD_IN_COUNTRY, f"{code} is not sold in {country}.")
    market_prices = [
        price
        for price in select_prices(rows, [country], on_date=on_date, segment=segment).values()
        if price.code == code
        and price.term_duration == term_duration
        and price.billing_plan == billing_plan
    ]
    if not market_prices:
        return NoPrice(
            REASON_NOT_PRICED,
            f"{code} has no price in {country} for term {term_duration or 'none'} and billing "
            f"{billing_plan or 'none'}.",
        )
    by_currency = {price.currency: price for price in market_prices}
    return choose_customer_price(
        by_currency,
        code=code,
        country=country,
        currency=currency,
        rates=rates,
        rounding=rounding,
    )


def choose_customer_price(
    by_currency: Mapping[str, SkuPrice],
    *,
    code: str,
    country: str,
    currency: str,
    rates: Mapping[str, Decimal] | None = None,
    rounding: Rounding = 2,
) -> SkuPrice | NoPrice:
    """The customer's price once its market's prices are known: the one decision of the suite.

    The market's price in ``currency`` when Microsoft prices in it there. Otherwise a price the
    market has in another currency, converted: only currencies Microsoft prices this SKU in, in
    this country, can serve, and among those with a rate the first in alphabetical order of
    their ISO code wins (a documented, stable rule: EUR before GBP before USD).

    :param by_currency: the market's prices (one term and billing plan), by ISO currency code
    :param rates: priced currency -> units of ``currency`` for one unit of it
    :param rounding: ``currency``'s rounding: the price comes rounded to it
    """
    if currency in by_currency:
        return round_price(by_currency[currency], rounding)
    for source in sorted(by_currency):
        if rates and rates.get(source) is not None and Decimal(rates[source]) > 0:
            return convert_price(by_currency[source], currency, rates, rounding)
    priced = ", ".join(sorted(by_currency)) or "no currency"
    return NoPrice(
        REASON_NO_RATE,
        f"{code} is not priced in {currency} in {country} (priced in {priced}) and no conversion "
        f"rate into {currency} is set.",
    )


# === TEXTS === #


def localized_text(texts: Mapping[str, str], lang: str | None, fallback: str = "en") -> str:
    """The text for ``lang`` (``de_DE``, ``de-DE`` or ``de``), else English, else any text.

    :param texts: locale (``en-US``, ``de``...) -> text; empty texts do not count
    """
    by_locale = {_locale_key(locale): text for locale, text in texts.items() if text}
    for wanted in (lang, fallback):
        text = _lookup(by_locale, _locale_key(wanted or ""))
        if text:
            return text
    return by_locale[min(by_locale)] if by_locale else ""


def _locale_key(locale: str) -> str:
    return locale.strip().replace("_", "-").lower()


def _lookup(by_locale: Mapping[str, str], wanted: str) -> str | None:
    if not wanted:
        return None
    if wanted in by_locale:
        return by_locale[wanted]
    language = wanted.split("-", 1)[0]
    if language in by_locale:
        return by_locale[language]
    regional = sorted(locale for locale in by_locale if locale.split("-", 1)[0] == language)
    return by_locale[regional[0]] if regional else None
