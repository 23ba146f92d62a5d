"""Price sheets: CSV columns and rows, effective dates, currencies, deflate, audience."""

import csv
import io
import re
import zlib
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from partner_center.simulator.pricesheet import COLUMNS

DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M$")


def sheet_url(sim, market):
    return f"{sim.pricesheet_url}/pricesheets(Market='{market}',PricesheetView='software')/$value"


def fetch(sim, sim_http, headers, market="US", **params):
    answer = sim_http.get(sheet_url(sim, market), headers=headers, params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"))))


def utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def parse_date(text):
    return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p")


def covering(rows, moment):
    return [
        row
        for row in rows
        if parse_date(row["EffectiveStartDate"]) <= moment <= parse_date(row["EffectiveEndDate"])
    ]


def test_header_has_the_documented_columns_in_order(sim, sim_http, pricesheet_headers):
    answer = sim_http.get(sheet_url(sim, "US"), headers=pricesheet_headers, timeout=30)
    first_line = answer.content.decode("utf-8").splitlines()[0]
    assert next(csv.reader([first_line])) == list(COLUMNS)
    assert answer.headers["Content-Type"].startswith("text/csv")


def test_rows_are_well_formed(sim, sim_http, pricesheet_headers):
    rows = fetch(sim, sim_http, pricesheet_headers)
    assert rows
    for row in rows:
        assert row["Market"] == "US" and row["Currency"] == "USD"
        assert DATE.match(row["EffectiveStartDate"]) and DATE.match(row["EffectiveEndDate"])
        assert row["TermDuration"] in ("P1Y", "P3Y", "OneTime")
        assert row["Segment"] in ("Commercial", "Education")
        assert Decimal(row["UnitPrice"]) > 0 and Decimal(row["ERP Price"]) > Decimal(
            row["UnitPrice"]
        )
        assert row["Tags"] in ("Software;Perpetual", "Software;Subscription")


def test_current_commercial_rows_match_the_catalogue_prices(sim, sim_http, pricesheet_headers):
    rows = [
        row
        for row in fetch(sim, sim_http, pricesheet_headers, "DE")
        if row["Segment"] == "Commercial"
    ]
    today = utc_now()
    current = covering(rows, today)
    for sku in sim.catalogue.skus_for("DE"):
        for term, billing in sku.terms:
            term_text = term or "OneTime"
            plan = "" if billing == "one_time" else billing.capitalize()
            for currency in ("EUR", "GBP", "CHF", "SEK", "NOK", "DKK"):
                matching = [
                    row
                    for row in current
                    if (
                        row["ProductId"],
                        row["SkuId"],
                        row["TermDuration"],
                        row["BillingPlan"],
                        row["Currency"],
                    )
                    == (sku.product_id, sku.id, term_text, plan, currency)
                ]
                assert len(matching) == 1, (sku.code, term, billing, currency)
                expected = sim.catalogue.price(
                    sku.product_id, sku.id, term, billing, "DE", currency
                )
                assert Decimal(matching[0]["UnitPrice"]) == expected


def test_superseded_prices_stay_in_the_sheet(sim, sim_http, pricesheet_headers):
    rows = fetch(sim, sim_http, pricesheet_headers, "US")
    repriced = [
        code
        for code in sim.catalogue.changes(0)["repriced"]
        if "US" in sim.catalogue.sku(*code.split(":")).countries
    ]
    assert repriced
    product_id, sku_id = repriced[0].split(":")
    history = [
        row
        for row in rows
        if (row["ProductId"], row["SkuId"]) == (product_id, sku_id)
        and row["Currency"] == "USD"
        and row["Segment"] == "Commercial"
    ]
    ended = [row for row in history if not row["EffectiveEndDate"].startswith("11/30/9999")]
    assert ended
    open_rows = {
        (row["TermDuration"], row["BillingPlan"]): row["UnitPrice"]
        for row in history
        if row not in ended
    }
    for row in ended:
        assert parse_date(row["EffectiveEndDate"]) < utc_now()
        assert row["UnitPrice"] != open_rows[(row["TermDuration"], row["BillingPlan"])]


@pytest.mark.parametrize(
    ("market", "currencies"),
    [
        ("US", {"USD"}),
        ("GB", {"GBP", "EUR"}),
        ("FR", {"EUR", "GBP", "CHF", "SEK", "NOK", "DKK"}),
        ("GR", {"EUR", "GBP", "CHF", "SEK", "NOK", "DKK"}),
        ("IL", {"ILS"}),
    ],
)
def test_market_sheets_price_in_their_currencies(
    sim, sim_http, pricesheet_headers, market, currencies
):
    rows = fetch(sim, sim_http, pricesheet_headers, market)
    assert {row["Currency"] for row in rows} == currencies
    assert {row["Market"] for row in rows} == {market}


def test_deflate_is_sent_when_asked(sim, sim_http, pricesheet_headers):
    plain = sim_http.get(
        sheet_url(sim, "GB"),
        headers=dict(pricesheet_headers, **{"Accept-Encoding": "identity"}),
        timeout=30,
    )
    assert "Content-Encoding" not in plain.headers
    packed = sim_http.get(
        sheet_url(sim, "GB"),
        headers=dict(pricesheet_headers, **{"Accept-Encoding": "deflate"}),
        stream=True,
        timeout=30,
    )
    assert packed.headers["Content-Encoding"] == "deflate"
    assert packed.headers["Transfer-Encoding"] == "chunked"
    raw = packed.raw.read(decode_content=False)
    assert zlib.decompress(raw) == plain.content


def test_month_change_moves_prices_and_ends_retired_rows(sim, sim_http, pricesheet_headers):
    sim.update_settings(month=1)
    rows = fetch(sim, sim_http, pricesheet_headers, "DE")
    changes = sim.catalogue.changes(1)
    retired_in_de = [
        code for code in changes["retired"] if "DE" in sim.catalogue.sku(*code.split(":")).countries
    ]
    for code in retired_in_de:
        product_id, sku_id = code.split(":")
        mine = [row for row in rows if (row["ProductId"], row["SkuId"]) == (product_id, sku_id)]
        assert mine and not covering(mine, utc_now())
    added = [
        code for code in changes["added"] if "DE" in sim.catalogue.sku(*code.split(":")).countries
    ]
    for code in added:
        product_id, sku_id = code.split(":")
        assert covering(
            [row for row in rows if (row["ProductId"], row["SkuId"]) == (product_id, sku_id)],
            utc_now(),
        )


def test_future_timeline_adds_next_month_rows(sim, sim_http, pricesheet_headers):
    current = fetch(sim, sim_http, pricesheet_headers, "US")
    future = fetch(sim, sim_http, pricesheet_headers, "US", timeline="future")
    assert len(future) > len(current)
    upcoming = [row for row in future if parse_date(row["EffectiveStartDate"]) > utc_now()]
    assert upcoming


def test_unknown_market_is_a_bad_request(sim, sim_http, pricesheet_headers):
    answer = sim_http.get(sheet_url(sim, "ZZ"), headers=pricesheet_headers, timeout=10)
    assert answer.status_code == 400


def test_byte_order_mark_can_be_switched_on(sim, sim_http, pricesheet_headers):
    sim.update_settings(pricesheet_bom=True)
    answer = sim_http.get(sheet_url(sim, "US"), headers=pricesheet_headers, timeout=30)
    assert answer.content.startswith("\ufeff".encode())


def test_a_rendered_sheet_is_replayed_until_the_month_changes(sim, sim_http, pricesheet_headers):
    sim.prerender_price_sheets(["DE"])
    replayed = sim_http.get(sheet_url(sim, "DE"), headers=pricesheet_headers, timeout=30).content
    assert (
        replayed
        == sim_http.get(sheet_url(sim, "DE"), headers=pricesheet_headers, timeout=30).content
    )
    before = fetch(sim, sim_http, pricesheet_headers, "DE")
    sim.update_settings(month=1)
    after = fetch(sim, sim_http, pricesheet_headers, "DE")
    assert after != before  # next month's sheet, not the kept one
    sim.update_settings(month=0)
    assert fetch(sim, sim_http, pricesheet_headers, "DE") == before
