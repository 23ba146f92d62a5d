"""The streaming price-sheet reader and the effective-row selection."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_center.errors import MalformedDataError
from partner_center.pricesheet import (
    _Records,
    _repaired_lines,
    iter_price_rows,
    normalize_billing_plan,
    normalize_term,
    parse_sheet_date,
    read_price_sheet,
    select_effective,
)

from .common import SOFTWARE_HEADER, csv_line, price_row, sheet_lines, software_row


def test_reads_a_software_row():
    (row,) = iter_price_rows(sheet_lines([software_row()]))
    assert row.code == "DG7GMGF0D5SL:0007"
    assert (row.term_duration, row.billing_plan, row.segment) == ("P1Y", "annual", "commercial")
    assert (row.unit_price, row.erp_price) == (Decimal("100"), Decimal("125"))
    assert row.effective_start == datetime(2024, 3, 1, tzinfo=timezone.utc)
    assert row.tags == ("Software", "Subscription")


def test_columns_found_by_name_whatever_their_order():
    header = tuple(reversed(SOFTWARE_HEADER))
    (row,) = iter_price_rows(sheet_lines([software_row(price="42.5")], header=header))
    assert row.unit_price == Decimal("42.5")
    assert row.product_id == "DG7GMGF0D5SL"


def test_unknown_columns_are_kept_aside():
    header = (*SOFTWARE_HEADER, "FutureColumn")
    cells = {**software_row(), "FutureColumn": "later"}
    (row,) = iter_price_rows(sheet_lines([cells], header=header))
    assert row.extra == (("FutureColumn", "later"),)


def test_byte_order_mark_and_smart_quote_header():
    lines = sheet_lines([software_row(erp="150")])
    lines[0] = "\ufeff" + lines[0].rstrip('"\r\n') + "\u201c\r\n"
    (row,) = iter_price_rows(lines)
    assert row.erp_price == Decimal("150")
    assert row.segment == "commercial"  # the last header cell, closed by U+201C


def test_truncation_marker_and_blank_lines_are_skipped():
    lines = sheet_lines([software_row(), software_row(sku_id="0008")])
    lines[2:2] = ["\r\n"]
    lines.append("======= Truncated ==============\n")
    assert [row.sku_id for row in iter_price_rows(lines)] == ["0007", "0008"]


def test_line_numbers_count_physical_lines():
    lines = sheet_lines([software_row(), software_row(sku_id="0008")])
    lines[2:2] = ["\n"]
    assert [row.line_number for row in iter_price_rows(lines)] == [2, 4]


def test_quoted_line_break_survives_in_a_file():
    text = "".join(sheet_lines([software_row()])).replace("A licence pack.", "two\nlines")
    (row,) = iter_price_rows(io.StringIO(text, newline=""))
    assert row.sku_description == "two\nlines"


def test_iso_dates_with_seven_fraction_digits():
    cells = software_row(start="2021-10-01T00:00:00.0000000Z", end="(9999-11-30T23:59:59.0000000Z)")
    (row,) = iter_price_rows(sheet_lines([cells]))
    assert row.effective_start == datetime(2021, 10, 1, tzinfo=timezone.utc)
    assert row.effective_end.year == 9999


def test_empty_optional_numbers_are_none():
    (row,) = iter_price_rows(sheet_lines([software_row(erp="", tier_min="", tier_max="")]))
    assert (row.erp_price, row.tier_min, row.tier_max) == (None, None, None)


def test_perpetual_row_has_no_term_and_one_time_billing():
    (row,) = iter_price_rows(sheet_lines([software_row(term="OneTime", billing="")]))
    assert (row.term_duration, row.billing_plan) == (None, "one_time")


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ({"price": "12,50"}, "UnitPrice"),
        ({"price": "abc"}, "UnitPrice"),
        ({"price": ""}, "UnitPrice"),
        ({"price": "-1"}, "UnitPrice"),
        ({"price": "NaN"}, "UnitPrice"),
        ({"erp": "x1"}, "ERP Price"),
        ({"product_id": ""}, "ProductId"),
        ({"sku_id": " "}, "SkuId"),
        ({"currency": ""}, "Currency"),
        ({"currency": "usd"}, "Currency"),
        ({"currency": "EURO"}, "Currency"),
        ({"currency": "E1R"}, "Currency"),
        ({"start": "31/31/2024"}, "EffectiveStartDate"),
        ({"end": "tomorrow"}, "EffectiveEndDate"),
        ({"start": "2/1/2019 13:00:00 PM"}, "EffectiveStartDate"),
    ],
)
def test_malformed_row_names_line_and_column(cells, column):
    lines = sheet_lines([software_row(), software_row(**cells)])
    rows = iter_price_rows(lines)
    assert next(rows).line_number == 2
    with pytest.raises(MalformedDataError) as caught:
        next(rows)
    assert (caught.value.row, caught.value.column) == (3, column)
    assert "line 3" in str(caught.value) and column in str(caught.value)


def test_short_row_is_malformed():
    lines = sheet_lines([software_row()])
    lines.append('"T","DG7GMGF0D5SL","0009"\n')
    with pytest.raises(MalformedDataError) as caught:
        list(iter_price_rows(lines))
    assert caught.value.row == 3
    assert caught.value.column == "SkuTitle"


def test_missing_required_column_in_header():
    header = tuple(name for name in SOFTWARE_HEADER if name != "Currency")
    with pytest.raises(MalformedDataError) as caught:
        list(iter_price_rows(sheet_lines([software_row()], header=header)))
    assert (caught.value.row, caught.value.column) == (1, "Currency")


def test_empty_sheet_is_malformed():
    with pytest.raises(MalformedDataError):
        list(iter_price_rows([]))


def test_errors_can_be_collected_instead_of_raised():
    lines = sheet_lines(
        [software_row(), software_row(currency="usd"), software_row(sku_id="0009", price="x")]
    )
    errors = []
    rows = list(iter_price_rows(lines, errors=errors))
    assert [row.sku_id for row in rows] == ["0007"]
    assert [(error.row, error.column) for error in errors] == [(3, "Currency"), (4, "UnitPrice")]


def test_read_price_sheet_returns_rows_and_errors():
    sheet = read_price_sheet(sheet_lines([software_row(), software_row(price="?")]))
    assert len(sheet.rows) == 1 and len(sheet.errors) == 1


def test_reader_is_lazy():
    def endless():
        yield csv_line(*SOFTWARE_HEADER)
        while True:
            yield csv_line(*software_row().values())

    rows = iter_price_rows(endless())
    assert [next(rows).line_number for _ in range(3)] == [2, 3, 4]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2/1/2019 12:00:00 AM", datetime(2019, 2, 1, 0, 0, tzinfo=timezone.utc)),
        ("2/1/2019 12:30:00 PM", datetime(2019, 2, 1, 12, 30, tzinfo=timezone.utc)),
        ("11/30/9999 11:59:59 PM", datetime(9999, 11, 30, 23, 59, 59, tzinfo=timezone.utc)),
        ("3/1/2024", datetime(2024, 3, 1, tzinfo=timezone.utc)),
        ("2024-03-01T10:00:00+02:00", datetime(2024, 3, 1, 8, tzinfo=timezone.utc)),
    ],
)
def test_sheet_dates(text, expected):
    assert parse_sheet_date(text) == expected


@pytest.mark.parametrize(
    ("term", "expected"),
    [("OneTime", None), ("", None), ("p1y", "P1Y"), ("P3Y", "P3Y"), ("payG-1", "payG-1")],
)
def test_normalize_term(term, expected):
    assert normalize_term(term) == expected


@pytest.mark.parametrize(
    ("plan", "term", "expected"),
    [
        ("Annual", "P1Y", "annual"),
        ("Triennial", "P3Y", "triennial"),
        ("", None, "one_time"),
        ("OneTime", None, "one_time"),
        ("Monthly", "P1M", "monthly"),
        ("", "P1Y", None),
    ],
)
def test_normalize_billing_plan(plan, term, expected):
    assert normalize_billing_plan(plan, term) == expected


# === EFFECTIVE ROWS === #


def test_select_effective_takes_the_row_covering_the_day():
    february = price_row(price="100", start="2/1/2024 12:00:00 AM", end="2/29/2024 11:59:59 PM")
    march = price_row(price="110", start="3/1/2024 12:00:00 AM", end="11/30/9999 11:59:59 PM")
    assert select_effective([february, march], date(2024, 2, 29)) == [february]
    assert select_effective([february, march], date(2024, 3, 1)) == [march]
    assert select_effective([february, march], date(2024, 1, 31)) == []


def test_select_effective_prefers_latest_start_when_rows_overlap():
    old = price_row(price="100", start="1/1/2024 12:00:00 AM", end="11/30/9999 11:59:59 PM")
    new = price_row(price="120", start="3/1/2024 12:00:00 AM", end="11/30/9999 11:59:59 PM")
    assert select_effective([new, old], datetime(2024, 3, 15, 12, tzinfo=timezone.utc)) == [new]


def test_select_effective_keeps_one_row_per_key():
    rows = [
        price_row(term="P1Y", billing="Annual"),
        price_row(term="P3Y", billing="Annual", price="280"),
        price_row(term="P3Y", billing="Triennial", price="270"),
        price_row(currency="EUR", market="DE"),
        price_row(segment="Education", price="50"),
    ]
    assert len(select_effective(rows, date(2024, 6, 1))) == 5


def test_open_ended_rows_always_cover():
    row = price_row(start="", end="")
    assert select_effective([row], date(1990, 1, 1)) == [row]


def test_every_column_lands_in_its_field():
    cells = {**software_row(tier_min="1", tier_max="10"), "UnitOfMeasure": "1 Licence"}
    (row,) = iter_price_rows(sheet_lines([cells]))
    assert (row.product_title, row.sku_title, row.sku_description, row.publisher) == (
        "Windows Server 2022 Standard",
        "Windows Server 2022 Standard - 2 Core License Pack",
        "A licence pack.",
        "Microsoft",
    )
    assert (row.unit_of_measure, row.market, row.currency) == ("1 Licence", "US", "USD")
    assert (row.tier_min, row.tier_max) == (Decimal("1"), Decimal("10"))
    assert row.effective_end == datetime(9999, 11, 30, 23, 59, 59, tzinfo=timezone.utc)
    assert (row.line_number, row.extra) == (2, ())


def test_a_row_with_several_problems_names_the_first_in_reading_order():
    lines = sheet_lines([software_row(currency="usd", price="", start="never")])
    with pytest.raises(MalformedDataError) as caught:
        list(iter_price_rows(lines))
    assert caught.value.column == "Currency"


# === ROWS OF UNPRICED CURRENCIES === #


def multi_currency_rows(sku_id="0007", market="DE", currencies=("EUR", "GBP", "CHF", "SEK")):
    """One SKU's price points in several currencies of one market, as Microsoft lists them."""
    return [
        software_row(sku_id=sku_id, market=market, currency=currency, price=str(100 + index))
        for index, currency in enumerate(currencies)
    ]


def test_unpriced_currencies_yield_one_row_per_sku_plan_and_period():
    lines = sheet_lines(
        multi_currency_rows()
        + multi_currency_rows(sku_id="0008")
        + multi_currency_rows(sku_id="0007", currencies=("EUR", "SEK"))
    )
    rows = iter_price_rows(lines, priced_currencies={"EUR"})
    assert [(row.sku_id, row.currency) for row in rows] == [
        ("0007", "EUR"),
        ("0007", "GBP"),
        ("0008", "EUR"),
        ("0008", "GBP"),
        ("0007", "EUR"),
    ]


def test_without_priced_currencies_every_row_is_read():
    lines = sheet_lines(multi_currency_rows())
    assert [row.currency for row in iter_price_rows(lines)] == ["EUR", "GBP", "CHF", "SEK"]


def test_rows_differing_in_plan_period_or_market_are_each_read():
    cells = [
        software_row(currency="GBP"),
        software_row(currency="CHF", term="P3Y"),
        software_row(currency="CHF", end="12/31/2030 11:59:59 PM"),
        software_row(currency="CHF", market="GB"),
        software_row(currency="CHF"),
    ]
    rows = iter_price_rows(sheet_lines(cells), priced_currencies={"USD"})
    assert [row.line_number for row in rows] == [2, 3, 4, 5]


def test_seen_currencies_include_those_of_passed_over_rows():
    seen = set()
    rows = list(
        iter_price_rows(
            sheet_lines(multi_currency_rows()), priced_currencies={"EUR"}, seen_currencies=seen
        )
    )
    assert len(rows) == 2
    assert seen == {"EUR", "GBP", "CHF", "SEK"}


def test_malformed_row_in_a_priced_currency_still_names_line_and_column():
    cells = [*multi_currency_rows(), software_row(market="DE", currency="EUR", price="abc")]
    rows = iter_price_rows(sheet_lines(cells), priced_currencies={"EUR"})
    with pytest.raises(MalformedDataError) as caught:
        list(rows)
    assert (caught.value.row, caught.value.column) == (6, "UnitPrice")
    assert "line 6" in str(caught.value)


def test_first_row_telling_a_presence_is_validated():
    cells = [software_row(market="DE", currency="GBP", end="tomorrow")]
    with pytest.raises(MalformedDataError) as caught:
        list(iter_price_rows(sheet_lines(cells), priced_currencies={"EUR"}))
    assert (caught.value.row, caught.value.column) == (2, "EffectiveEndDate")


def test_a_malformed_row_tells_no_presence():
    cells = [software_row(currency="GBP", erp="x"), software_row(currency="CHF")]
    errors = []
    rows = list(iter_price_rows(sheet_lines(cells), errors=errors, priced_currencies={"USD"}))
    assert [row.currency for row in rows] == ["CHF"]
    assert [(error.row, error.column) for error in errors] == [(2, "ERP Price")]


@pytest.mark.parametrize("currency", ["EUR", "CHF"])
def test_wrong_cell_count_is_still_reported(currency):
    lines = sheet_lines(multi_currency_rows())
    short = software_row(market="DE", currency=currency)
    lines.append(csv_line(*(short[name] for name in SOFTWARE_HEADER[:-1])))
    with pytest.raises(MalformedDataError) as caught:
        list(iter_price_rows(lines, priced_currencies={"EUR"}))
    assert (caught.value.row, caught.value.column) == (6, "Segment")
    errors = []
    assert len(list(iter_price_rows(lines, errors=errors, priced_currencies={"EUR"}))) == 2
    assert [(error.row, error.column) for error in errors] == [(6, "Segment")]


def test_a_passed_over_row_with_a_malformed_currency_is_read_and_reported():
    cells = [*multi_currency_rows(), software_row(market="DE", currency="chf")]
    with pytest.raises(MalformedDataError) as caught:
        list(iter_price_rows(sheet_lines(cells), priced_currencies={"EUR"}))
    assert (caught.value.row, caught.value.column) == (6, "Currency")


@pytest.mark.parametrize("malformed_first", [True, False])
def test_a_malformed_row_of_an_unpriced_currency_is_skipped_wherever_it_stands(malformed_first):
    good, bad = software_row(currency="GBP"), software_row(currency="GBP", erp="12,50")
    cells = [bad, good] if malformed_first else [good, bad]
    skipped = []
    rows = list(iter_price_rows(sheet_lines(cells), priced_currencies={"USD"}, skipped=skipped))
    assert [row.currency for row in rows] == ["GBP"], "the SKU is still known to be sold there"
    bad_line = 2 if malformed_first else 3
    assert [(error.row, error.column) for error in skipped] == [(bad_line, "ERP Price")]
    with pytest.raises(MalformedDataError) as caught:  # without skipped: an error, either way
        list(iter_price_rows(sheet_lines(cells), priced_currencies={"USD"}))
    assert caught.value.row == bad_line


def test_a_malformed_row_of_a_priced_currency_is_never_skipped():
    cells = [software_row(currency="USD", price="1.2.3")]
    with pytest.raises(MalformedDataError) as caught:
        list(iter_price_rows(sheet_lines(cells), priced_currencies={"USD"}, skipped=[]))
    assert (caught.value.row, caught.value.column) == (2, "UnitPrice")


def test_a_header_with_an_unnamed_column_is_reported_on_the_header_line():
    lines = sheet_lines([software_row()])
    lines[0] = lines[0].rstrip("\r\n") + ",\n"  # a stray separator closes the header
    with pytest.raises(MalformedDataError) as caught:
        list(iter_price_rows(lines))
    assert (caught.value.row, caught.value.column) == (1, f"column {len(SOFTWARE_HEADER) + 1}")
    assert "header" in str(caught.value)


@pytest.mark.parametrize("currency", ["eur", ""])
def test_a_row_whose_currency_cannot_be_read_is_never_skipped(currency):
    cells = [software_row(currency="EUR"), software_row(currency=currency)]
    with pytest.raises(MalformedDataError) as caught:
        list(iter_price_rows(sheet_lines(cells), priced_currencies={"EUR"}, skipped=[]))
    assert (caught.value.row, caught.value.column) == (3, "Currency")


# Cells as a sheet may write them: quotes, separators, line breaks, NULs, spaces, plain text.
sheet_cells = st.text(alphabet=st.sampled_from('ab,"\n\r\0 \u201c'), max_size=6)


def text_lines(text: str, as_a_file: bool) -> list[str]:
    """Lines as a file opened with newline="" gives them, or as the HTTP reader does (on \\n)."""
    if as_a_file:
        return list(io.StringIO(text, newline=""))
    return [line + "\n" for line in text.split("\n")[:-1]] + [text.split("\n")[-1]] * bool(
        text.split("\n")[-1]
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(sheet_cells, min_size=1, max_size=5), min_size=1, max_size=6),
    st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_MINIMAL]),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.booleans(),
)
def test_records_are_what_the_csv_module_reads(records, quoting, ending, as_a_file, last_ended):
    buffer = io.StringIO()
    csv.writer(buffer, quoting=quoting, lineterminator=ending).writerows(records)
    text = buffer.getvalue() if last_ended else buffer.getvalue().removesuffix(ending)
    lines = text_lines(text, as_a_file)
    reader = csv.reader(_repaired_lines(lines), strict=False)
    read = _Records(lines)

    def expected():
        header = next(reader, None)
        yield header
        last_line = reader.line_num
        for cells in reader:
            yield last_line + 1, cells
            last_line = reader.line_num

    def records_read():
        header = read.header()
        yield header
        yield from read.rows(len(header or ()))

    assert until_error(records_read()) == until_error(expected())


def until_error(items):
    """The items, then the error that ended them (as text), if any."""
    seen = []
    try:
        seen.extend(items)
    except csv.Error as error:
        seen.append(str(error))
    return seen
