"""Job mode and the step-wise ordering API, as a provisioning engine run by a cron uses them.

In job mode the client never sleeps: every failure it would have waited out is raised at once as
a :class:`RetryableError` carrying ``retry_after``. The engine persists each ordering step and
repeats a step later with the same idempotency key (same ``MS-RequestId``). All calls go over
real HTTPS to the simulator.
"""

from __future__ import annotations

import pickle
import uuid
from collections import Counter

import pytest

from partner_center.client import derive_request_id, order_marker
from partner_center.config import ClientConfig
from partner_center.errors import (
    CartInProgress,
    ConflictError,
    OrderNotVisibleYet,
    PartnerCenterError,
    RetryableError,
    ThrottledError,
    TransientError,
)
from partner_center.resources import CartLineItem

from .conftest import RecordingSleep

# The production hints (tests elsewhere shrink them so that in-process retries run fast).
JOB_SETTINGS = {
    "job_mode": True,
    "backoff_base": 4.0,
    "backoff_max": 30.0,
    "conflict_wait_seconds": 120.0,
    "poll_interval": 5.0,
}


@pytest.fixture
def sleep():
    return RecordingSleep()


@pytest.fixture
def job_client(make_client, sleep):
    """A job-mode client whose ``sleep`` records every wait (there must be none)."""
    return make_client(sleep=sleep, **JOB_SETTINGS)


def perpetual_line(sim, country="US"):
    sku = sim.catalogue.skus_for(country, "SoftwarePerpetual", purchasable_only=True)[0]
    return CartLineItem(sim.catalogue.catalog_item_id(sku.product_id, sku.id), 1, "one_time")


def subscription_line(sim, country="US"):
    sku = next(
        sku
        for sku in sim.catalogue.skus_for(country, "SoftwareSubscriptions", purchasable_only=True)
        if ("P1Y", "annual") in sku.terms
    )
    catalog_item_id = sim.catalogue.catalog_item_id(sku.product_id, sku.id)
    return CartLineItem(catalog_item_id, 1, "annual", "P1Y")


def calls_to(sim, path_part, method=None):
    return [
        entry
        for entry in sim.requests_log()
        if path_part in entry["path"] and (method is None or entry["method"] == method)
    ]


def orders_for(sim, tenant, key):
    marker = order_marker(key)
    return [
        order
        for order in sim.all_orders(tenant)
        if any(marker in (line.get("friendlyName") or "") for line in order["lineItems"])
    ]


def new_key(name):
    return f"{name}/{uuid.uuid4().hex[:8]}"


# === ERRORS AND SETTINGS === #


@pytest.mark.parametrize(
    "kind", [TransientError, ThrottledError, ConflictError, CartInProgress, OrderNotVisibleYet]
)
def test_every_retryable_error_carries_retry_after_across_processes(kind):
    error = kind("Busy.", retry_after=42.0, status=409, request_id="r-1")
    error.cart_id = "cart-1"
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - bytes this test just made
    assert isinstance(copy, RetryableError)
    assert (copy.retry_after, copy.cart_id, copy.request_id) == (42.0, "cart-1", "r-1")


def test_other_errors_say_not_to_retry():
    assert PartnerCenterError("Refused.").retry_after is None


def test_for_job_changes_nothing_but_job_mode():
    config = ClientConfig(tenant="t", max_retries=3)
    job = config.for_job()
    assert job.job_mode and not config.job_mode
    assert job.replace(job_mode=False) == config


# === NOTHING WAITS IN JOB MODE === #


def test_429_is_raised_at_once_with_its_retry_after(sim, job_client, sleep):
    sim.set_faults(["products:429/30"])
    with pytest.raises(ThrottledError) as caught:
        job_client.products("US")
    assert caught.value.retry_after == 30
    assert len(calls_to(sim, "/v1/products")) == 1 and sleep.waits == []


def test_429_without_header_takes_the_wait_from_the_message(sim, job_client, sleep):
    body = {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds."}
    sim.set_faults([{"path_regex": "^/v1/products", "kind": "status", "status": 429, "body": body}])
    with pytest.raises(ThrottledError) as caught:
        job_client.products("US")
    assert caught.value.retry_after == 57 and sleep.waits == []


def test_5xx_is_raised_at_once_with_a_backoff_hint(sim, job_client, sleep):
    sim.set_faults(["products:503"])
    with pytest.raises(TransientError) as caught:
        job_client.products("US")
    assert caught.value.status == 503
    assert 2.0 <= caught.value.retry_after <= 4.0  # first backoff step: base/2 .. base
    assert len(calls_to(sim, "/v1/products")) == 1 and sleep.waits == []


def test_5xx_retry_after_header_is_kept(sim, job_client):
    sim.set_faults(["products:503/7"])
    with pytest.raises(TransientError) as caught:
        job_client.products("US")
    assert caught.value.retry_after == 7


def test_lost_connection_is_raised_at_once(sim, job_client, sleep):
    sim.set_faults(["products:reset"])
    with pytest.raises(TransientError) as caught:
        job_client.products("US")
    assert caught.value.status is None and caught.value.retry_after > 0
    assert len(calls_to(sim, "/v1/products")) == 1 and sleep.waits == []


def test_renewal_conflict_is_raised_with_the_documented_two_minutes(
    sim, client, job_client, customer, sleep
):
    tenant = customer["tenant_id"]
    (order,) = client.place_order(tenant, [subscription_line(sim)], new_key("renewal")).orders
    (subscription,) = client.subscriptions_by_order(tenant, order.id)
    sim.set_faults(
        [{"method": "PATCH", "path_regex": "/subscriptions/", "kind": "status", "status": 409,
          "code": 800060}]
    )  # fmt: skip
    with pytest.raises(ConflictError) as caught:
        job_client.set_auto_renew(tenant, subscription.id, False)
    assert caught.value.retry_after == 120 and caught.value.code == 800060
    assert sleep.waits == []


def test_accepted_subscription_update_is_not_polled(sim, client, job_client, customer, sleep):
    tenant = customer["tenant_id"]
    (order,) = client.place_order(tenant, [subscription_line(sim)], new_key("accepted")).orders
    (subscription,) = client.subscriptions_by_order(tenant, order.id)
    sim.set_faults(["subscription-patch:accepted=30:1:1"])
    with pytest.raises(TransientError) as caught:
        job_client.set_auto_renew(tenant, subscription.id, False)
    assert caught.value.retry_after == 1  # the simulator's Retry-After on the 202
    assert sleep.waits == []
    sim.advance_clock(31)
    assert job_client.get_subscription(tenant, subscription.id).auto_renew_enabled is False


def test_retries_that_run_out_also_leave_retry_after(sim, make_client):
    client = make_client(max_retries=1)
    sim.set_faults(["products:503"])
    with pytest.raises(TransientError) as caught:
        client.products("US")
    assert caught.value.retry_after > 0 and len(calls_to(sim, "/v1/products")) == 2


# === STEP-WISE ORDERING === #


def test_the_steps_place_one_order_however_often_they_repeat(sim, job_client, customer):
    tenant, key, line = customer["tenant_id"], new_key("SO-3001"), perpetual_line(sim)
    marker = order_marker(key)
    assert job_client.find_orders(tenant, marker) == []
    cart_id = job_client.create_tagged_cart(tenant, [line], key)
    assert job_client.create_tagged_cart(tenant, [line], key) == cart_id  # replayed
    first = job_client.checkout_for_key(tenant, cart_id, key)
    again = job_client.checkout_for_key(tenant, cart_id, key)
    assert [o.id for o in again.orders] == [o.id for o in first.orders]
    assert first.orders[0].carries_marker(marker)
    assert [o.id for o in job_client.find_orders(tenant, marker)] == [first.orders[0].id]
    assert len(orders_for(sim, tenant, key)) == 1


def test_checkout_repeated_after_a_lost_answer_sends_the_same_request_id(sim, job_client, customer):
    tenant, key = customer["tenant_id"], new_key("SO-3002")
    cart_id = job_client.create_tagged_cart(tenant, [perpetual_line(sim)], key)
    sim.set_faults(["checkout:drop_after_commit:1:1"])
    with pytest.raises(TransientError) as caught:
        job_client.checkout_for_key(tenant, cart_id, key)
    assert caught.value.cart_id == cart_id and caught.value.retry_after > 0
    result = job_client.checkout_for_key(tenant, cart_id, key)
    assert len(result.orders) == 1 and len(orders_for(sim, tenant, key)) == 1
    attempts = calls_to(sim, "/checkout")
    assert {entry["request_id"] for entry in attempts} == {
        derive_request_id(key, "checkout", cart_id)
    }


def test_cart_submitted_elsewhere_leads_to_its_order(sim, job_client, customer):
    tenant, key = customer["tenant_id"], new_key("SO-3003")
    cart_id = job_client.create_tagged_cart(tenant, [perpetual_line(sim)], key)
    job_client.checkout(tenant, cart_id)  # an older process, with another request id
    result = job_client.checkout_for_key(tenant, cart_id, key)
    assert result.recovered and result.cart_id == cart_id and len(result.orders) == 1


def test_order_not_listed_yet_is_raised_at_once(sim, job_client, customer, sleep):
    tenant, key = customer["tenant_id"], new_key("SO-3004")
    cart_id = job_client.create_tagged_cart(tenant, [perpetual_line(sim)], key)
    job_client.checkout(tenant, cart_id)
    sim.update_settings(order_list_lag=600)
    with pytest.raises(OrderNotVisibleYet) as caught:
        job_client.checkout_for_key(tenant, cart_id, key)
    assert (caught.value.cart_id, caught.value.retry_after) == (cart_id, 5.0)
    assert len(calls_to(sim, "/orders", "GET")) == 1 and sleep.waits == []
    with pytest.raises(OrderNotVisibleYet):
        job_client.place_order(tenant, [perpetual_line(sim)], key, cart_id=cart_id)
    sim.update_settings(order_list_lag=0)
    assert job_client.place_order(tenant, [], key, cart_id=cart_id).recovered


def test_cart_in_progress_is_raised_with_the_cart_to_retry(sim, job_client, customer):
    tenant, key = customer["tenant_id"], new_key("SO-3005")
    cart_id = job_client.create_tagged_cart(tenant, [perpetual_line(sim)], key)
    sim.set_faults(
        [{"method": "POST", "path_regex": "/checkout$", "kind": "status", "status": 409,
          "code": 800064, "retry_after": 3, "count": 1}]
    )  # fmt: skip
    with pytest.raises(CartInProgress) as caught:
        job_client.checkout_for_key(tenant, cart_id, key)
    assert (caught.value.retry_after, caught.value.cart_id) == (3, cart_id)
    assert job_client.checkout_for_key(tenant, cart_id, key).orders


# === AN ENGINE UNDER FAULTS === #

CHECKOUT = r"^/v1/customers/[^/]+/carts/[^/]+/checkout$"
CARTS = r"^/v1/customers/[^/]+/carts$"
ORDERS = r"^/v1/customers/[^/]+/orders$"
ENGINE_FAULTS = [
    {"method": "POST", "path_regex": CHECKOUT, "kind": "drop_after_commit", "probability": 0.2},
    {"method": "POST", "path_regex": CHECKOUT, "kind": "status", "status": 409, "code": 800064,
     "probability": 0.1},
    {"method": "POST", "path_regex": CHECKOUT, "kind": "status", "status": 503, "probability": 0.1},
    {"method": "POST", "path_regex": CARTS, "kind": "drop_after_commit", "probability": 0.15},
    {"method": "GET", "path_regex": ORDERS, "kind": "status", "status": 429, "retry_after": 9,
     "probability": 0.1},
    {"method": "GET", "path_regex": ORDERS, "kind": "reset", "probability": 0.05},
]  # fmt: skip


def run_step(client, job):
    """One cron run of a persisted ordering job: the next step only, its outcome stored."""
    if job["cart_id"] is None:
        if client.find_orders(job["tenant"], order_marker(job["key"])):
            job["done"] = True
            return
        job["cart_id"] = client.create_tagged_cart(job["tenant"], [job["line"]], job["key"])
        return
    job["done"] = bool(client.checkout_for_key(job["tenant"], job["cart_id"], job["key"]).orders)


def test_persisted_steps_under_faults_make_one_order_per_key(sim, job_client, sleep):
    tenants = [record["tenant_id"] for record in sim.customers[:2]]
    countries = [record["country"] for record in sim.customers[:2]]
    jobs = [
        {
            "key": new_key(f"engine-{number}"),
            "tenant": tenants[number % 2],
            "line": perpetual_line(sim, countries[number % 2]),
            "cart_id": None,
            "done": False,
        }
        for number in range(40)
    ]
    sim.set_faults(ENGINE_FAULTS)
    retried = Counter()
    for _run in range(15):
        for job in (job for job in jobs if not job["done"]):
            try:
                run_step(job_client, job)
            except RetryableError as error:
                assert error.retry_after is not None and error.retry_after > 0
                retried[type(error).__name__] += 1
    sim.clear_faults()

    assert all(job["done"] for job in jobs)
    assert [len(orders_for(sim, job["tenant"], job["key"])) for job in jobs] == [1] * len(jobs)
    assert sleep.waits == []
    assert retried["TransientError"] >= 5 and sum(retried.values()) >= 10
