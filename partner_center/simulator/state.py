"""Mutable simulator state: one lock, optional JSON persistence, simulator clock.

The state file is rewritten atomically (temporary file + rename) after every mutation, so a
restarted simulator finds the customers, carts, orders, subscriptions and refresh tokens (by
hash) it had. The catalogue is not stored: it is regenerated from the seed.
"""

import contextlib
import json
import os
import threading
import time

from .settings import DEMO_CUSTOMERS

STATE_VERSION = 1
IDEMPOTENCY_TTL = 24 * 3600


def _empty_state():
    return {
        "version": STATE_VERSION,
        "clock_offset": 0.0,
        "token_generation": 0,
        "customers": {},
        "carts": {},
        "orders": {},
        "subscriptions": {},
        "refresh_tokens": {},
        "idempotency": {},
        "operations": {},
    }


def demo_customer_records():
    return {
        tenant_id: {
            "tenant_id": tenant_id,
            "company_name": company_name,
            "country": country,
            "domain": f"{domain}.onmicrosoft.com",
            "culture": culture,
        }
        for tenant_id, company_name, country, domain, culture in DEMO_CUSTOMERS
    }


class SimState:
    """Holds every mutable record as plain JSON-able dicts, guarded by one re-entrant lock."""

    def __init__(self, path=None):
        self.path = path
        self.lock = threading.RLock()
        self.data = _empty_state()
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                loaded = json.load(handle)
            self.data.update(loaded)
        for tenant_id, record in demo_customer_records().items():
            self.data["customers"].setdefault(tenant_id, record)
        # A checkout interrupted by a stop never committed (orders and the "Ordered" status
        # are written together): its cart is open again.
        for cart in self.data["carts"].values():
            if cart["status"] == "Processing":
                cart["status"] = "Active"

    # === CLOCK === #

    def now(self):
        """Simulator time: wall clock plus what ``advance_clock`` added."""
        return time.time() + self.data["clock_offset"]

    def advance_clock(self, seconds):
        with self.mutate():
            self.data["clock_offset"] += float(seconds)
        return self.now()

    # === LOCKING AND PERSISTENCE === #

    @contextlib.contextmanager
    def mutate(self):
        """Hold the lock for a change and save the state afterwards (even on a raised error,
        since a handler may have changed records before it refused the rest)."""
        with self.lock:
            try:
                yield self.data
            finally:
                self.save()

    def save(self):
        if not self.path:
            return
        with self.lock:
            self._prune_idempotency()
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, exist_ok=True)
            temporary = f"{self.path}.{os.getpid()}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, indent=1, sort_keys=True)
            os.replace(temporary, self.path)

    def _prune_idempotency(self):
        horizon = self.now() - IDEMPOTENCY_TTL
        stale = [key for key, record in self.data["idempotency"].items() if record["at"] < horizon]
        for key in stale:
            del self.data["idempotency"][key]
