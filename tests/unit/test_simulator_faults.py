"""Fault injection: status answers, slowness, resets, lost answers after commit, admin API."""

import time
import uuid

import pytest
import requests

from partner_center.simulator import FaultRule, parse_fault_spec
from partner_center.simulator.faults import FaultBook

US = "0c5a0001-5e1c-4a11-9000-00000000c001"


def customer_url(sim, path=""):
    return f"{sim.api_url}/customers/{US}{path}"


def cart_for(sim, http, headers):
    sku = sim.catalogue.skus_for("US", "SoftwareSubscriptions", purchasable_only=True)[0]
    term, billing = sku.terms[0]
    line = {
        "id": 0,
        "quantity": 1,
        "billingCycle": billing,
        "termDuration": term,
        "catalogItemId": sim.catalogue.catalog_item_id(sku.product_id, sku.id),
    }
    answer = http.post(
        customer_url(sim, "/carts"), json={"lineItems": [line]}, headers=headers, timeout=10
    )
    assert answer.status_code == 201
    return answer.json()["id"]


def orders_of_cart(sim, cart_id):
    with sim.state.lock:
        return [order for order in sim.state.data["orders"].values() if order["cart_id"] == cart_id]


def test_throttling_answers_429_with_retry_after_then_recovers(sim, sim_http, api_headers):
    sim.set_faults(
        [
            {
                "method": "GET",
                "path_regex": r"/customers/[^/]+$",
                "kind": "status",
                "status": 429,
                "retry_after": 7,
                "count": 1,
            }
        ]
    )
    throttled = sim_http.get(customer_url(sim), headers=api_headers, timeout=10)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert set(throttled.json()) == {"code", "description", "data", "source"}
    assert sim_http.get(customer_url(sim), headers=api_headers, timeout=10).status_code == 200


def test_service_unavailable_for_every_matching_call(sim, sim_http, api_headers):
    sim.set_faults(["orders:503"])
    for _ in range(3):
        answer = sim_http.get(customer_url(sim, "/orders"), headers=api_headers, timeout=10)
        assert answer.status_code == 503
    assert sim_http.get(customer_url(sim), headers=api_headers, timeout=10).status_code == 200


def test_custom_error_body_replaces_the_partner_center_one(sim, sim_http, api_headers):
    body = {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds."}
    sim.set_faults(
        [
            {
                "path_regex": "/orders$",
                "kind": "status",
                "status": 429,
                "retry_after": 57,
                "body": body,
            }
        ]
    )
    answer = sim_http.get(customer_url(sim, "/orders"), headers=api_headers, timeout=10)
    assert answer.json() == body


def test_slow_answers_arrive_late(sim, sim_http, api_headers):
    sim.set_faults(["customer:slow=0.6::1"])
    started = time.perf_counter()
    answer = sim_http.get(customer_url(sim), headers=api_headers, timeout=10)
    assert answer.status_code == 200
    assert time.perf_counter() - started >= 0.6


def test_slow_answer_trips_a_client_timeout(sim, sim_http, api_headers):
    sim.set_faults(["customer:slow=1.5::1"])
    with pytest.raises(requests.Timeout):
        sim_http.get(customer_url(sim), headers=api_headers, timeout=0.5)


def test_reset_closes_the_connection_and_changes_nothing(sim, sim_http, api_headers):
    cart_id = cart_for(sim, sim_http, api_headers)
    sim.set_faults(["checkout:reset::1"])
    with pytest.raises(requests.ConnectionError):
        sim_http.post(
            customer_url(sim, f"/carts/{cart_id}/checkout"),
            headers=dict(api_headers, **{"MS-RequestId": str(uuid.uuid4())}),
            timeout=10,
        )
    assert orders_of_cart(sim, cart_id) == []
    retry = sim_http.post(
        customer_url(sim, f"/carts/{cart_id}/checkout"),
        headers=dict(api_headers, **{"MS-RequestId": str(uuid.uuid4())}),
        timeout=10,
    )
    assert retry.status_code == 201


def test_drop_after_commit_creates_the_order_but_loses_the_answer(sim, sim_http, api_headers):
    cart_id = cart_for(sim, sim_http, api_headers)
    request_id = str(uuid.uuid4())
    headers = dict(api_headers, **{"MS-RequestId": request_id})
    sim.set_faults(["checkout:drop_after_commit::1"])
    with pytest.raises(requests.ConnectionError):
        sim_http.post(customer_url(sim, f"/carts/{cart_id}/checkout"), headers=headers, timeout=10)
    committed = orders_of_cart(sim, cart_id)
    assert len(committed) == 1
    # the same MS-RequestId gets the lost answer, without a second order
    retry = sim_http.post(
        customer_url(sim, f"/carts/{cart_id}/checkout"), headers=headers, timeout=10
    )
    assert retry.status_code == 201
    assert retry.json()["orders"][0]["id"] == committed[0]["id"]
    assert len(orders_of_cart(sim, cart_id)) == 1
    # a new MS-RequestId on the submitted cart is refused
    other = sim_http.post(
        customer_url(sim, f"/carts/{cart_id}/checkout"),
        headers=dict(api_headers, **{"MS-RequestId": str(uuid.uuid4())}),
        timeout=10,
    )
    assert other.status_code == 400 and other.json()["code"] == 800065


def test_token_service_can_fail_too(sim, sim_http):
    sim.set_faults(["token:503::1"])
    form = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "scope": "https://api.partnercenter.microsoft.com/.default",
    }
    url = f"{sim.authority}/oauth2/v2.0/token"
    assert sim_http.post(url, data=form, timeout=10).status_code == 503
    assert sim_http.post(url, data=form, timeout=10).status_code == 200


def test_faults_never_touch_admin_endpoints(sim, sim_http):
    sim.set_faults(["any:503"])
    assert sim_http.get(f"{sim.base_url}/admin/health", timeout=10).status_code == 200


def test_admin_fault_endpoints(sim, sim_http, api_headers):
    rules = [
        {"method": "GET", "path_regex": "/orders$", "kind": "status", "status": 503, "count": 2}
    ]
    posted = sim_http.post(f"{sim.base_url}/admin/faults", json=rules, timeout=10)
    assert posted.status_code == 200 and posted.json()[0]["count"] == 2
    appended = sim_http.post(
        f"{sim.base_url}/admin/faults?append=1", json=["customer:reset"], timeout=10
    )
    assert appended.status_code == 200
    assert len(sim_http.get(f"{sim.base_url}/admin/faults", timeout=10).json()) == 2
    assert sim_http.delete(f"{sim.base_url}/admin/faults", timeout=10).status_code == 204
    assert sim_http.get(f"{sim.base_url}/admin/faults", timeout=10).json() == []
    bad = sim_http.post(f"{sim.base_url}/admin/faults", json=[{"kind": "explode"}], timeout=10)
    assert bad.status_code == 400


def test_admin_settings_endpoint(sim, sim_http):
    answer = sim_http.post(
        f"{sim.base_url}/admin/settings",
        json={"month": 2, "fulfilment_delay": 5, "order_list_lag": "3"},
        timeout=10,
    )
    assert answer.json()["month"] == 2 and answer.json()["order_list_lag"] == 3.0
    assert sim.catalogue.month == 2
    refused = sim_http.post(f"{sim.base_url}/admin/settings", json={"seed": 9}, timeout=10)
    assert refused.status_code == 400
    sim_http.post(f"{sim.base_url}/admin/settings/reset", timeout=10)
    assert sim.settings.month == 0


def test_admin_refresh_token_revocation_endpoint(sim, sim_http):
    answer = sim_http.post(f"{sim.base_url}/admin/refresh-tokens/revoke", timeout=10)
    assert answer.json()["revoked"] >= 1
    token = sim_http.post(
        f"{sim.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": sim.initial_refresh_token,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "scope": "https://api.partnercenter.microsoft.com/.default",
        },
        timeout=10,
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"


def test_request_log_records_calls_and_faults(sim, sim_http, api_headers):
    sim.set_faults(["customer:503::1"])
    sim_http.get(
        customer_url(sim), headers=dict(api_headers, **{"MS-RequestId": "r-1"}), timeout=10
    )
    log = sim_http.get(f"{sim.base_url}/admin/requests", timeout=10).json()
    mine = [entry for entry in log if entry["request_id"] == "r-1"]
    assert [
        (entry["method"], entry["path"], entry["status"], entry["fault"]) for entry in mine
    ] == [("GET", f"/v1/customers/{US}", 503, "status")]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "checkout:drop_after_commit:0.3",
            {"kind": "drop_after_commit", "probability": 0.3, "method": "POST"},
        ),
        ("orders:429/30::2", {"kind": "status", "status": 429, "retry_after": 30.0, "count": 2}),
        ("token:status=503", {"kind": "status", "status": 503, "method": "POST"}),
        ("products:slow=4:0.5", {"kind": "slow", "delay": 4.0, "probability": 0.5}),
        ("subscription-patch:accepted=2", {"kind": "accepted", "delay": 2.0, "method": "PATCH"}),
        (
            "GET /v1/customers/[^/]+/orders:reset",
            {"kind": "reset", "method": "GET", "path_regex": "/v1/customers/[^/]+/orders"},
        ),
        ("/entitlements:drop", {"kind": "drop_after_commit", "method": None}),
    ],
)
def test_compact_fault_syntax(spec, expected):
    rule = parse_fault_spec(spec).to_dict()
    assert {key: rule[key] for key in expected} == expected


@pytest.mark.parametrize(
    "spec", ["checkout", "nowhere:503", "checkout:explode", "checkout:503:2", "checkout:503:0.5:0"]
)
def test_bad_fault_specs_are_refused(spec):
    with pytest.raises(ValueError):
        parse_fault_spec(spec)


def test_probability_draws_are_seeded():
    def pattern(seed):
        book = FaultBook(seed)
        book.set([FaultRule(kind="reset", probability=0.5)])
        return [book.match("GET", "/v1/products") is not None for _ in range(40)]

    assert pattern(1) == pattern(1)
    assert pattern(1) != pattern(2)
    assert 5 < sum(pattern(1)) < 35
