"""Shared helpers of the unit tests: where Microsoft's samples live, and price-sheet builders."""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

from partner_center.pricesheet import SOFTWARE_SHEET_COLUMNS

SAMPLES_SUBDIR = Path("reference") / "partner-center-samples"

SOFTWARE_HEADER = SOFTWARE_SHEET_COLUMNS


def shared_dir() -> Path:
    """``$MS_CSP_SHARED``, else ``shared/`` beside the repository or, for a clone made elsewhere
    (a CI checkout), beside the local repository it was cloned from."""
    override = os.environ.get("MS_CSP_SHARED")
    if override:
        return Path(override)
    repository = Path(__file__).resolve().parents[2]
    candidates = [repository.parent / "shared"]
    origin = _local_origin(repository)
    if origin:
        candidates.append(origin.parent / "shared")
    return next((path for path in candidates if path.is_dir()), candidates[0])


def _local_origin(repository: Path) -> Path | None:
    """The directory ``repository`` was cloned from, when that is a local path."""
    try:
        url = subprocess.run(
            ["git", "-C", str(repository), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(url.removeprefix("file://")) if url else None
    return path.resolve() if path and path.is_absolute() and path.is_dir() else None


def samples_dir() -> Path:
    return shared_dir() / SAMPLES_SUBDIR


def load_sample(name: str):
    return json.loads((samples_dir() / name).read_text(encoding="utf-8"))


def csv_line(*cells: str) -> str:
    return ",".join('"' + str(cell).replace('"', '""') + '"' for cell in cells) + "\r\n"


def software_row(
    product_id="DG7GMGF0D5SL",
    sku_id="0007",
    term="P1Y",
    billing="Annual",
    market="US",
    currency="USD",
    price="100",
    erp="125",
    start="3/1/2024 12:00:00 AM",
    end="11/30/9999 11:59:59 PM",
    tags="Software;Subscription",
    segment="Commercial",
    title="Windows Server 2022 Standard",
    tier_min="",
    tier_max="",
) -> dict:
    """One price-sheet row as a column -> cell mapping (software view)."""
    return {
        "ProductTitle": title,
        "ProductId": product_id,
        "SkuId": sku_id,
        "SkuTitle": f"{title} - 2 Core License Pack",
        "Publisher": "Microsoft",
        "SkuDescription": "A licence pack.",
        "UnitOfMeasure": "",
        "TermDuration": term,
        "BillingPlan": billing,
        "Market": market,
        "Currency": currency,
        "UnitPrice": price,
        "PricingTierRangeMin": tier_min,
        "PricingTierRangeMax": tier_max,
        "EffectiveStartDate": start,
        "EffectiveEndDate": end,
        "Tags": tags,
        "ERP Price": erp,
        "Segment": segment,
    }


def sheet_lines(rows, header=SOFTWARE_HEADER) -> list[str]:
    """CSV text lines (header first) for rows given as column -> cell mappings."""
    return [csv_line(*header)] + [csv_line(*(row.get(name, "") for name in header)) for row in rows]


def price_row(**overrides):
    """A parsed :class:`PriceRow` with defaults, for the pure price functions."""
    from partner_center.pricesheet import iter_price_rows

    return next(iter_price_rows(sheet_lines([software_row(**overrides)])))


def dec(value) -> Decimal:
    return Decimal(str(value))
