"""A catalogue snapshot: all that one "Get Services Definition" needs, fetched and checked first.

A sync writes nothing until the whole snapshot is in hand: every market's products and price
sheet read, every row parsed, every active currency priced (converted where Microsoft does not
price in it). Any error on the way leaves the previous catalogue as it was.

What a market sells comes from two reads per market: its software products (the two target views,
a few paged calls) and its software price sheet (one streamed call). A SKU is sold in a country
when its product is listed there and the country's price sheet has a row in effect for it; the
row also gives the SKU's title, description and term plans. Availabilities are not read here:
their ids change, and the ordering code reads them at purchase time.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import NamedTuple

from .catalogue import (
    PERPETUAL,
    SOFTWARE_SUBSCRIPTION,
    STATUS_AVAILABLE,
    STATUS_NEW,
    STATUS_NO_LONGER_AVAILABLE,
    Rounding,
    SkuCoded,
    SkuPrice,
    billing_periods,
    convert_price,
    highest_prices,
    market_prices,
    per_billing_period,
    period_amount,
    sku_kind,
)
from .errors import MalformedDataError, MissingRateError
from .pricesheet import PriceRow, as_moment, iter_price_rows, select_effective
from .resources import Product, Sku

VIEW_SUBSCRIPTIONS = "SoftwareSubscriptions"
VIEW_PERPETUAL = "SoftwarePerpetual"
VIEWS = (VIEW_SUBSCRIPTIONS, VIEW_PERPETUAL)
ENGLISH = "en"


@dataclass(frozen=True)
class SnapshotSku(SkuCoded):
    """One SKU of the instance's catalogue, as the snapshot sees it."""

    code: str
    status: str
    kind: str | None = None
    title: str = ""
    description: str = ""
    publisher: str | None = None
    countries: frozenset[str] = frozenset()
    plans: frozenset[tuple[str | None, str | None]] = frozenset()  # (term, billing plan)
    localized_title: str | None = None
    localized_description: str | None = None


class CountryPrice(NamedTuple):
    """A SKU's price in one country and currency (the end-customer price comes from these).

    A named tuple, as price rows are: a sync makes one per SKU plan, country and currency.
    """

    code: str
    term_duration: str | None
    billing_plan: str | None
    country: str
    currency: str
    cost: Decimal | None
    sell: Decimal | None


@dataclass
class CatalogueSnapshot:
    """The instance's catalogue and prices at one moment.

    ``prices`` holds, per (code, term, billing plan, currency) of an active currency, the highest
    price over the instance's countries, converted for currencies Microsoft does not price in;
    ``country_prices`` each country's own prices in the active currencies it is priced in.
    Prices are for one billing period, the unit of a sale line: Microsoft's price for a 3-year
    term billed annually is split in three (:func:`~partner_center.catalogue.per_billing_period`).
    """

    skus: dict[str, SnapshotSku] = field(default_factory=dict)
    prices: dict[tuple, SkuPrice] = field(default_factory=dict)
    country_prices: list[CountryPrice] = field(default_factory=list)
    supported_currencies: frozenset[str] = frozenset()
    converted_currencies: dict[str, str] = field(default_factory=dict)  # currency -> from (ISO)
    lang: str | None = None
    # (country, error) of the malformed rows skipped: in currencies the instance does not price
    skipped_rows: list[tuple[str, MalformedDataError]] = field(default_factory=list)
    # What was read from Microsoft, byte for byte (see fetch_snapshot): equal digests, same data
    sources_digest: str | None = None
    # The first instant after the snapshot's at which a price row starts or ends: until then the
    # same rows are in effect (None: no row starts or ends later)
    changes_after: datetime | None = None


# === FETCH === #


def fetch_snapshot(
    client,
    *,
    countries: Sequence[str],
    currencies: Sequence[str],
    rates: Mapping[str, Mapping[str, Decimal]] | None = None,
    roundings: Mapping[str, Rounding] | None = None,
    previous: Mapping[str, str] | None = None,
    lang: str | None = None,
    on_date: date | datetime | None = None,
    unless_sources: str | None = None,
) -> CatalogueSnapshot | None:
    """Read the markets of ``countries`` through ``client`` and build the snapshot.

    The snapshot's ``sources_digest`` is a digest of everything read from Microsoft: product
    listings and price sheets, byte for byte. Given an earlier one as ``unless_sources``, the
    price sheets are downloaded whole and, when the digest comes out the same, ``None`` is
    returned without parsing them: Microsoft serves what it served then. Whether the caller's own
    inputs (currencies, rates, the moment, see ``changes_after``) are the same is the caller's to
    tell.

    :param client: a :class:`partner_center.client.PartnerCenterClient`
    :param rates: currency Microsoft does not price in -> {Microsoft currency: rate}
    :param roundings: currency -> its rounding (decimal places or step; default 2 places): every
        price is rounded to it once, before it is compared or stored
    :param previous: the SKU codes known before, with their catalogue status
    :param lang: the catalogue language (``de_DE``); English needs no extra read
    :param unless_sources: the ``sources_digest`` of an earlier snapshot
    """
    with collector_paused():
        return _fetch_snapshot(
            client, countries, currencies, rates, roundings, previous, lang, on_date, unless_sources
        )


@contextmanager
def collector_paused():
    """No cyclic garbage collection for the time of the block.

    Reading a catalogue makes a few hundred thousand objects, without reference cycles, that all
    live until the snapshot is built: each full collection meanwhile walks every object of the
    process (an Odoo server has millions) and frees nothing. Collection resumes after the block.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fetch_snapshot(
    client, countries, currencies, rates, roundings, previous, lang, on_date, unless_sources
):
    countries = [country.upper() for country in countries]
    catalogues = {
        country: {view: client.products(country, view) for view in VIEWS} for country in countries
    }
    localized, localized_skus = _fetch_localized(client, catalogues, lang)
    # the listings as read (frozen dataclasses, whose repr is their content), then each sheet
    digest = hashlib.sha256(repr((catalogues, localized, localized_skus)).encode())
    needed = set(currencies) | {base for bases in (rates or {}).values() for base in bases}
    seen: set[str] = set()
    rows, skipped = [], []
    with ExitStack() as downloads:
        if unless_sources:
            sheets = [
                downloads.enter_context(
                    closing(client.download_price_sheet(country, digest=digest))
                )
                for country in countries
            ]
            if digest.hexdigest() == unless_sources:
                return None
            lines = (_lines_then_closed(sheet) for sheet in sheets)
        else:  # streamed, parsed as they come: nothing to compare with
            lines = (client.price_sheet_lines(country, digest=digest) for country in countries)
        for country, sheet_lines in zip(countries, lines, strict=True):
            malformed: list[MalformedDataError] = []
            sheet = iter_price_rows(
                sheet_lines, priced_currencies=needed, seen_currencies=seen, skipped=malformed
            )
            rows += _market_rows(sheet, country, needed)
            skipped += [(country, error) for error in malformed]
    snapshot = build_snapshot(
        catalogues=catalogues,
        rows=rows,
        currencies=currencies,
        rates=rates,
        roundings=roundings,
        previous=previous,
        lang=lang,
        localized=localized,
        localized_skus=localized_skus,
        on_date=on_date,
        seen_currencies=seen,
    )
    snapshot.skipped_rows = skipped
    snapshot.sources_digest = digest.hexdigest()
    return snapshot


def _lines_then_closed(sheet):
    """A downloaded sheet's lines; its file is closed once they are read."""
    try:
        yield from sheet.lines()
    finally:
        sheet.close()


def _market_rows(sheet, country, needed) -> list[PriceRow]:
    """The rows of one market's sheet worth keeping in memory.

    Rows in the currencies the instance needs are all kept. Of the others, one per SKU, plan and
    validity period is enough: they only tell that the SKU is sold in that market. The sheet
    passes most of those over already; rows that differ only in how their cells are written
    are left to this.
    """
    kept, presence = [], set()
    for row in sheet:
        if row.market != country:
            continue
        if row.currency in needed:
            kept.append(row)
            continue
        key = (
            row.code,
            row.term_duration,
            row.billing_plan,
            row.segment,
            row.effective_start,
            row.effective_end,
        )
        if key not in presence:
            presence.add(key)
            kept.append(row)
    return kept


def _fetch_localized(client, catalogues, lang):
    """Products and SKUs of the language's country that Microsoft translates.

    Only the products whose translated listing differs from the English one get their SKUs read
    again in that language: the cost of a translated catalogue stays with what is translated.
    """
    lang_country = _lang_country(lang)
    if lang_country not in catalogues:
        return {}, {}
    locale = lang.replace("_", "-")
    english = {
        product.id: product
        for products in catalogues[lang_country].values()
        for product in products
    }
    localized, localized_skus = {}, {}
    for view in VIEWS:
        for product in client.products(lang_country, view, locale=locale):
            original = english.get(product.id)
            if original and (product.title, product.description) != (
                original.title,
                original.description,
            ):
                localized[product.id] = product
    for product_id in sorted(localized):
        for sku in client.skus(product_id, lang_country, locale=locale):
            localized_skus[sku.code] = sku
    return localized, localized_skus


def _lang_country(lang: str | None) -> str | None:
    """The country of a catalogue language (``de_DE`` -> ``DE``); ``None`` for English."""
    if not lang or lang.lower().startswith(ENGLISH):
        return None
    parts = lang.replace("-", "_").split("_")
    return parts[1].upper() if len(parts) > 1 else None


# === BUILD (pure) === #


def build_snapshot(
    *,
    catalogues: Mapping[str, Mapping[str, Iterable[Product]]],
    rows: Iterable[PriceRow],
    currencies: Sequence[str],
    rates: Mapping[str, Mapping[str, Decimal]] | None = None,
    roundings: Mapping[str, Rounding] | None = None,
    previous: Mapping[str, str] | None = None,
    lang: str | None = None,
    localized: Mapping[str, Product] | None = None,
    localized_skus: Mapping[str, Sku] | None = None,
    on_date: date | datetime | None = None,
    seen_currencies: Iterable[str] | None = None,
) -> CatalogueSnapshot:
    """The snapshot of already-read markets.

    :param catalogues: country -> target view -> the products listed there
    :param rows: price-sheet rows of those countries (other markets are ignored)
    :param localized: product id -> the product in the catalogue language, where translated
    :param localized_skus: SKU code -> the SKU in the catalogue language, where translated
    :param seen_currencies: every currency the sheets priced in (default: those of ``rows``)
    :raise MissingRateError: an active currency Microsoft does not price in has no rate
    """
    countries = sorted(country.upper() for country in catalogues)
    on_date = on_date or date.today()
    market_rows = [row for row in rows if row.market in countries]
    if seen_currencies is None:
        seen_currencies = {row.currency for row in market_rows}
    effective = select_effective(market_rows, on_date)
    changes_after = _changes_after(market_rows, as_moment(on_date))
    listed = _listed_products(catalogues)
    effective = [row for row in effective if (row.market, row.product_id) in listed]
    snapshot = CatalogueSnapshot(lang=lang, changes_after=changes_after)
    texts = _Translations(localized or {}, localized_skus or {}, _lang_country(lang))
    snapshot.skus = _skus(effective, listed, previous or {}, texts)
    snapshot.supported_currencies = frozenset(seen_currencies)
    # Only the currencies asked for, and those they are converted from, are priced: the rows of
    # the others only tell where a SKU is sold.
    bases = {base for currency_rates in (rates or {}).values() for base in currency_rates}
    priced = [row for row in effective if row.currency in currencies or row.currency in bases]
    pricing_rows = market_prices(priced, countries)
    snapshot.prices = _prices(
        highest_prices(pricing_rows), currencies, rates or {}, roundings or {}, snapshot
    )
    snapshot.country_prices = _country_prices(
        [row for row in pricing_rows if row.currency in currencies], countries, roundings or {}
    )
    return snapshot


def _changes_after(rows, moment: datetime) -> datetime | None:
    """The first instant after ``moment`` from which other rows may be in effect.

    A row counts from its start and up to its end, both inclusive (``PriceRow.covers``): a
    start after ``moment`` changes the rows in effect at that start, an end at or after
    ``moment`` just after it (the end itself is given: early by an instant, never late).
    """
    starts = (row.effective_start for row in rows if row.effective_start)
    ends = (row.effective_end for row in rows if row.effective_end)
    later = chain((start for start in starts if start > moment), (e for e in ends if e >= moment))
    return min(later, default=None)


def _listed_products(catalogues) -> dict[tuple[str, str], str]:
    """(country, product id) -> the target view it is listed under."""
    listed = {}
    for country, views in catalogues.items():
        for view, products in views.items():
            for product in products:
                listed.setdefault((country.upper(), product.id), view)
    return listed


@dataclass(frozen=True)
class _Translations:
    products: Mapping[str, Product]
    skus: Mapping[str, Sku]
    country: str | None

    def texts(self, code: str, product_id: str, countries) -> tuple[str | None, str | None]:
        """Translated title and description; none for SKUs not sold in the language's country."""
        if self.country not in countries:
            return None, None
        sku, product = self.skus.get(code), self.products.get(product_id)
        title = sku.title if sku and sku.title else None
        description = (sku.description if sku and sku.description else None) or (
            product.description if product and product.description else None
        )
        return title, description


def _skus(rows, listed, previous, texts: _Translations) -> dict[str, SnapshotSku]:
    by_code: dict[str, list[PriceRow]] = {}
    for row in rows:
        by_code.setdefault(row.code, []).append(row)
    skus = {}
    for code, code_rows in by_code.items():
        first = min(code_rows, key=lambda row: (row.market != "US", row.market))
        countries = frozenset(row.market for row in code_rows)
        views = {listed[(row.market, row.product_id)] for row in code_rows}
        localized_title, localized_description = texts.texts(code, first.product_id, countries)
        skus[code] = SnapshotSku(
            code=code,
            status=STATUS_AVAILABLE if code in previous else STATUS_NEW,
            kind=_kind(views, code_rows),
            title=first.sku_title or first.product_title or code,
            description=first.sku_description or "",
            publisher=first.publisher,
            countries=countries,
            plans=frozenset((row.term_duration, row.billing_plan) for row in code_rows),
            localized_title=localized_title,
            localized_description=localized_description,
        )
    for code in previous.keys() - skus.keys():
        skus[code] = SnapshotSku(code=code, status=STATUS_NO_LONGER_AVAILABLE)
    return skus


def _kind(views: set[str], rows: list[PriceRow]) -> str | None:
    if VIEW_SUBSCRIPTIONS in views:
        return SOFTWARE_SUBSCRIPTION
    if VIEW_PERPETUAL in views:
        return PERPETUAL
    return sku_kind(
        None,
        [row.term_duration for row in rows],
        [row.billing_plan for row in rows],
        [tag for row in rows for tag in row.tags],
    )


def _prices(term_prices, currencies, rates, roundings, snapshot) -> dict[tuple, SkuPrice]:
    """The default price of each SKU plan in each active currency.

    A currency Microsoft does not price in is converted, per SKU plan, from the first currency in
    alphabetical order of ISO code that has a rate and in which Microsoft prices that SKU plan:
    the rule of the customer's price (:func:`~partner_center.catalogue.choose_customer_price`).
    """
    highest = {
        key: per_billing_period(price, roundings.get(key[3], 2))
        for key, price in term_prices.items()
    }
    prices = {key: price for key, price in highest.items() if price.currency in currencies}
    for currency in currencies:
        currency_rates = rates.get(currency) or {}
        usable = sorted(base for base in currency_rates if base in snapshot.supported_currencies)
        if currency not in snapshot.supported_currencies and not usable:
            # a rate from a currency Microsoft prices nothing in would leave the pricelist empty
            raise MissingRateError("a currency Microsoft prices in", currency)
        if not usable:
            continue
        rounding, used = roundings.get(currency, 2), set()
        plans = {key[:3] for key in highest}
        for plan in plans:
            if (*plan, currency) in prices:
                continue
            base = next((base for base in usable if (*plan, base) in highest), None)
            if base:
                prices[(*plan, currency)] = convert_price(
                    highest[(*plan, base)],
                    currency,
                    {base: Decimal(currency_rates[base])},
                    rounding,
                )
                used.add(base)
        if used:
            snapshot.converted_currencies[currency] = ", ".join(sorted(used))
    return prices


def _country_prices(rows, countries, roundings) -> list[CountryPrice]:
    """Each country's prices, from the rows that price its market (one per SKU, plan, currency)."""
    by_market: dict[str, list[PriceRow]] = {country: [] for country in countries}
    for row in rows:
        by_market[row.market].append(row)
    result = []
    for country, market_rows in by_market.items():
        for row in market_rows:
            periods = billing_periods(row.term_duration, row.billing_plan)
            rounding = roundings.get(row.currency, 2)
            result.append(
                CountryPrice(
                    row.code,
                    row.term_duration,
                    row.billing_plan,
                    country,
                    row.currency,
                    period_amount(row.unit_price, periods, rounding),
                    period_amount(row.erp_price, periods, rounding),
                )
            )
    return result
