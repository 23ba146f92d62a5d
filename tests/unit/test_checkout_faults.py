"""Crash-safe ordering under injected faults.

200 logical checkouts go through ``place_order`` while about a third of them meet a fault:
answers lost after the order was committed, connection resets, 5xx, throttling, slow answers.
A logical checkout whose call ends in a typed error is retried the way the Odoo job would (same
idempotency key, the cart id it learned). In the end every logical checkout has exactly one
Partner Center order, counted through the simulator's admin view, and every call ended with an
order or a typed :class:`PartnerCenterError`.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter

from partner_center.client import order_marker
from partner_center.errors import PartnerCenterError
from partner_center.resources import CartLineItem

LOGICAL_CHECKOUTS = 200
MAX_CALLS_PER_CHECKOUT = 8

CHECKOUT = r"^/v1/customers/[^/]+/carts/[^/]+/checkout$"
CARTS = r"^/v1/customers/[^/]+/carts$"
ORDERS = r"^/v1/customers/[^/]+/orders$"
FAULTS = [
    {"method": "POST", "path_regex": CHECKOUT, "kind": "drop_after_commit", "probability": 0.12},
    {"method": "POST", "path_regex": CHECKOUT, "kind": "reset", "probability": 0.04},
    {
        "method": "POST",
        "path_regex": CHECKOUT,
        "kind": "status",
        "status": 503,
        "probability": 0.05,
    },
    {"method": "POST", "path_regex": CHECKOUT, "kind": "slow", "delay": 0.6, "probability": 0.02},
    {"method": "POST", "path_regex": CARTS, "kind": "drop_after_commit", "probability": 0.06},
    {"method": "POST", "path_regex": CARTS, "kind": "status", "status": 500, "probability": 0.03},
    {
        "method": "GET",
        "path_regex": ORDERS,
        "kind": "status",
        "status": 429,
        "retry_after": 0,
        "probability": 0.04,
    },
    {"method": "GET", "path_regex": ORDERS, "kind": "reset", "probability": 0.03},
]


def sale_lines(sim):
    """Per demo customer, one cart line it may buy (a perpetual licence or a subscription)."""
    lines = {}
    for index, customer in enumerate(sim.customers[:6]):
        country = customer["country"]
        if index % 2:
            sku = sim.catalogue.skus_for(country, "SoftwarePerpetual", purchasable_only=True)[0]
            term, billing = None, "one_time"
        else:
            sku = next(
                sku
                for sku in sim.catalogue.skus_for(
                    country, "SoftwareSubscriptions", purchasable_only=True
                )
                if ("P1Y", "annual") in sku.terms
            )
            term, billing = "P1Y", "annual"
        catalog_item_id = sim.catalogue.catalog_item_id(sku.product_id, sku.id)
        lines[customer["tenant_id"]] = CartLineItem(catalog_item_id, 1 + index, billing, term)
    return lines


def checkout_until_done(client, tenant, line, key):
    """Call ``place_order`` like a retrying job; return the outcome of every call."""
    outcomes, cart_id = [], None
    for _call in range(MAX_CALLS_PER_CHECKOUT):
        try:
            result = client.place_order(
                tenant, [line], key, cart_id=cart_id, on_cart_created=lambda new: None
            )
        except PartnerCenterError as error:
            outcomes.append(type(error).__name__)
            cart_id = error.cart_id or cart_id
            continue
        assert result.orders and all(order.id for order in result.orders)
        outcomes.append("order")
        return outcomes
    return outcomes


def test_every_logical_checkout_makes_exactly_one_order(sim, make_client):
    client = make_client(
        max_retries=1,
        read_timeout=0.4,
        deadline_seconds=4.0,
        backoff_base=0.005,
        backoff_max=0.02,
    )
    lines = sale_lines(sim)
    tenants = list(lines)
    run = uuid.uuid4().hex[:8]
    keys = {
        f"fault-run-{run}/{number}": tenants[number % len(tenants)]
        for number in range(LOGICAL_CHECKOUTS)
    }

    started = time.monotonic()
    sim.set_faults(FAULTS)
    outcomes = {
        key: checkout_until_done(client, tenant, lines[tenant], key) for key, tenant in keys.items()
    }
    faults_hit = Counter(entry["fault"] for entry in sim.requests_log() if entry["fault"])
    sim.clear_faults()
    elapsed = time.monotonic() - started

    assert all(calls[-1] == "order" for calls in outcomes.values()), {
        key: calls for key, calls in outcomes.items() if calls[-1] != "order"
    }
    marker_of = {order_marker(key): key for key in keys}
    orders_per_key = Counter()
    for tenant in set(keys.values()):
        for order in sim.all_orders(tenant):
            for marker, key in marker_of.items():
                if any(marker in (item.get("friendlyName") or "") for item in order["lineItems"]):
                    orders_per_key[key] += 1
    assert {key: orders_per_key[key] for key in keys} == dict.fromkeys(keys, 1)

    assert faults_hit["drop_after_commit"] >= 10 and faults_hit["reset"] >= 3
    assert sum(faults_hit.values()) >= LOGICAL_CHECKOUTS * 0.25
    typed_errors = Counter(name for calls in outcomes.values() for name in calls[:-1])
    assert set(typed_errors) <= {
        "TransientError",
        "ThrottledError",
        "OrderNotVisibleYet",
        "CartInProgress",
        "ConflictError",
    }
    assert elapsed < 60
