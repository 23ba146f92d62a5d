"""Fault injection: rules matched against each non-admin request.

A rule is ``{method, path_regex, kind, status, retry_after, delay, count, probability, code,
body}``; the first rule that matches (method, ``re.search`` on the URL path, then a draw of the
seeded RNG against ``probability``) applies and uses up one of its ``count`` (``None`` =
forever). Kinds:

- ``status``: answer ``status`` with a Partner Center error body (``code`` defaults to the
  status; ``body`` replaces the body), plus ``Retry-After`` when ``retry_after`` is set.
- ``slow``: wait ``delay`` seconds, then answer normally.
- ``reset``: close the connection (TCP reset) without reading further or answering; no effect.
- ``drop_after_commit``: do the work (e.g. create the order), then close without answering.
- ``accepted``: for a subscription PATCH, answer 202 + ``Location`` and apply the change only
  after ``delay`` seconds (poll the operation or the subscription).

Compact syntax (CLI ``--fault``, or a string where a rule is expected)::

    TARGET:KIND[:PROBABILITY[:COUNT]]

    TARGET  an alias (see ``TARGETS``: token, discovery, products, pricesheet, customer,
            customer-create, customer-search, carts, checkout, orders, subscriptions,
            subscription-patch, entitlements, api, any)
            or ``[METHOD ]/regex`` (no colons), e.g. ``GET /v1/customers/[^/]+/orders``
    KIND    reset | drop_after_commit | drop | slow=SECONDS | accepted[=SECONDS]
            | status=NNN[/RETRY_AFTER] | NNN[/RETRY_AFTER]
    PROBABILITY  0..1, default 1;  COUNT  how many times, default unlimited

    checkout:drop_after_commit:0.3      lose 30 % of checkout answers after the order exists
    orders:429/30::2                    throttle the next two order reads, Retry-After: 30
    token:503                           the token service is down
    products:slow=4:0.5                 half of catalogue reads take 4 s more
    subscription-patch:accepted=2       subscription updates finish 2 s after a 202
"""

import random
import re
import threading
from dataclasses import asdict, dataclass, fields

KINDS = ("status", "slow", "reset", "drop_after_commit", "accepted")
TARGETS = {
    "token": ("POST", r"/oauth2/v2\.0/token$"),
    "discovery": ("GET", r"/\.well-known/openid-configuration$"),
    "products": ("GET", r"^/v1/products"),
    "catalogue": ("GET", r"^/v1/products"),
    "pricesheet": ("GET", r"^/v1\.0/sales/pricesheets"),
    "customer": ("GET", r"^/v1/customers/[^/]+$"),
    "customer-create": ("POST", r"^/v1/customers$"),
    "customer-search": ("GET", r"^/v1/customers$"),
    "carts": ("POST", r"^/v1/customers/[^/]+/carts$"),
    "checkout": ("POST", r"^/v1/customers/[^/]+/carts/[^/]+/checkout$"),
    "orders": ("GET", r"^/v1/customers/[^/]+/orders"),
    "subscriptions": ("GET", r"^/v1/customers/[^/]+/subscriptions"),
    "subscription-patch": ("PATCH", r"^/v1/customers/[^/]+/subscriptions/[^/]+$"),
    "entitlements": ("GET", r"^/v1/customers/[^/]+/entitlements"),
    "api": (None, r"^/v1"),
    "any": (None, r".*"),
}
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


@dataclass
class FaultRule:
    kind: str
    method: str | None = None
    path_regex: str = ".*"
    status: int = 503
    retry_after: float | None = None
    delay: float = 0.0
    count: int | None = None
    probability: float = 1.0
    code: int | None = None
    body: object = None
    hits: int = 0

    def __post_init__(self):
        if self.kind == "drop":
            self.kind = "drop_after_commit"
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.method in ("*", ""):
            self.method = None
        self.method = self.method.upper() if self.method else None
        self._pattern = re.compile(self.path_regex or ".*")
        if not 0 <= float(self.probability) <= 1:
            raise ValueError("fault probability must be between 0 and 1")
        if self.count is not None and int(self.count) <= 0:
            raise ValueError("fault count must be positive (or null for always)")

    @classmethod
    def from_any(cls, value):
        """Build a rule from a rule, a dict (unknown keys refused) or a compact spec string."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return parse_fault_spec(value)
        known = {item.name for item in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown fault rule keys: {', '.join(sorted(unknown))}")
        return cls(**value)

    def to_dict(self):
        return asdict(self)

    def matches(self, method, path):
        return (self.method is None or self.method == method) and bool(self._pattern.search(path))


def parse_fault_spec(spec):
    """Parse ``TARGET:KIND[:PROBABILITY[:COUNT]]`` (see the module docstring)."""
    parts = spec.strip().split(":")
    if len(parts) < 2 or len(parts) > 4:
        raise ValueError(f"fault spec {spec!r} is not TARGET:KIND[:PROBABILITY[:COUNT]]")
    method, path_regex = _parse_target(parts[0].strip())
    rule = {"method": method, "path_regex": path_regex}
    rule.update(_parse_kind(parts[1].strip()))
    if len(parts) > 2 and parts[2].strip():
        rule["probability"] = float(parts[2])
    if len(parts) > 3 and parts[3].strip():
        rule["count"] = int(parts[3])
    return FaultRule(**rule)


def _parse_target(target):
    if target.lower() in TARGETS:
        return TARGETS[target.lower()]
    method, _, rest = target.partition(" ")
    if method.upper() in _METHODS and rest.strip():
        return method.upper(), rest.strip()
    if target.startswith(("/", "^")):
        return None, target
    raise ValueError(f"unknown fault target {target!r}; use an alias or [METHOD ]/regex")


def _parse_kind(text):
    name, _, argument = text.partition("=")
    name = name.lower()
    if name in ("reset", "drop", "drop_after_commit"):
        return {"kind": name}
    if name == "slow":
        return {"kind": "slow", "delay": float(argument or 5)}
    if name == "accepted":
        return {"kind": "accepted", "delay": float(argument or 1)}
    status_text = argument if name == "status" else text
    status, _, retry_after = status_text.partition("/")
    if not status.isdigit():
        raise ValueError(f"unknown fault kind {text!r}")
    rule = {"kind": "status", "status": int(status)}
    if retry_after:
        rule["retry_after"] = float(retry_after)
    return rule


class FaultBook:
    """The active rules; thread-safe; probability draws come from a seeded RNG."""

    def __init__(self, seed):
        self._rules = []
        self._lock = threading.Lock()
        self._rng = random.Random(f"pc-sim:{seed}:faults")

    def set(self, rules):
        parsed = [FaultRule.from_any(rule) for rule in rules]
        with self._lock:
            self._rules = parsed
        return parsed

    def add(self, rules):
        parsed = [FaultRule.from_any(rule) for rule in rules]
        with self._lock:
            self._rules.extend(parsed)
        return parsed

    def clear(self):
        with self._lock:
            self._rules = []

    def rules(self):
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def match(self, method, path):
        """The rule to apply to this request, or None; uses up one of its count."""
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(method, path):
                    continue
                if rule.probability < 1 and self._rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                return rule
        return None
