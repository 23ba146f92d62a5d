"""The client over real HTTPS against the Partner Center simulator (no mocking of requests)."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

import pytest
import requests

from partner_center.catalogue import MarketSku, merge_catalogues, select_prices
from partner_center.client import derive_request_id, order_marker, tag_line_items
from partner_center.config import AUTH_APP_ONLY
from partner_center.errors import (
    AuthenticationError,
    CartAlreadySubmitted,
    ConflictError,
    NotFoundError,
    OrderNotVisibleYet,
    ReconsentRequired,
    StaleAvailability,
    ThrottledError,
    TransientError,
)
from partner_center.pricesheet import select_effective
from partner_center.resources import CartLineItem

from .conftest import RecordingSleep

# === HELPERS === #


def subscription_sku(sim, country="US"):
    skus = sim.catalogue.skus_for(country, "SoftwareSubscriptions", purchasable_only=True)
    return next(sku for sku in skus if ("P1Y", "annual") in sku.terms)


def perpetual_sku(sim, country="US"):
    return sim.catalogue.skus_for(country, "SoftwarePerpetual", purchasable_only=True)[0]


def line_for(client, sku, country="US", quantity=1):
    """A cart line built from the availability the client reads now."""
    (availability,) = client.availabilities(sku.product_id, sku.id, country)
    if availability.terms:
        term = next(term for term in availability.terms if term.duration == "P1Y")
        return CartLineItem(availability.catalog_item_id, quantity, term.billing_cycle, "P1Y")
    return CartLineItem(availability.catalog_item_id, quantity, "one_time")


def log_for(sim, path_part, method=None):
    return [
        entry
        for entry in sim.requests_log()
        if path_part in entry["path"] and (method is None or entry["method"] == method)
    ]


# === AUTHENTICATION === #


def test_refresh_token_rotation_is_handed_to_the_callback_and_used_next(sim, make_client):
    sim.update_settings(single_use_refresh_tokens=True)  # an unused rotation would fail
    client = make_client()
    client.products("US")
    client.products("GB")  # same scope: the cached access token, no redemption
    assert len(make_client.rotated_tokens) == 1
    next(client.price_sheet_lines("US"))  # second audience: redeems the rotated token
    assert len(make_client.rotated_tokens) == 2
    assert len(set(make_client.rotated_tokens)) == 2
    assert sim.initial_refresh_token not in make_client.rotated_tokens


def test_revoked_refresh_token_asks_for_reconsent(sim, make_client):
    sim.revoke_refresh_tokens()
    with pytest.raises(ReconsentRequired) as caught:
        make_client().products("US")
    assert "consent" in str(caught.value)
    assert sim.initial_refresh_token not in str(caught.value)


def test_wrong_client_secret_is_an_authentication_error(make_client):
    with pytest.raises(AuthenticationError) as caught:
        make_client(client_secret="not-the-secret").products("US")
    assert not isinstance(caught.value, ReconsentRequired)
    assert "not-the-secret" not in str(caught.value)


def test_app_only_reads_the_catalogue_but_not_price_sheets(make_client):
    client = make_client(auth_mode=AUTH_APP_ONLY, refresh_token="")
    assert client.products("US")
    with pytest.raises(AuthenticationError, match="App\\+User"):
        client.price_sheet_lines("US")
    assert make_client.rotated_tokens == []


def test_token_service_outage_is_a_transient_error(sim, make_client):
    sim.set_faults(["token:503"])
    with pytest.raises(TransientError) as caught:
        make_client(deadline_seconds=1.0).products("US")
    assert "sign-in" in str(caught.value)


def test_unknown_tenant_is_an_authentication_error(sim, make_client):
    with pytest.raises(AuthenticationError):
        make_client(authority=f"{sim.base_url}/not-a-tenant").products("US")


def test_expired_access_token_is_renewed_once(sim, make_client):
    client = make_client()
    client.products("US")
    sim.expire_access_tokens()
    assert client.products("US")
    assert len(make_client.rotated_tokens) == 2
    assert [entry["status"] for entry in log_for(sim, "/v1/products")] == [200, 401, 200]


# === CATALOGUE === #


def test_products_skus_and_availabilities_match_the_catalogue(sim, client):
    expected = {sku.code for sku in sim.catalogue.skus_for("US")}
    products = client.products("US")
    assert {product.id for product in products} == {code.split(":")[0] for code in expected}
    sku = sim.catalogue.skus_for("US")[0]
    skus = client.skus(sku.product_id, "US")
    assert sku.id in {item.id for item in skus}
    (availability,) = client.availabilities(sku.product_id, sku.id, "US")
    assert availability.catalog_item_id == sim.catalogue.catalog_item_id(sku.product_id, sku.id)
    assert availability.country == "US" and availability.default_currency == "USD"


def test_localized_titles_with_x_locale(sim, client):
    product = next(
        sku.product for sku in sim.catalogue.skus_for("DE") if sku.product.localized_text("de-DE")
    )
    german = client.product(product.id, "DE", locale="de-DE")
    assert german.title == product.localized_text("de-DE")[0]
    assert client.product(product.id, "DE").title == product.title


def test_unknown_product_is_not_found(client):
    with pytest.raises(NotFoundError) as caught:
        client.product("DG7GMGF0ZZZZ", "US")
    assert caught.value.status == 404 and caught.value.correlation_id


def test_merged_catalogue_and_highest_prices_over_http(sim, client):
    countries = ("US", "GB", "DE")
    product_ids = sorted({sku.product_id for sku in sim.catalogue.skus_for("DE")})[:6]
    markets = {}
    for country in countries:
        entries = []
        for product in client.products(country):
            if product.id not in product_ids:
                continue
            for sku in client.skus(product.id, country):
                availabilities = tuple(client.availabilities(product.id, sku.id, country))
                entries.append(MarketSku(product, sku, availabilities, "Software"))
        markets[country] = entries
    merged = {entry.code: entry for entry in merge_catalogues(markets)}
    expected = {
        sku.code
        for country in countries
        for sku in sim.catalogue.skus_for(country)
        if sku.product_id in product_ids
    }
    assert set(merged) == expected
    for code, entry in merged.items():
        sold_in = {c for c in countries if code in {s.code for s in sim.catalogue.skus_for(c)}}
        assert set(entry.purchasable_countries) <= sold_in

    today = datetime.now(timezone.utc)
    rows = [row for country in countries for row in client.iter_price_sheet(country)]
    prices = select_prices(rows, countries, on_date=today)
    sku = next(
        sku
        for sku in sim.catalogue.skus_for("DE", purchasable_only=True)
        if ("P1Y", "annual") in sku.terms
    )
    price = prices[(sku.code, "P1Y", "annual", "EUR")]
    assert price.cost == sim.catalogue.highest_price(
        sku.product_id, sku.id, "P1Y", "annual", "EUR", countries
    )


# === PRICE SHEETS === #


def test_price_sheet_is_streamed_deflated_and_parsed(sim, make_client):
    encodings = []
    session = requests.Session()
    session.hooks["response"].append(
        lambda response, *a, **k: encodings.append(response.headers.get("Content-Encoding"))
    )
    client = make_client(session=session)
    rows = select_effective(client.iter_price_sheet("DE"), datetime.now(timezone.utc))
    assert "deflate" in encodings
    assert {row.currency for row in rows} == {"EUR", "GBP", "CHF", "SEK", "NOK", "DKK"}
    row = next(row for row in rows if row.currency == "EUR" and row.segment == "commercial")
    assert row.unit_price == sim.catalogue.price(
        row.product_id, row.sku_id, row.term_duration, row.billing_plan, "DE", "EUR"
    )


def test_price_sheet_with_byte_order_mark(sim, client):
    sim.update_settings(pricesheet_bom=True)
    rows = list(client.iter_price_sheet("US"))
    assert rows and rows[0].line_number == 2 and rows[0].product_id.startswith("DG7GMGF0")


def test_price_sheet_future_timeline_parameters(sim, client):
    month = datetime.now(timezone.utc).strftime("%Y%m")
    list(client.iter_price_sheet("US", timeline="future", month=month))
    (entry,) = log_for(sim, "pricesheets")
    assert entry["query"].get("timeline") == "future" and entry["query"].get("month") == month


# === ORDERS === #


def test_cart_checkout_order_and_provisioning(sim, client, customer):
    tenant = customer["tenant_id"]
    assert client.get_customer(tenant).country == "US"
    line = line_for(client, subscription_sku(sim), quantity=3)
    cart = client.create_cart(tenant, [line])
    result = client.checkout(tenant, cart.id, request_id=derive_request_id("t1", "checkout"))
    (order,) = result.orders
    assert order.alternate_id and order.alias == order.alternate_id
    assert order.line_items[0].quantity == 3
    assert client.get_order(tenant, order.id).id == order.id
    assert order.id in {listed.id for listed in client.list_orders(tenant)}
    (status,) = client.order_provisioning_status(tenant, order.id)
    assert status.is_fulfilled
    (subscription,) = client.subscriptions_by_order(tenant, order.id)
    assert subscription.order_id == order.id and subscription.quantity == 3


def test_checking_out_a_submitted_cart_again(sim, client, customer):
    tenant = customer["tenant_id"]
    cart = client.create_cart(tenant, [line_for(client, perpetual_sku(sim))])
    client.checkout(tenant, cart.id)
    with pytest.raises(CartAlreadySubmitted) as caught:
        client.checkout(tenant, cart.id)
    assert caught.value.code == 800065


def test_cart_in_progress_is_waited_for_with_the_same_request_id(sim, client, customer):
    tenant = customer["tenant_id"]
    cart = client.create_cart(tenant, [line_for(client, perpetual_sku(sim))])
    sim.set_faults(
        [
            {
                "method": "POST",
                "path_regex": "/checkout$",
                "kind": "status",
                "status": 409,
                "code": 800064,
                "count": 2,
            }
        ]
    )
    assert client.checkout(tenant, cart.id).orders
    attempts = log_for(sim, "/checkout")
    assert [entry["status"] for entry in attempts] == [409, 409, 201]
    assert len({entry["request_id"] for entry in attempts}) == 1


def test_same_request_id_replays_the_checkout(sim, client, customer):
    tenant = customer["tenant_id"]
    cart = client.create_cart(tenant, [line_for(client, perpetual_sku(sim))])
    first = client.checkout(tenant, cart.id, request_id="9d7b0f0e-1111-4b1a-8c39-5e1c0a7e0001")
    again = client.checkout(tenant, cart.id, request_id="9d7b0f0e-1111-4b1a-8c39-5e1c0a7e0001")
    assert [order.id for order in again.orders] == [order.id for order in first.orders]


def test_stale_availability_is_typed_and_place_order_refreshes_it(sim, client, customer):
    tenant = customer["tenant_id"]
    sku = subscription_sku(sim)
    stale = line_for(client, sku)
    sim.update_settings(month=1)
    if not sim.catalogue.sku(sku.product_id, sku.id).purchasable(1):
        pytest.skip("the SKU was retired in month 1")
    with pytest.raises(StaleAvailability) as caught:
        client.create_cart(tenant, [stale])
    assert caught.value.code == 400019
    result = client.place_order(tenant, [stale], "stale-refresh-1", country="US")
    assert result.orders and not result.recovered


def test_place_order_twice_gives_the_same_order(sim, client, customer):
    tenant = customer["tenant_id"]
    line = line_for(client, perpetual_sku(sim))
    first = client.place_order(tenant, [line], "SO-1001/line-1")
    again = client.place_order(tenant, [line], "SO-1001/line-1")
    assert again.recovered and [o.id for o in again.orders] == [o.id for o in first.orders]
    marker = order_marker("SO-1001/line-1")
    assert sum(order_carries(order, marker) for order in sim.all_orders(tenant)) == 1


def order_carries(order_json, marker):
    return any(marker in (line.get("friendlyName") or "") for line in order_json["lineItems"])


def test_place_order_after_a_crash_between_cart_and_checkout(sim, client, customer):
    tenant = customer["tenant_id"]
    line = line_for(client, perpetual_sku(sim))
    carts = []
    sim.set_faults(
        [
            {
                "method": "POST",
                "path_regex": "/checkout$",
                "kind": "status",
                "status": 400,
                "code": 400001,
                "count": 1,
            }
        ]
    )
    with pytest.raises(Exception):  # noqa: B017 - the "crash" during checkout
        client.place_order(tenant, [line], "SO-1002/1", on_cart_created=carts.append)
    result = client.place_order(tenant, [line], "SO-1002/1", cart_id=carts[0])
    assert result.cart_id == carts[0] and len(result.orders) == 1


def test_lost_checkout_answer_is_recovered_through_the_order_list(sim, make_client, customer):
    tenant = customer["tenant_id"]
    client = make_client(max_retries=0)
    line = line_for(client, perpetual_sku(sim))
    carts = []
    sim.set_faults(["checkout:drop_after_commit:1:1"])
    with pytest.raises(TransientError) as caught:
        client.place_order(tenant, [line], "SO-1003/1", on_cart_created=carts.append)
    assert caught.value.cart_id == carts[0]
    result = client.place_order(tenant, [line], "SO-1003/1", cart_id=carts[0])
    assert result.recovered and len(result.orders) == 1
    assert (
        len([o for o in sim.all_orders(tenant) if order_carries(o, order_marker("SO-1003/1"))]) == 1
    )


def test_submitted_cart_whose_order_is_not_listed_yet(sim, make_client, customer):
    tenant = customer["tenant_id"]
    client = make_client(order_visibility_timeout=0.2)
    key = f"SO-1004/{time.time()}"
    line = tag_line_items([line_for(client, perpetual_sku(sim))], order_marker(key))[0]
    cart = client.create_cart(tenant, [line])
    client.checkout(tenant, cart.id)  # e.g. by an earlier process with another request id
    sim.update_settings(order_list_lag=60)
    with pytest.raises(OrderNotVisibleYet) as caught:
        client.place_order(tenant, [line], key, cart_id=cart.id)
    assert caught.value.cart_id == cart.id
    sim.update_settings(order_list_lag=0)
    result = client.place_order(tenant, [line], key, cart_id=cart.id)
    assert result.recovered and len(result.orders) == 1


# === SUBSCRIPTIONS AND ENTITLEMENTS === #


@pytest.fixture
def subscription(sim, client, customer):
    line = line_for(client, subscription_sku(sim), quantity=2)
    (order,) = client.place_order(customer["tenant_id"], [line], f"sub-{time.time()}").orders
    (subscription,) = client.subscriptions_by_order(customer["tenant_id"], order.id)
    return subscription


def test_auto_renew_patch_sends_the_full_object(sim, client, customer, subscription):
    tenant = customer["tenant_id"]
    assert subscription.auto_renew_enabled is True
    updated = client.set_auto_renew(tenant, subscription.id, False)
    assert updated.auto_renew_enabled is False
    assert (updated.quantity, updated.friendly_name) == (2, subscription.friendly_name)
    (patch,) = log_for(sim, f"/subscriptions/{subscription.id}", "PATCH")
    assert patch["status"] == 200


def test_slow_subscription_update_is_followed_to_its_end(sim, make_client, customer, subscription):
    tenant = customer["tenant_id"]
    client = make_client(poll_interval=0.2)
    sim.set_faults(["subscription-patch:accepted=1.5:1:1"])
    updated = client.set_auto_renew(tenant, subscription.id, False)
    assert updated.auto_renew_enabled is False
    polls = [entry for entry in sim.requests_log() if "/operations/" in entry["path"]]
    assert len(polls) >= 2  # "inProgress" answers are polled again


def renewal_conflict(**rule):
    """A fault rule: subscription updates answer 409 / 800060 (a renewal is in progress)."""
    return {
        "method": "PATCH",
        "path_regex": "/subscriptions/",
        "kind": "status",
        "status": 409,
        "code": 800060,
        **rule,
    }


def test_renewal_conflict_waits_then_succeeds(sim, make_client, customer, subscription):
    sleep = RecordingSleep()
    client = make_client(sleep=sleep, conflict_wait_seconds=0.3)
    sim.set_faults([renewal_conflict(count=1)])
    assert client.set_auto_renew(customer["tenant_id"], subscription.id, False)
    assert 0.3 in sleep.waits


def test_renewal_conflict_longer_than_the_deadline_is_raised(
    sim, make_client, customer, subscription
):
    client = make_client(conflict_wait_seconds=120, deadline_seconds=5)
    sim.set_faults([renewal_conflict()])
    with pytest.raises(ConflictError) as caught:
        client.set_auto_renew(customer["tenant_id"], subscription.id, False)
    assert caught.value.retry_after == 120 and caught.value.code == 800060


def test_entitlements_with_expiry(sim, client, customer, subscription):
    entitlements = client.entitlements(customer["tenant_id"])
    mine = [e for e in entitlements if e.reference_order_id == subscription.order_id]
    assert mine and mine[0].expiry_date == subscription.commitment_end_date
    assert mine[0].reference_order_alternate_id and mine[0].reference_line_item_id == "0"


# === RETRIES === #


def test_429_waits_for_retry_after(sim, make_client):
    sleep = RecordingSleep()
    client = make_client(sleep=sleep)
    client.products("US")
    sim.set_faults(["products:429/2::1"])
    assert client.products("US")
    assert sleep.waits == [2.0]


def test_429_longer_than_the_deadline_is_raised_with_retry_after(sim, make_client):
    client = make_client(deadline_seconds=3)
    client.products("US")
    sim.set_faults(["products:429/30"])
    with pytest.raises(ThrottledError) as caught:
        client.products("US")
    assert caught.value.retry_after == 30 and caught.value.status == 429


def test_503_storm_ends_in_transient_error_after_the_retries(sim, make_client):
    client = make_client(max_retries=3)
    client.products("US")
    sim.set_faults(["products:503"])
    with pytest.raises(TransientError) as caught:
        client.products("US")
    assert caught.value.status == 503
    assert len(log_for(sim, "/v1/products")) == 1 + 4


def test_503_storm_stops_at_the_deadline(sim, make_client):
    client = make_client(max_retries=1000, deadline_seconds=1.5, backoff_base=0.2, backoff_max=0.2)
    client.products("US")
    sim.set_faults(["products:503"])
    started = time.monotonic()
    with pytest.raises(TransientError):
        client.products("US")
    assert time.monotonic() - started < 2.5


def test_connection_reset_is_retried_with_the_same_request_id(sim, client, customer):
    tenant = customer["tenant_id"]
    cart = client.create_cart(tenant, [line_for(client, perpetual_sku(sim))])
    sim.set_faults(["checkout:reset:1:1"])
    assert client.checkout(tenant, cart.id).orders
    attempts = log_for(sim, "/checkout")
    assert [entry["status"] for entry in attempts] == ["aborted", 201]
    assert attempts[0]["request_id"] == attempts[1]["request_id"]
    assert attempts[0]["correlation_id"] != attempts[1]["correlation_id"]


def test_new_request_id_after_a_definitive_answer(sim, make_client):
    client = make_client()
    client.products("US")
    sim.set_faults(["products:503::1"])
    client.products("US")
    client.products("US")
    first, retry, other = log_for(sim, "/v1/products")[1:]
    assert first["request_id"] == retry["request_id"] != other["request_id"]


def test_read_timeout_is_retried(sim, make_client):
    client = make_client(read_timeout=0.5)
    client.products("US")
    sim.set_faults(["products:slow=1.5:1:1"])
    assert client.products("US")


# === LOGS === #


def test_secrets_never_reach_the_logs(sim, make_client, customer, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client()
    client.products("US")
    next(client.price_sheet_lines("US"))
    sim.set_faults(["products:503::1"])
    client.products("US")
    sim.expire_access_tokens()
    client.get_customer(customer["tenant_id"])
    sim.revoke_refresh_tokens()
    sim.expire_access_tokens()
    with pytest.raises(ReconsentRequired) as caught:
        client.products("US")
    logging.getLogger("test").error("failure: %s", caught.value)

    secrets = [sim.client_secret, sim.initial_refresh_token, *make_client.rotated_tokens]
    secrets += [header.split(" ", 1)[1] for header in make_client.authorization_headers]
    assert len(secrets) >= 6
    text = caplog.text + repr(client.config)
    assert "Partner Center GET /v1/products" in caplog.text
    for secret in secrets:
        assert secret not in text
