"""Software price sheet CSV, generated row by row so the HTTP layer can stream it.

Dating: the simulator's current month ``N`` is the real current calendar month (of simulator
time); month ``k`` began ``N - k`` calendar months earlier. A price change made by month ``k``
starts on the 1st of that calendar month, and the row it replaces ends one second before, so a
sheet holds several rows per SKU and a reader must take the row whose dates cover the day.

``timeline=current`` (default): every row of the SKUs listed this month, including superseded
ones, plus the last (already ended) row of SKUs retired this month.
``timeline=history``: same, plus the ended rows of every SKU retired earlier.
``timeline=future``: current rows plus next month's price changes (starting next month).
Perpetual SKUs may also carry ``Education`` segment rows (cheaper): readers filter on Segment.
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal

from ..pricesheet import SOFTWARE_SHEET_COLUMNS
from .catalogue import COMMERCIAL, EDUCATION, MARKETS, PERPETUAL
from .utils import add_months, money_text, sheet_date

COLUMNS = SOFTWARE_SHEET_COLUMNS
OPEN_END = "11/30/9999 11:59:59 PM"
FIRST_LISTED = (2022, 4, 1)  # the software price list API opened on 1 April 2022
ERP_MARKUP = Decimal("1.15")
TIMELINES = ("current", "history", "future")


def iter_rows(catalogue, market, current_month_start, timeline="current", month=None, window=None):
    """Yield price-sheet rows (lists in ``COLUMNS`` order) for ``market``.

    :param current_month_start: datetime of the 1st of the simulator's current calendar month
    :param window: optional (start, end) datetimes: keep only rows effective during it
    """
    month = catalogue.month if month is None else month
    timeline = timeline if timeline in TIMELINES else "current"
    reach = month + 1 if timeline == "future" else month
    catalogue.changes(reach)  # make sure the months we read are generated
    for sku in catalogue.all_skus(reach):
        if market not in sku.countries or not _listed(sku, month, timeline):
            continue
        for row, start, end in _sku_rows(catalogue, sku, market, month, reach, current_month_start):
            if window is None or (start < window[1] and (end is None or end > window[0])):
                yield row


def _listed(sku, month, timeline):
    if sku.retired is None or sku.retired > month:
        return True
    return timeline == "history" or sku.retired == month


def _sku_rows(catalogue, sku, market, month, reach, current_month_start):
    def month_begin(event_month):
        return add_months(current_month_start, event_month - month)

    if sku.introduced == 0:
        # Listed since before the simulation: a month-0 change splits its history at month 0.
        first = current_month_start.replace(
            year=FIRST_LISTED[0], month=FIRST_LISTED[1], day=FIRST_LISTED[2]
        )
        starts = [(first, -1)]
    else:
        starts = [(month_begin(sku.introduced), sku.introduced)]
    events = sorted({event for event, _ in sku.reprices if starts[0][1] < event <= reach})
    starts += [(month_begin(event), event) for event in events]
    retired = sku.retired is not None and sku.retired <= reach
    last_end = month_begin(sku.retired) if retired else None
    segments = []
    for index, (start, price_month) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else last_end
        segments.append((start, end, price_month))
    segments_by_segment = [(COMMERCIAL, segments)]
    if sku.education:
        segments_by_segment.append((EDUCATION, segments))
    for segment, dated in segments_by_segment:
        for term, billing in sku.terms:
            for currency in MARKETS[market][1]:
                for start, end, price_month in dated:
                    price = catalogue._price_at(
                        sku, term, billing, market, currency, price_month, segment
                    )
                    row = _row(sku, term, billing, market, currency, price, start, end, segment)
                    yield row, start, end


def _row(sku, term, billing, market, currency, price, start, end, segment):
    perpetual = sku.kind == PERPETUAL
    end_text = sheet_date(end - timedelta(seconds=1)) if end is not None else OPEN_END
    return [
        sku.product.title,
        sku.product_id,
        sku.id,
        sku.title,
        "Microsoft",
        sku.description,
        "",
        "OneTime" if term is None else term,
        "" if billing == "one_time" else billing.capitalize(),
        market,
        currency,
        money_text(price),
        "",
        "",
        sheet_date(start),
        end_text,
        "Software;Perpetual" if perpetual else "Software;Subscription",
        money_text(price * ERP_MARKUP),
        segment,
    ]


def iter_csv_chunks(rows, chunk_size=64 * 1024, bom=False):
    """Encode rows as CSV, every field quoted (as in the samples), ``chunk_size`` at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= chunk_size:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
