"""The catalogue snapshot: superset, statuses, highest prices, conversion, translations."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from partner_center import snapshot
from partner_center.errors import MalformedDataError, MissingRateError, TransientError
from partner_center.pricesheet import iter_price_rows
from partner_center.resources import Product, Sku
from partner_center.snapshot import (
    VIEW_PERPETUAL,
    VIEW_SUBSCRIPTIONS,
    build_snapshot,
    fetch_snapshot,
)

from .common import price_row, sheet_lines, software_row

SUB, PERP = "DG7GMGF0AAAA", "DG7GMGF0BBBB"
ON = date(2025, 6, 15)


def catalogues(**listed):
    """country -> {view: products}: ``US=(SUB,)`` lists SUB as a subscription in the US."""
    return {
        country: {
            VIEW_SUBSCRIPTIONS: [Product(id=pid, title="T") for pid in pids if pid != PERP],
            VIEW_PERPETUAL: [Product(id=pid, title="T") for pid in pids if pid == PERP],
        }
        for country, pids in listed.items()
    }


def row(product_id=SUB, market="US", currency="USD", price="100", erp="120", **kw):
    return price_row(
        product_id=product_id,
        sku_id="0001",
        market=market,
        currency=currency,
        price=price,
        erp=erp,
        **kw,
    )


def test_superset_of_the_countries_with_where_each_sku_is_sold():
    snapshot = build_snapshot(
        catalogues=catalogues(US=(SUB,), DE=(SUB, PERP)),
        rows=[
            row(),
            row(market="DE", currency="EUR"),
            row(PERP, market="DE", currency="EUR", term="OneTime", billing="", tags="Perpetual"),
        ],
        currencies=["USD", "EUR"],
        on_date=ON,
    )
    assert set(snapshot.skus) == {f"{SUB}:0001", f"{PERP}:0001"}
    assert snapshot.skus[f"{SUB}:0001"].countries == {"US", "DE"}
    assert snapshot.skus[f"{SUB}:0001"].kind == "software_subscription"
    assert snapshot.skus[f"{PERP}:0001"].kind == "perpetual"
    assert snapshot.skus[f"{PERP}:0001"].plans == {(None, "one_time")}


def test_rows_of_unlisted_products_and_other_markets_are_ignored():
    snapshot = build_snapshot(
        catalogues=catalogues(US=(SUB,)),
        rows=[row(PERP), row(market="FR", currency="EUR")],
        currencies=["USD"],
        on_date=ON,
    )
    assert snapshot.skus == {}


def test_statuses_new_available_and_no_longer_available():
    previous = {f"{SUB}:0001": "new", "DG7GMGF0GONE:0001": "available"}
    snapshot = build_snapshot(
        catalogues=catalogues(US=(SUB, PERP)),
        rows=[row(), row(PERP, term="OneTime", billing="")],
        currencies=["USD"],
        previous=previous,
        on_date=ON,
    )
    assert snapshot.skus[f"{SUB}:0001"].status == "available"
    assert snapshot.skus[f"{PERP}:0001"].status == "new"
    assert snapshot.skus["DG7GMGF0GONE:0001"].status == "no_longer_available"


def test_a_sku_whose_price_row_ended_is_no_longer_sold():
    ended = row(start="1/1/2024 12:00:00 AM", end="5/31/2025 11:59:59 PM")
    snapshot = build_snapshot(
        catalogues=catalogues(US=(SUB,)),
        rows=[ended],
        currencies=["USD"],
        previous={f"{SUB}:0001": "available"},
        on_date=ON,
    )
    assert snapshot.skus[f"{SUB}:0001"].status == "no_longer_available"


def test_default_price_is_the_highest_over_countries_and_country_prices_are_kept():
    rows = [
        row(market="DE", currency="EUR", price="90", erp="110"),
        row(market="FR", currency="EUR", price="95", erp="105"),
    ]
    snapshot = build_snapshot(
        catalogues=catalogues(DE=(SUB,), FR=(SUB,)), rows=rows, currencies=["EUR"], on_date=ON
    )
    price = snapshot.prices[(f"{SUB}:0001", "P1Y", "annual", "EUR")]
    assert (price.cost, price.sell) == (Decimal("95"), Decimal("110"))
    by_country = {p.country: (p.cost, p.sell) for p in snapshot.country_prices}
    assert by_country == {
        "DE": (Decimal("90"), Decimal("110")),
        "FR": (Decimal("95"), Decimal("105")),
    }


def test_unsupported_currency_is_converted_with_its_rate():
    snapshot = build_snapshot(
        catalogues=catalogues(US=(SUB,)),
        rows=[row(price="100.10")],
        currencies=["USD", "ILS"],
        rates={"ILS": {"USD": Decimal("3.7")}},
        roundings={"ILS": 2},
        on_date=ON,
    )
    converted = snapshot.prices[(f"{SUB}:0001", "P1Y", "annual", "ILS")]
    assert converted.cost == Decimal("370.37")
    assert converted.source_currency == "USD"
    assert snapshot.converted_currencies == {"ILS": "USD"}


def test_each_sku_is_converted_from_the_first_currency_it_is_priced_in():
    rates = {"ILS": {"USD": Decimal("3.7"), "EUR": Decimal("4")}}
    snapshot = build_snapshot(
        catalogues=catalogues(US=(SUB, PERP), DE=(SUB,)),
        rows=[
            row(price="100"),
            row(market="DE", currency="EUR", price="90"),
            row(PERP, price="50", term="OneTime", billing="", tags="Perpetual"),
        ],
        currencies=["ILS"],
        rates=rates,
        on_date=ON,
    )
    both = snapshot.prices[(f"{SUB}:0001", "P1Y", "annual", "ILS")]
    assert (both.source_currency, both.cost) == ("EUR", Decimal("360.00"))  # EUR before USD
    usd_only = snapshot.prices[(f"{PERP}:0001", None, "one_time", "ILS")]
    assert (usd_only.source_currency, usd_only.cost) == ("USD", Decimal("185.00"))
    assert snapshot.converted_currencies == {"ILS": "EUR, USD"}


def test_a_rate_from_a_currency_microsoft_prices_nothing_in_stops_the_snapshot():
    with pytest.raises(MissingRateError) as caught:
        build_snapshot(
            catalogues=catalogues(US=(SUB,)),
            rows=[row()],
            currencies=["ILS"],
            rates={"ILS": {"JPY": Decimal("0.024")}},
            on_date=ON,
        )
    assert "ILS" in str(caught.value)


def test_unsupported_currency_without_rate_stops_the_snapshot():
    with pytest.raises(MissingRateError) as raised:
        build_snapshot(
            catalogues=catalogues(US=(SUB,)), rows=[row()], currencies=["USD", "ILS"], on_date=ON
        )
    assert raised.value.target == "ILS"


def test_translations_only_for_skus_sold_in_the_language_country():
    german = Sku(id="0001", product_id=SUB, title="Deutscher Titel", description="Beschreibung")
    common = {
        "catalogues": catalogues(US=(SUB,), DE=(SUB,)),
        "currencies": ["USD"],
        "lang": "de_DE",
        "localized_skus": {f"{SUB}:0001": german},
        "on_date": ON,
    }
    sold_in_de = build_snapshot(rows=[row(), row(market="DE", currency="USD")], **common)
    assert sold_in_de.skus[f"{SUB}:0001"].localized_title == "Deutscher Titel"
    us_only = build_snapshot(rows=[row()], **common)
    assert us_only.skus[f"{SUB}:0001"].localized_title is None


def test_fetch_reads_the_simulator_superset_and_its_highest_prices(sim, make_client):
    countries = ["US", "GB", "DE"]
    snapshot = fetch_snapshot(
        make_client(), countries=countries, currencies=["USD", "EUR"], lang="de_DE"
    )
    expected = {
        sku.code
        for country in countries
        for view in ("SoftwareSubscriptions", "SoftwarePerpetual")
        for sku in sim.catalogue.skus_for(country, view, purchasable_only=True)
    }
    assert set(snapshot.skus) == expected
    code, price = next(
        (key[0], value)
        for key, value in snapshot.prices.items()
        if key[3] == "EUR" and key[1] == "P1Y"
    )
    product_id, sku_id = code.split(":")
    assert price.cost == sim.catalogue.highest_price(
        product_id, sku_id, "P1Y", "annual", "EUR", countries
    )
    assert any(sku.localized_title for sku in snapshot.skus.values())


def test_skus_of_markets_priced_in_other_currencies_are_still_in_the_superset(sim, make_client):
    countries = ["US", "DE"]
    snapshot = fetch_snapshot(make_client(), countries=countries, currencies=["USD"])
    expected = {
        sku.code
        for country in countries
        for view in ("SoftwareSubscriptions", "SoftwarePerpetual")
        for sku in sim.catalogue.skus_for(country, view, purchasable_only=True)
    }
    assert set(snapshot.skus) == expected
    assert {key[3] for key in snapshot.prices} == {"USD"}


def test_prices_are_per_billing_period():
    rows = [
        row(term="P3Y", billing="Annual", price="300", erp="360"),
        row(term="P3Y", billing="Triennial", price="290", erp="350"),
    ]
    snapshot = build_snapshot(
        catalogues=catalogues(US=(SUB,)), rows=rows, currencies=["USD"], on_date=ON
    )
    annual = snapshot.prices[(f"{SUB}:0001", "P3Y", "annual", "USD")]
    triennial = snapshot.prices[(f"{SUB}:0001", "P3Y", "triennial", "USD")]
    assert (annual.cost, annual.sell) == (Decimal("100.00"), Decimal("120.00"))
    assert (triennial.cost, triennial.sell) == (Decimal("290"), Decimal("350"))
    by_plan = {(p.billing_plan): p.cost for p in snapshot.country_prices}
    assert by_plan == {"annual": Decimal("100.00"), "triennial": Decimal("290")}


def parse_every_row(monkeypatch):
    """Fetching parses every row of every sheet from now on, as it did before (none passed over)."""

    def every_row_parsed(lines, priced_currencies=None, **kwargs):
        return iter_price_rows(lines, **kwargs)

    monkeypatch.setattr(snapshot, "iter_price_rows", every_row_parsed)


class SheetClient:
    """A client serving hand-made price sheets; every product of them is listed everywhere."""

    def __init__(self, sheets, product_ids):
        self.sheets = sheets
        self.product_ids = product_ids
        self.title = "T"

    def products(self, country, view, locale=None):
        if view != VIEW_SUBSCRIPTIONS:
            return []
        return [Product(id=pid, title=self.title) for pid in self.product_ids]

    def price_sheet_lines(self, market, digest=None):
        for line in self.sheets[market]:
            digest.update(line.encode())
            yield line


def test_passing_over_unpriced_rows_changes_no_simulator_snapshot(sim, make_client, monkeypatch):
    options = {
        "countries": ["US", "GB", "DE", "FR"],
        "currencies": ["EUR", "ILS", "USD"],
        "rates": {"ILS": {"USD": Decimal("3.7")}},
        "previous": {},
        "lang": "de_DE",
    }
    fast = fetch_snapshot(make_client(), **options)
    parse_every_row(monkeypatch)
    every_row = fetch_snapshot(make_client(), **options)
    assert fast.skus and fast.prices and fast.country_prices
    assert fast.skus == every_row.skus
    assert fast.prices == every_row.prices
    assert fast.country_prices == every_row.country_prices
    assert (
        fast.supported_currencies
        == every_row.supported_currencies
        == {"USD", "EUR", "GBP", "CHF", "SEK", "NOK", "DKK"}
    )
    assert fast.converted_currencies == every_row.converted_currencies == {"ILS": "USD"}


def test_passing_over_unpriced_rows_changes_no_hand_made_snapshot(monkeypatch):
    swedish_only = "DG7GMGF0CCCC"

    def sheet(market, currencies, product_ids=(SUB, PERP)):
        return sheet_lines(
            [
                software_row(
                    product_id=pid,
                    sku_id="0001",
                    market=market,
                    currency=currency,
                    price=str(100 + index),
                    term=term,
                    billing=billing,
                    start="1/1/2025 12:00:00 AM",
                )
                for pid in product_ids
                for term, billing in (("P1Y", "Annual"), ("P3Y", "Annual"))
                for index, currency in enumerate(currencies)
            ]
        )

    sheets = {
        "DE": sheet("DE", ("EUR", "GBP", "CHF", "SEK")),
        "GB": sheet("GB", ("GBP", "EUR")),
        "SE": sheet("SE", ("SEK", "NOK"), (SUB, swedish_only)),
    }
    client = SheetClient(sheets, (SUB, PERP, swedish_only))
    options = {
        "countries": ["DE", "GB", "SE"],
        "currencies": ["USD"],
        "on_date": ON,
        "rates": {"USD": {"EUR": Decimal("1.1")}},
    }
    fast = fetch_snapshot(client, **options)
    parse_every_row(monkeypatch)
    every_row = fetch_snapshot(client, **options)
    assert fast == every_row
    assert fast.skus[f"{SUB}:0001"].countries == {"DE", "GB", "SE"}
    assert fast.skus[f"{swedish_only}:0001"].plans == {("P1Y", "annual"), ("P3Y", "annual")}
    assert fast.supported_currencies == {"EUR", "GBP", "CHF", "SEK", "NOK"}


def test_malformed_rows_of_unpriced_currencies_are_skipped_and_told():
    cells = [
        software_row(product_id=SUB, sku_id="0001", market="DE", currency="EUR"),
        software_row(product_id=SUB, sku_id="0001", market="DE", currency="GBP"),
        software_row(product_id=SUB, sku_id="0001", market="DE", currency="GBP", price="n/a"),
    ]
    client = SheetClient({"DE": sheet_lines(cells)}, (SUB,))
    snapshot = fetch_snapshot(client, countries=["DE"], currencies=["EUR"], on_date=ON)
    assert snapshot.skus[f"{SUB}:0001"].countries == {"DE"}
    assert [(country, error.row, error.column) for country, error in snapshot.skipped_rows] == [
        ("DE", 4, "UnitPrice")
    ]
    in_use = [
        *cells,
        software_row(product_id=SUB, sku_id="0001", market="DE", currency="EUR", price="n/a"),
    ]
    with pytest.raises(MalformedDataError):  # a row the instance prices fails the sync
        fetch_snapshot(
            SheetClient({"DE": sheet_lines(in_use)}, (SUB,)),
            countries=["DE"],
            currencies=["EUR"],
            on_date=ON,
        )


# --- unchanged sources --- #

SOURCES = {"countries": ["US", "DE"], "currencies": ["USD", "EUR"], "lang": "de_DE"}


def test_same_sources_are_told_without_parsing_a_sheet(sim, make_client, monkeypatch):
    first = fetch_snapshot(make_client(), **SOURCES)
    assert len(first.sources_digest) == 64

    def parse(*args, **kwargs):
        raise AssertionError("a price sheet was parsed")

    monkeypatch.setattr(snapshot, "iter_price_rows", parse)
    assert fetch_snapshot(make_client(), **SOURCES, unless_sources=first.sources_digest) is None


def test_downloaded_sheets_give_the_snapshot_streamed_ones_give(sim, make_client):
    streamed = fetch_snapshot(make_client(), **SOURCES)
    downloaded = fetch_snapshot(make_client(), **SOURCES, unless_sources="0" * 64)
    assert downloaded.prices and downloaded == streamed


def test_a_new_month_at_microsoft_is_another_digest(sim, make_client):
    first = fetch_snapshot(make_client(), **SOURCES)
    sim.update_settings(month=1)
    later = fetch_snapshot(make_client(), **SOURCES, unless_sources=first.sources_digest)
    assert later is not None
    assert later.sources_digest != first.sources_digest


def test_a_listing_or_a_sheet_cell_changed_is_another_digest():
    def digest(title="T", price="100"):
        lines = sheet_lines([software_row(product_id=SUB, sku_id="0001", price=price)])
        client = SheetClient({"US": lines}, (SUB,))
        client.title = title
        return fetch_snapshot(client, countries=["US"], currencies=["USD"]).sources_digest

    assert digest() == digest()
    assert len({digest(), digest(title="T2"), digest(price="100.01")}) == 3


def test_the_snapshot_tells_when_other_rows_come_into_effect():
    def changes_after(*rows):
        return build_snapshot(
            catalogues=catalogues(US=(SUB,)), rows=rows, currencies=["USD"], on_date=ON
        ).changes_after

    june = row(start="6/1/2025 12:00:00 AM", end="6/30/2025 11:59:59 PM")
    july = row(price="90", start="7/1/2025 12:00:00 AM", end="")
    assert changes_after(row(start="3/1/2024 12:00:00 AM", end="")) is None
    assert changes_after(june, july) == datetime(2025, 6, 30, 23, 59, 59, tzinfo=timezone.utc)
    ends_today = row(start="6/1/2025 12:00:00 AM", end="6/15/2025 12:00:00 AM")
    # a row still in effect at its last instant: that instant is given, never a later one
    assert changes_after(ends_today) == datetime(2025, 6, 15, tzinfo=timezone.utc)
    assert changes_after(july) == datetime(2025, 7, 1, tzinfo=timezone.utc)
    # a row starting at the very moment is in effect already; one that ended changes nothing
    starts_now = row(start="6/15/2025 12:00:00 AM", end="")
    ended = row(start="1/1/2025 12:00:00 AM", end="6/14/2025 11:59:59 PM")
    assert changes_after(starts_now, ended) is None


def test_a_failed_download_closes_the_sheets_downloaded_before(sim, make_client):
    client = make_client()
    sheets = []
    download = client.download_price_sheet

    def download_then_fail(market, digest=None):
        if sheets:
            raise TransientError("The price sheet download was interrupted: start it again.")
        sheets.append(download(market, digest))
        return sheets[-1]

    client.download_price_sheet = download_then_fail
    with pytest.raises(TransientError):
        fetch_snapshot(client, **SOURCES, unless_sources="0" * 64)
    assert sheets and sheets[0].file.closed
