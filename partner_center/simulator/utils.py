"""Small helpers shared by the simulator: time formats, ids, JSON links."""

import base64
import calendar
import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

# Partner Center's own id alphabet for catalogue ids (no vowels, no look-alikes).
CATALOGUE_ID_ALPHABET = "0123456789BCDFGHJKLMNPQRSTVWXZ"


def utc_from_epoch(epoch):
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def iso_timestamp(epoch):
    """Format like Partner Center does: 7 fractional digits and a ``Z`` suffix.

    Python 3.10's ``datetime.fromisoformat`` cannot read this; real clients must cope.
    """
    moment = utc_from_epoch(epoch)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def iso_date(epoch):
    """Midnight of the day of ``epoch``, as used for commitment and expiry dates."""
    return utc_from_epoch(epoch).strftime("%Y-%m-%dT00:00:00Z")


def sheet_date(moment):
    """Price-sheet date format: ``2/1/2019 12:00:00 AM`` (no leading zeros)."""
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {suffix}"
    )


def add_months(moment, months):
    """Shift a datetime by whole calendar months, clamping the day."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def month_start(moment):
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def end_of_term(start_epoch, duration):
    """Commitment end date of a term: the day before the anniversary (as Microsoft shows it)."""
    years = {"P1Y": 1, "P3Y": 3}.get(duration, 1)
    start = utc_from_epoch(start_epoch)
    end = add_months(start, 12 * years) - timedelta(days=1)
    return end.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def money(value):
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def money_text(value):
    """``115.2`` / ``144``: the sheet drops trailing zeros, so parsers must not expect 2 dp."""
    return format(money(value).normalize(), "f")


def stable_hash(*parts):
    return hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()


def catalogue_code(*parts, length=4):
    """Deterministic catalogue-style code (``DG7GMGF0`` suffixes, availability ids)."""
    digest = int.from_bytes(stable_hash(*parts), "big")
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(CATALOGUE_ID_ALPHABET))
        chars.append(CATALOGUE_ID_ALPHABET[index])
    return "".join(chars)


def base36(number, width=4):
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while number:
        number, index = divmod(number, 36)
        text = digits[index] + text
    return text.rjust(width, "0")


def new_guid():
    return str(uuid.uuid4())


def new_order_id():
    """Long order id as in the software samples: 32 url-safe chars plus a trailing ``1``."""
    raw = base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes[:8]).decode()
    return raw.rstrip("=")[:32] + "1"


def new_alternate_id():
    return uuid.uuid4().hex[:12]


def link(uri, method="GET"):
    return {"uri": uri, "method": method, "headers": []}


def collection(items, self_uri=None, total=None):
    body = {"totalCount": len(items) if total is None else total, "items": items}
    if self_uri:
        body["links"] = {"self": link(self_uri)}
    body["attributes"] = {"objectType": "Collection"}
    return body
