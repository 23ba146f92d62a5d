"""Streaming reader of Partner Center price sheets (CSV).

A market's software price sheet is large: it is read line by line, one :class:`PriceRow` at a
time, in constant memory. Columns are found by name (their order may change, unknown ones are
kept aside), and the reader tolerates what Microsoft's own examples contain: a byte-order mark,
a header closed by a typographic quote (``"ERP Price“``) and a trailing ``======= Truncated`` line.

A row that cannot be read raises :class:`~partner_center.errors.MalformedDataError` naming its
line and column, or is collected in a list the caller passes: a row is never dropped silently.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterable, Iterator
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import chain
from operator import attrgetter, itemgetter
from typing import NamedTuple

from .errors import MalformedDataError
from .resources import normalize_billing_cycle, parse_timestamp

# The software price list's columns in Microsoft's documented order (software-pricing.md).
SOFTWARE_SHEET_COLUMNS = (
    "ProductTitle",
    "ProductId",
    "SkuId",
    "SkuTitle",
    "Publisher",
    "SkuDescription",
    "UnitOfMeasure",
    "TermDuration",
    "BillingPlan",
    "Market",
    "Currency",
    "UnitPrice",
    "PricingTierRangeMin",
    "PricingTierRangeMax",
    "EffectiveStartDate",
    "EffectiveEndDate",
    "Tags",
    "ERP Price",
    "Segment",
)

# Column name (normalized: lowercase, no spaces/underscores/quotes) -> PriceRow attribute.
COLUMNS = {
    "producttitle": "product_title",
    "productid": "product_id",
    "skuid": "sku_id",
    "skutitle": "sku_title",
    "publisher": "publisher",
    "skudescription": "sku_description",
    "unitofmeasure": "unit_of_measure",
    "termduration": "term_duration",
    "billingplan": "billing_plan",
    "market": "market",
    "currency": "currency",
    "unitprice": "unit_price",
    "pricingtierrangemin": "tier_min",
    "pricingtierrangemax": "tier_max",
    "erpprice": "erp_price",
    "effectivestartdate": "effective_start",
    "effectiveenddate": "effective_end",
    "tags": "tags",
    "segment": "segment",
}
ATTRIBUTES = tuple(COLUMNS.values())
REQUIRED_COLUMNS = ("product_id", "sku_id", "market", "currency", "unit_price")
# What tells where a SKU is sold, whatever the currency (see iter_price_rows' priced_currencies).
PRESENCE_ATTRIBUTES = (
    "product_id",
    "sku_id",
    "term_duration",
    "billing_plan",
    "segment",
    "effective_start",
    "effective_end",
    "market",
)

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_is_currency_code = _CURRENCY_CODE.fullmatch
# An amount cell that certainly parses (empty, or a plain non-negative number); any other cell
# is parsed in full, which tells whether it is an amount at all.
_PLAIN_AMOUNT = r"\s*(?:\d+(?:\.\d*)?)?\s*"
AMOUNT_ATTRIBUTES = ("unit_price", "erp_price", "tier_min", "tier_max")
_US_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?"
)
_SMART_QUOTES = ("\u201c", "\u201d")
_NO_TERM = {"", "onetime", "none", "perpetual"}


class PriceRow(NamedTuple):
    """One price point of a price sheet.

    ``term_duration`` is ``None`` for one-time purchases (perpetual licences), else ``P1Y``,
    ``P3Y``, ``P1M``... ``billing_plan`` is lowercase: ``annual``, ``triennial``, ``monthly``,
    ``one_time``. Dates are aware UTC datetimes. ``unit_price`` is the partner's cost for the
    whole term; ``erp_price`` the estimated retail price.

    A named tuple: immutable, and made ten times faster than a frozen dataclass, which counts
    for a sheet of a hundred thousand rows (``benchmarks/pricesheet.py``).
    """

    line_number: int
    product_id: str
    sku_id: str
    market: str
    currency: str
    unit_price: Decimal
    term_duration: str | None = None
    billing_plan: str | None = None
    erp_price: Decimal | None = None
    tier_min: Decimal | None = None
    tier_max: Decimal | None = None
    effective_start: datetime | None = None
    effective_end: datetime | None = None
    product_title: str = ""
    sku_title: str = ""
    sku_description: str = ""
    publisher: str = ""
    unit_of_measure: str = ""
    tags: tuple[str, ...] = ()
    segment: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def code(self) -> str:
        """The suite's SKU code, ``ProductId:SkuId``."""
        return f"{self.product_id}:{self.sku_id}"

    @property
    def price_key(self) -> PriceKey:
        return PriceKey(
            self.product_id,
            self.sku_id,
            self.term_duration,
            self.billing_plan,
            self.market,
            self.currency,
            self.segment,
            self.tier_min,
        )

    def covers(self, moment: datetime) -> bool:
        """Whether the row's effective dates include ``moment`` (both ends inclusive)."""
        if self.effective_start is not None and moment < self.effective_start:
            return False
        return self.effective_end is None or moment <= self.effective_end


class PriceKey(NamedTuple):
    product_id: str
    sku_id: str
    term_duration: str | None
    billing_plan: str | None
    market: str
    currency: str
    segment: str | None
    tier_min: Decimal | None


# A row's PriceKey as a plain tuple (equal to ``row.price_key``), read without a Python call.
_price_key_of = attrgetter(*PriceKey._fields)


class PriceSheet(NamedTuple):
    rows: list[PriceRow]
    errors: list[MalformedDataError]


# === PUBLIC === #


def iter_price_rows(
    lines: Iterable[str],
    *,
    errors: list[MalformedDataError] | None = None,
    priced_currencies: Collection[str] | None = None,
    seen_currencies: set[str] | None = None,
    skipped: list[MalformedDataError] | None = None,
) -> Iterator[PriceRow]:
    """Rows of a price sheet, read lazily from its text lines (header first).

    Every row is parsed and yielded, unless ``priced_currencies`` is given. Then the rows in those
    currencies still are; the others only tell where a SKU is sold, and most repeat that in
    several currencies. Of the rows in other currencies that share their raw ProductId, SkuId,
    TermDuration, BillingPlan, Segment, EffectiveStartDate, EffectiveEndDate and Market cells,
    the first that parses is yielded (so it is validated); the later ones are passed over
    without being parsed: their other cells equal those of a row that parsed, save the amounts,
    which are checked. That suits a caller who uses no price of those currencies.

    With ``skipped``, a malformed row in a currency outside ``priced_currencies`` is appended to
    it instead of stopping the reading, wherever it stands: the first of its kind as well as the
    ones passed over. A row whose cells cannot be counted against the header, or in a priced
    currency, is malformed whatever ``skipped`` says.

    :param lines: text lines, with or without their line endings (a file opened with
        ``newline=""`` keeps line breaks inside quoted cells)
    :param errors: when given, malformed rows are appended to it instead of raising
    :param priced_currencies: the currencies whose rows are all parsed (see above)
    :param seen_currencies: when given, filled with the currency of every row yielded or passed
        over (those of malformed rows excepted)
    :param skipped: collects the malformed rows of currencies nobody prices (see above)
    :raise MalformedDataError: on an unreadable header, or a malformed row when ``errors`` is None
    """
    records = _Records(lines)
    header = records.header()
    if not header:
        raise MalformedDataError("The price sheet is empty: no header line.", row=1)
    columns = _Columns(header)
    seen = set() if seen_currencies is None else seen_currencies
    presence = None if priced_currencies is None else _Presence(columns, priced_currencies, seen)
    for line_number, cells in records.rows(columns.width):
        if presence is not None and presence.passes_over(cells):
            continue
        try:
            row = columns.row(cells, line_number)
        except MalformedDataError as error:
            # a blank line or the truncation marker never reads as a row: told apart here only
            if _is_blank_or_marker(cells):
                continue
            if skipped is not None and presence is not None and presence.unpriced(cells):
                skipped.append(error)
                continue
            if errors is None:
                raise
            errors.append(error)
            continue
        seen.add(row.currency)
        if presence is not None:
            presence.tell(row, cells)
        yield row


def read_price_sheet(lines: Iterable[str]) -> PriceSheet:
    """All rows of a (small) price sheet, and the malformed rows alongside instead of raising."""
    errors: list[MalformedDataError] = []
    rows = list(iter_price_rows(lines, errors=errors))
    return PriceSheet(rows, errors)


def select_effective(rows: Iterable[PriceRow], on_date: date | datetime) -> list[PriceRow]:
    """The rows in effect on ``on_date``, one per :class:`PriceKey`.

    A ``date`` means the start of that day (UTC). When several rows of one key cover the moment,
    the one that started last wins (then the one that ends last): the month's latest price.
    """
    moment = as_moment(on_date)
    chosen: dict[PriceKey, PriceRow] = {}
    for row in rows:
        if not row.covers(moment):
            continue
        key = _price_key_of(row)
        current = chosen.get(key)
        if current is None or _recency(row) > _recency(current):
            chosen[key] = row
    return list(chosen.values())


def as_moment(on_date: date | datetime) -> datetime:
    """An aware UTC datetime for a date (its midnight) or a datetime (naive = UTC)."""
    if isinstance(on_date, datetime):
        if on_date.tzinfo is None:
            return on_date.replace(tzinfo=timezone.utc)
        return on_date.astimezone(timezone.utc)
    return datetime(on_date.year, on_date.month, on_date.day, tzinfo=timezone.utc)


@lru_cache(maxsize=256)
def normalize_term(value: str | None) -> str | None:
    """``None`` for one-time purchases, else the ISO-8601 duration in upper case (``P1Y``)."""
    text = (value or "").strip()
    if text.replace(" ", "").replace("_", "").lower() in _NO_TERM:
        return None
    return text.upper() if re.fullmatch(r"[Pp]\d+[YyMmDdWw]", text) else text


@lru_cache(maxsize=256)
def normalize_billing_plan(value: str | None, term_duration: str | None) -> str | None:
    """Lowercase billing plan; a blank plan without a term is a one-time purchase."""
    plan = normalize_billing_cycle(value)
    if plan is None and term_duration is None:
        return "one_time"
    return plan


# === INTERNALS === #


def _repaired_lines(lines: Iterable[str]) -> Iterator[str]:
    """Lines with the BOM removed and a record-closing typographic quote made a real one.

    Microsoft's examples close the last cell with U+201C; read as is, the quoted cell would run
    into the next line and swallow it. Only a line that starts a record, has an odd number of
    quotes and ends with a typographic quote is repaired, so quoted multi-line cells stay intact.
    """
    lines = iter(lines)
    first = next(lines, None)
    if first is None:
        return
    inside_quotes = False
    for line in chain((first.lstrip("\ufeff"),), lines):
        # the cheap membership test spares most lines the copy that rstrip makes
        if not inside_quotes and (_SMART_QUOTES[0] in line or _SMART_QUOTES[1] in line):
            content = line.rstrip("\r\n")
            if content.endswith(_SMART_QUOTES) and content.count('"') % 2:
                line = content[:-1] + '"' + line[len(content) :]
        if line.count('"') % 2:
            inside_quotes = not inside_quotes
        yield line


def _quoted_cells(line: str, width: int) -> list[str] | None:
    """The ``width`` cells of a line written ``"cell",...,"cell"`` and its line ending, else None.

    Splitting on ``","`` reads such a line as the csv module does when the line holds no quote
    but those around its cells (nor a NUL, which some Pythons' csv module refuses).
    """
    if line.endswith('"\n'):
        body = line[1:-2]
    elif line.endswith('"\r\n'):
        body = line[1:-3]
    else:
        return None
    if not line.startswith('"') or line.count('"') != 2 * width or "\0" in line:
        return None
    cells = body.split('","')
    return cells if len(cells) == width else None


class _Records:
    """The records of a sheet's lines: each line's cells, with the number of its first line.

    Nearly every line of a price sheet is one record written ``"cell","cell",...``: such a line
    is split on its ``","`` separators, several times faster than the csv module reads it. Any
    other line (a cell holding quotes or a line break, unquoted cells, a NUL, an over-long cell,
    a last line without its line ending) is handed to a ``csv.reader`` over the same lines,
    which reads the record to its end, however many lines it spans.
    """

    def __init__(self, lines: Iterable[str]):
        self.lines = _repaired_lines(lines)
        self.handed_back: list[str] = []
        self.reader = csv.reader(self._csv_lines(), strict=False)
        self.lines_read = 0

    def header(self) -> list[str] | None:
        return self._csv_record()

    def rows(self, width: int) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) of each record after the header."""
        longest = csv.field_size_limit()
        for line in self.lines:
            cells = _quoted_cells(line, width) if len(line) <= longest else None
            if cells is not None:
                self.lines_read += 1
                yield self.lines_read, cells
                continue
            line_number = self.lines_read + 1
            self.handed_back.append(line)
            cells = self._csv_record()
            if cells is not None:
                yield line_number, cells

    def _csv_record(self) -> list[str] | None:
        before = self.reader.line_num
        cells = next(self.reader, None)
        self.lines_read += self.reader.line_num - before
        return cells

    def _csv_lines(self) -> Iterator[str]:
        """The lines for the csv reader: the one handed back first, then the following ones."""
        while True:
            if self.handed_back:
                yield self.handed_back.pop()
                continue
            line = next(self.lines, None)
            if line is None:
                return
            yield line


def _is_blank_or_marker(cells: list[str]) -> bool:
    text = "".join(cells).strip()
    # The documentation's "======= Truncated ==============" line.
    return not text or (len(cells) == 1 and text.startswith("="))


def _normalize_header(name: str) -> str:
    cleaned = name.strip().strip('"\u201c\u201d\ufeff').strip()
    return re.sub(r"[\s_]+", "", cleaned).lower()


def _clean_header(name: str) -> str:
    return name.strip().strip('"\u201c\u201d\ufeff').strip()


def _recency(row: PriceRow) -> tuple[datetime, datetime]:
    return (
        row.effective_start or datetime.min.replace(tzinfo=timezone.utc),
        row.effective_end or datetime.max.replace(tzinfo=timezone.utc),
    )


class _Columns:
    """Positions of the known columns in one sheet's header, and the reading of one row."""

    def __init__(self, header: list[str]):
        self.width = len(header)
        self.names = [_clean_header(name) for name in header]
        self.index: dict[str, int] = {}
        self.extra: list[int] = []
        for position, name in enumerate(header):
            attribute = COLUMNS.get(_normalize_header(name))
            if attribute is None:
                self.extra.append(position)
            elif attribute in self.index:
                raise MalformedDataError(
                    "The price sheet header repeats a column.", row=1, column=self.names[position]
                )
            else:
                self.index[attribute] = position
        self.positions = {attribute: self.index.get(attribute, -1) for attribute in ATTRIBUTES}
        for attribute in REQUIRED_COLUMNS:
            if attribute not in self.index:
                raise MalformedDataError(
                    "The price sheet header lacks a required column.",
                    row=1,
                    column=_display_name(attribute),
                )
        # The cells of ATTRIBUTES, in that order, from a row's stripped cells plus an empty one
        # at the end: absent columns point at it (-1).
        self.known_cells = itemgetter(*self.positions.values())

    def row(self, cells: list[str], line_number: int) -> PriceRow:
        if len(cells) != self.width:
            raise self._width_error(cells, line_number)
        stripped = list(map(str.strip, cells))
        stripped.append("")
        (
            product_title,
            product_id,
            sku_id,
            sku_title,
            publisher,
            sku_description,
            unit_of_measure,
            term_text,
            plan_text,
            market,
            currency,
            unit_price,
            tier_min,
            tier_max,
            erp_price,
            start,
            end,
            tags,
            segment,
        ) = self.known_cells(stripped)
        if not (
            product_id
            and sku_id
            and market
            and currency
            and unit_price
            and _is_currency_code(currency)
        ):
            raise self._required_cell_error(stripped, line_number)
        term = normalize_term(term_text)
        amount, moment = self._amount, self._moment
        return PriceRow(
            line_number,
            product_id,
            sku_id,
            market.upper(),
            currency,
            amount(unit_price, "unit_price", line_number),
            term,
            normalize_billing_plan(plan_text, term),
            amount(erp_price, "erp_price", line_number) if erp_price else None,
            amount(tier_min, "tier_min", line_number) if tier_min else None,
            amount(tier_max, "tier_max", line_number) if tier_max else None,
            moment(start, "effective_start", line_number) if start else None,
            moment(end, "effective_end", line_number) if end else None,
            product_title,
            sku_title,
            sku_description,
            publisher,
            unit_of_measure,
            _split_tags(tags),
            _normalize_segment(segment),
            tuple((self.names[i], cells[i]) for i in self.extra) if self.extra else (),
        )

    def _amount(self, text: str, attribute: str, line_number: int) -> Decimal:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise self._error(attribute, f"{text!r} is not a number.", line_number)
        if not number.is_finite() or number < 0:
            raise self._error(attribute, f"{text!r} is not a valid amount.", line_number)
        return number

    def _moment(self, text: str, attribute: str, line_number: int) -> datetime:
        try:
            return parse_sheet_date(text)
        except ValueError:
            raise self._error(attribute, f"{text!r} is not a date.", line_number)

    def _width_error(self, cells: list[str], line_number: int) -> MalformedDataError:
        unnamed = [position for position, name in enumerate(self.names) if not name]
        if unnamed and len(cells) < self.width:
            # the header is what cannot be read (a stray separator): say so, on its line
            return MalformedDataError(
                f"The price sheet header has a column without a name, which line {line_number} "
                "does not have: the header cannot be read.",
                row=1,
                column=f"column {unnamed[0] + 1}",
            )
        column = self.names[len(cells)] if len(cells) < self.width else "(extra cell)"
        return MalformedDataError(
            f"The row has {len(cells)} cells where the header has {self.width}.",
            row=line_number,
            column=column,
        )

    def _required_cell_error(self, stripped: list[str], line_number: int) -> MalformedDataError:
        """The first problem of the required cells, in the order a row is read."""
        values = dict(zip(ATTRIBUTES, self.known_cells(stripped), strict=True))
        for attribute in ("product_id", "sku_id", "market", "currency"):
            if not values[attribute]:
                return self._error(attribute, "A required cell is empty.", line_number)
        currency = values["currency"]
        if not _is_currency_code(currency):
            problem = f"{currency!r} is not a currency code (3 capital letters)."
            return self._error("currency", problem, line_number)
        return self._error("unit_price", "A required price is empty.", line_number)

    def _error(self, attribute: str, problem: str, line_number: int) -> MalformedDataError:
        column = self.names[self.positions[attribute]]
        return MalformedDataError(problem, row=line_number, column=column)


class _Presence:
    """Rows of currencies nobody prices, passed over once another row told their SKU's presence.

    A row tells it for every later row with the same :data:`PRESENCE_ATTRIBUTES` cells, as they
    stand in the sheet: those rows add nothing but their currency.
    """

    def __init__(
        self, columns: _Columns, priced_currencies: Collection[str], seen_currencies: set[str]
    ):
        self.width = columns.width
        self.currency_position = columns.index["currency"]
        self.presence_cells = itemgetter(
            *(columns.index[name] for name in PRESENCE_ATTRIBUTES if name in columns.index)
        )
        amounts = [columns.index[name] for name in AMOUNT_ATTRIBUTES if name in columns.index]
        # a tuple of cells, even from one column (itemgetter of one index gives the cell alone)
        self.amount_cells = itemgetter(*amounts, amounts[0])
        # The amount cells joined by commas: one match tells they are all plain, as no plain
        # amount holds a comma.
        self.plain_amounts = re.compile(",".join([_PLAIN_AMOUNT] * (len(amounts) + 1))).fullmatch
        self.priced = frozenset(priced_currencies)
        self.seen = seen_currencies
        self.told: set[tuple[str, ...]] = set()
        self.currency_codes: set[str] = set()

    def passes_over(self, cells: list[str]) -> bool:
        """Whether the row can be passed over unparsed; its currency is then seen."""
        if len(cells) != self.width:
            return False
        currency = cells[self.currency_position].strip()
        if currency in self.priced or self.presence_cells(cells) not in self.told:
            return False
        if currency not in self.currency_codes:
            if not _is_currency_code(currency):
                return False
            self.currency_codes.add(currency)
        if not self.plain_amounts(",".join(self.amount_cells(cells))):
            return False  # parsed in full: a malformed amount is told wherever the row stands
        self.seen.add(currency)
        return True

    def unpriced(self, cells: list[str]) -> bool:
        """Whether a row, counted against the header, is in a currency nobody prices."""
        if len(cells) != self.width:
            return False
        currency = cells[self.currency_position].strip()
        # an unreadable currency cell might be one that is priced: never skipped
        return bool(_is_currency_code(currency)) and currency not in self.priced

    def tell(self, row: PriceRow, cells: list[str]) -> None:
        """Note a yielded row: the later rows it makes redundant can be passed over."""
        if row.currency not in self.priced:
            self.told.add(self.presence_cells(cells))


@lru_cache(maxsize=256)
def _split_tags(text: str) -> tuple[str, ...]:
    return tuple(tag.strip() for tag in text.split(";") if tag.strip())


@lru_cache(maxsize=64)
def _normalize_segment(text: str) -> str | None:
    return text.lower() or None


@lru_cache(maxsize=4096)
def parse_sheet_date(value: str) -> datetime:
    """A price sheet date: ``2/1/2019 12:00:00 AM`` (month first) or ISO-8601, as aware UTC.

    :raise ValueError: when the text is neither
    """
    match = _US_DATE.fullmatch(value.strip().strip("()"))
    if match:
        month, day, year, hour, minute, second, meridiem = match.groups()
        hour_24 = int(hour or 0)
        if meridiem:
            if not 1 <= hour_24 <= 12:
                raise ValueError(value)
            hour_24 = hour_24 % 12 + (12 if meridiem.upper() == "PM" else 0)
        return datetime(
            int(year),
            int(month),
            int(day),
            hour_24,
            int(minute or 0),
            int(second or 0),
            tzinfo=timezone.utc,
        )
    parsed = parse_timestamp(value)
    if isinstance(parsed, datetime):
        return parsed
    raise ValueError(value)


def _display_name(attribute: str) -> str:
    names = {
        "product_id": "ProductId",
        "sku_id": "SkuId",
        "market": "Market",
        "currency": "Currency",
        "unit_price": "UnitPrice",
    }
    return names.get(attribute, attribute)
