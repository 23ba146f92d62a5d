"""Cancelling a perpetual licence's order line: the client's PATCH against the simulator."""

from __future__ import annotations

import pytest

from partner_center.client import order_marker, tag_line_items
from partner_center.errors import CODE_CANCELLATION_WINDOW_PASSED, PartnerCenterError
from partner_center.resources import CartLineItem

DAY = 86400


def perpetual_line(client, sim, quantity=1):
    sku = sim.catalogue.skus_for("US", "SoftwarePerpetual", purchasable_only=True)[0]
    (availability,) = client.availabilities(sku.product_id, sku.id, "US")
    return CartLineItem(availability.catalog_item_id, quantity, "one_time")


def buy(client, customer, line, key):
    line = tag_line_items([line], order_marker(key))[0]
    return client.place_order(customer["tenant_id"], [line], key).orders[0]


def test_cancelling_within_30_days_cancels_the_line(sim, client, customer):
    order = buy(client, customer, perpetual_line(client, sim, quantity=2), "cancel-inside")
    sim.advance_clock(29 * DAY)
    cancelled = client.cancel_order_lines(
        customer["tenant_id"], order.id, [(0, order.line_items[0].offer_id)]
    )
    assert cancelled.id == order.id
    assert cancelled.status == "cancelled"
    assert cancelled.line_items[0].quantity == 0
    patches = [
        entry
        for entry in sim.requests_log()
        if entry["method"] == "PATCH" and order.id in entry["path"]
    ]
    assert len(patches) == 1


def test_the_offer_id_may_be_left_out(sim, client, customer):
    order = buy(client, customer, perpetual_line(client, sim), "cancel-no-offer")
    cancelled = client.cancel_order_lines(customer["tenant_id"], order.id, [(0, None)])
    assert cancelled.status == "cancelled"


def test_cancelling_after_the_window_is_refused_with_900117(sim, client, customer):
    order = buy(client, customer, perpetual_line(client, sim), "cancel-late")
    sim.advance_clock(31 * DAY)
    with pytest.raises(PartnerCenterError) as refused:
        client.cancel_order_lines(customer["tenant_id"], order.id, [(0, None)])
    assert refused.value.code == CODE_CANCELLATION_WINDOW_PASSED
    assert client.get_order(customer["tenant_id"], order.id).status != "cancelled"
