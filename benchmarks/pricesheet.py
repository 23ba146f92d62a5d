"""Benchmark of the streaming price-sheet reader.

Generates a software price sheet (500,000 rows by default), parses it with
``partner_center.pricesheet.iter_price_rows`` and prints rows per second and peak memory:
the peak of Python allocations (tracemalloc, second pass) and the growth of the process's peak
resident set size over the interpreter's baseline. The reader must stay under 100 MB above the
baseline whatever the sheet's size.

    python benchmarks/pricesheet.py [--rows N] [--file]

``--file`` writes the sheet to a temporary file first and reads it from disk (as a downloaded
sheet would be); by default lines come from a generator, so only the reader's memory counts.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import devenv  # noqa: E402 - the project's set-up, found through the path above

if __name__ == "__main__" and not devenv.in_venv():
    # partner_center needs the suite's packages (msal, requests): run in its environment
    sys.exit(devenv.run_in_venv(__file__, sys.argv[1:]))

from partner_center.pricesheet import SOFTWARE_SHEET_COLUMNS, iter_price_rows  # noqa: E402

LIMIT_MB = 100
HEADER = SOFTWARE_SHEET_COLUMNS
CURRENCIES = ("EUR", "GBP", "CHF", "SEK", "NOK", "DKK")
TERMS = (
    ("P1Y", "Annual", "Software;Subscription"),
    ("P3Y", "Annual", "Software;Subscription"),
    ("P3Y", "Triennial", "Software;Subscription"),
    ("OneTime", "", "Software;Perpetual"),
)
SEGMENTS = ("Commercial", "Education", "Charity")


def sheet_lines(rows: int) -> Iterator[str]:
    """A deterministic software price sheet of ``rows`` data rows, as CSV text lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield "\ufeff" + line(HEADER)
    for index in range(rows):
        product = index // 48
        term, billing, tags = TERMS[index % 4]
        currency = CURRENCIES[(index // 4) % 6]
        price = 100 + (product % 997) + (index % 7) / 10
        start, end = (
            ("3/1/2024 12:00:00 AM", "11/30/9999 11:59:59 PM")
            if index % 2
            else ("2024-03-01T00:00:00.0000000Z", "9999-11-30T23:59:59.0000000Z")
        )
        yield line(
            [
                f"Windows Server 2022 Standard {product}",
                f"DG7GMGF0{product % 1679616:04X}",
                f"{(index // 24) % 2:04d}",
                f'Windows Server 2022, "2 Core" pack {index % 3}',
                "Microsoft",
                "Licences for two cores, with Software Assurance; see terms.",
                "",
                term,
                billing,
                "DE",
                currency,
                f"{price:.2f}",
                "",
                "",
                start,
                end,
                tags,
                f"{price * 1.25:.2f}",
                SEGMENTS[(index // 24) % 3],
            ]
        )


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB (Linux reports KB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def consume(lines, limit: int | None = None) -> tuple[int, float]:
    """Parse ``lines`` (at most ``limit`` rows); the row count and the seconds it took."""
    started = time.perf_counter()
    count = 0
    for _row in iter_price_rows(lines):
        count += 1
        if count == limit:
            break
    return count, time.perf_counter() - started


def generation_seconds(rows: int) -> float:
    started = time.perf_counter()
    for _line in sheet_lines(rows):
        pass
    return time.perf_counter() - started


def open_lines(path: str | None, rows: int):
    if path is None:
        return sheet_lines(rows)
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed by the caller


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--file", action="store_true", help="read the sheet from a temp file")
    parser.add_argument(
        "--trace-rows",
        type=int,
        default=100_000,
        help="rows parsed under tracemalloc (slow; 0 = all)",
    )
    args = parser.parse_args(argv)

    path = None
    if args.file:
        handle, path = tempfile.mkstemp(suffix=".csv", prefix="pricesheet-")
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.writelines(sheet_lines(args.rows))
        print(f"sheet file: {os.path.getsize(path) / 1e6:.1f} MB")
    try:
        baseline = peak_rss_mb()
        lines = open_lines(path, args.rows)
        count, elapsed = consume(lines)
        rss_growth = peak_rss_mb() - baseline
        if path:
            lines.close()

        lines = open_lines(path, args.rows)
        tracemalloc.start()
        traced_rows, _seconds = consume(lines, args.trace_rows or None)
        traced_peak = tracemalloc.get_traced_memory()[1] / (1024 * 1024)
        tracemalloc.stop()
        if path:
            lines.close()
    finally:
        if path:
            os.unlink(path)

    within = max(rss_growth, traced_peak) < LIMIT_MB
    print(f"rows parsed: {count:,}")
    print(f"time: {elapsed:.2f} s, {count / elapsed:,.0f} rows/s (reading the lines included)")
    if path is None:
        parse_only = elapsed - generation_seconds(args.rows)
        print(f"parser alone: {parse_only:.2f} s, {count / parse_only:,.0f} rows/s")
    print(f"peak Python allocations (tracemalloc, {traced_rows:,} rows): {traced_peak:.2f} MB")
    print(f"peak RSS growth over baseline ({baseline:.1f} MB): {rss_growth:.1f} MB")
    print(f"under {LIMIT_MB} MB above baseline: {'yes' if within else 'NO'}")
    return 0 if within and count == args.rows else 1


if __name__ == "__main__":
    sys.exit(main())
