"""Carts, checkout, orders, provisioning, subscriptions and entitlements on the simulator."""

import json
import threading
import time
import uuid

import pytest

from .common import samples_dir

ERROR_KEYS = {"code", "description", "data", "source"}
US = "0c5a0001-5e1c-4a11-9000-00000000c001"


def sample(name):
    path = samples_dir() / name
    if not path.exists():
        pytest.skip(f"sample {name} not available at {samples_dir()} (set MS_CSP_SHARED)")
    return json.loads(path.read_text(encoding="utf-8"))


class Shop:
    """Small raw-HTTP driver for one customer (the real client is tested elsewhere)."""

    def __init__(self, sim, http, headers, tenant=US):
        self.sim, self.http, self.headers, self.tenant = sim, http, headers, tenant
        self.country = next(c["country"] for c in sim.customers if c["tenant_id"] == tenant)

    def url(self, path):
        return f"{self.sim.api_url}/customers/{self.tenant}{path}"

    def call(self, method, path, body=None, request_id=None):
        headers = dict(self.headers, **{"MS-CorrelationId": str(uuid.uuid4())})
        if request_id:
            headers["MS-RequestId"] = request_id
        return self.http.request(method, self.url(path), json=body, headers=headers, timeout=30)

    def sku(self, view="SoftwareSubscriptions", index=0):
        skus = [
            sku for sku in self.sim.catalogue.skus_for(self.country, view, purchasable_only=True)
        ]
        return skus[index]

    def line(self, sku, quantity=1, line_id=0, **extra):
        term, billing = sku.terms[0]
        line = {
            "id": line_id,
            "quantity": quantity,
            "billingCycle": billing,
            "catalogItemId": self.sim.catalogue.catalog_item_id(sku.product_id, sku.id),
        }
        if term:
            line["termDuration"] = term
        line.update(extra)
        return line

    def cart(self, *lines):
        answer = self.call("POST", "/carts", {"lineItems": list(lines)})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def checkout(self, cart_id, request_id=None):
        return self.call(
            "POST", f"/carts/{cart_id}/checkout", request_id=request_id or str(uuid.uuid4())
        )

    def buy(self, *lines):
        answer = self.checkout(self.cart(*lines)["id"])
        assert answer.status_code == 201, answer.text
        return answer.json()["orders"]


@pytest.fixture
def shop(sim, sim_http, api_headers):
    return Shop(sim, sim_http, api_headers)


def test_customer_is_read_and_unknown_one_is_404(shop, sim):
    for customer in sim.customers[:6]:
        answer = shop.http.get(
            f"{sim.api_url}/customers/{customer['tenant_id']}", headers=shop.headers, timeout=10
        )
        assert answer.json()["companyProfile"]["companyName"] == customer["company_name"]
        assert answer.json()["billingProfile"]["defaultAddress"]["country"] == customer["country"]
    unknown = shop.http.get(
        f"{sim.api_url}/customers/{uuid.uuid4()}", headers=shop.headers, timeout=10
    )
    assert unknown.status_code == 404 and set(unknown.json()) == ERROR_KEYS


def test_demo_customers_cover_the_six_markets(sim):
    assert {customer["country"] for customer in sim.customers} >= {
        "US",
        "GB",
        "DE",
        "FR",
        "GR",
        "IL",
    }


def test_cart_echoes_its_lines_like_the_sample(shop):
    sku = shop.sku()
    cart = shop.cart(shop.line(sku, quantity=3, friendlyName="SO042-L1"))
    assert set(sample("04_cart_create_response.json")) <= set(cart)
    line = cart["lineItems"][0]
    assert line["catalogItemId"].startswith(f"{sku.product_id}:{sku.id}:")
    assert line["quantity"] == 3 and line["friendlyName"] == "SO042-L1"
    assert line["currencyCode"] == "USD"
    assert cart["status"] == "Active"


def test_cart_keys_are_read_case_insensitively(shop):
    sku = shop.sku()
    line = shop.line(sku)
    pascal = {"LineItems": [{key[0].upper() + key[1:]: value for key, value in line.items()}]}
    assert shop.call("POST", "/carts", pascal).status_code == 201


def test_stale_availability_is_refused_with_400019(shop, sim):
    sku = shop.sku()
    stale = shop.line(sku)
    sim.update_settings(month=1)
    if not sku.purchasable(1):
        pytest.skip("sku retired by month 1")
    answer = shop.call("POST", "/carts", {"lineItems": [stale]})
    assert answer.status_code == 404
    assert answer.json()["code"] == 400019


def test_sku_not_sold_in_the_customers_country_is_refused_with_800070(shop, sim):
    sku = next(
        sku for sku in sim.catalogue.all_skus() if "US" not in sku.countries and sku.purchasable(0)
    )
    answer = shop.call("POST", "/carts", {"lineItems": [shop.line(sku)]})
    assert answer.status_code == 400
    assert answer.json()["code"] == 800070


def test_wrong_term_is_refused(shop):
    sku = shop.sku("SoftwarePerpetual")
    answer = shop.call("POST", "/carts", {"lineItems": [shop.line(sku, termDuration="P1Y")]})
    assert answer.status_code == 400 and set(answer.json()) == ERROR_KEYS


def test_checkout_returns_orders_shaped_like_the_samples(shop):
    subscription_sku = shop.sku()
    perpetual_sku = shop.sku("SoftwarePerpetual")
    cart = shop.cart(
        shop.line(subscription_sku, friendlyName="tag-A"),
        shop.line(
            perpetual_sku, line_id=1, friendlyName="tag-B", provisioningContext={"odooLine": "42"}
        ),
    )
    answer = shop.checkout(cart["id"])
    body = answer.json()
    assert answer.status_code == 201
    assert body["orderErrors"] == [] and len(body["orders"]) == 2
    expected_order = set(sample("05_order_perpetual_software_sandbox_cancel_response.json"))
    by_cycle = {order["billingCycle"]: order for order in body["orders"]}
    perpetual = by_cycle["one_time"]
    assert expected_order <= set(perpetual)
    assert len(perpetual["alternateId"]) == 12
    int(perpetual["alternateId"], 16)
    line = perpetual["lineItems"][0]
    assert line["offerId"].startswith(f"{perpetual_sku.product_id}:{perpetual_sku.id}:")
    assert line["termDuration"] == "" and line["friendlyName"] == "tag-B"
    assert line["provisioningContext"] == {"odooLine": "42"}
    subscription_line = by_cycle[subscription_sku.terms[0][1]]["lineItems"][0]
    assert subscription_line["offerId"].endswith(":" + subscription_sku.terms[0][0])
    assert subscription_line["friendlyName"] == "tag-A"


def test_same_request_id_replays_the_checkout_without_a_new_order(shop, sim):
    cart = shop.cart(shop.line(shop.sku()))
    request_id = str(uuid.uuid4())
    first = shop.checkout(cart["id"], request_id)
    again = shop.checkout(cart["id"], request_id)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    orders = [
        order for order in sim.all_orders(US) if order["id"] == first.json()["orders"][0]["id"]
    ]
    assert len(orders) == 1
    assert (
        sum(
            1
            for order in sim.all_orders(US)
            if order["lineItems"][0]["offerId"]
            == first.json()["orders"][0]["lineItems"][0]["offerId"]
            and order["creationDate"] == orders[0]["creationDate"]
        )
        == 1
    )


def test_second_checkout_of_a_cart_answers_800065(shop):
    cart = shop.cart(shop.line(shop.sku()))
    assert shop.checkout(cart["id"]).status_code == 201
    answer = shop.checkout(cart["id"])
    assert answer.status_code == 400
    assert answer.json()["code"] == 800065


def test_concurrent_checkout_answers_409_800064(shop, sim):
    sim.update_settings(checkout_processing_delay=1.0)
    cart = shop.cart(shop.line(shop.sku()))
    results = {}
    worker = threading.Thread(target=lambda: results.setdefault("first", shop.checkout(cart["id"])))
    worker.start()
    time.sleep(0.3)
    second = shop.checkout(cart["id"])
    worker.join()
    assert results["first"].status_code == 201
    assert second.status_code == 409 and second.json()["code"] == 800064


def test_order_goes_from_pending_to_completed(shop, sim):
    sim.update_settings(order_complete_delay=30, fulfilment_delay=30)
    order = shop.buy(shop.line(shop.sku()))[0]
    assert order["status"] == "pending"
    status = shop.call("GET", f"/orders/{order['id']}/provisioningstatus").json()
    assert status["items"][0]["status"] == "PrefulfillmentPending"
    sim.advance_clock(31)
    read = shop.call("GET", f"/orders/{order['id']}").json()
    assert read["status"] == "completed"
    status = shop.call("GET", f"/orders/{order['id']}/provisioningstatus").json()
    assert set(status) == set(sample("05_order_provisioning_status_response.json"))
    assert status["items"][0]["status"] == "Fulfilled"


def test_subscription_id_appears_only_after_the_fulfilment_delay(shop, sim):
    sim.update_settings(order_complete_delay=5, fulfilment_delay=600)
    order = shop.buy(shop.line(shop.sku()))[0]
    sim.advance_clock(10)
    read = shop.call("GET", f"/orders/{order['id']}").json()
    assert read["status"] == "completed"
    assert "subscriptionId" not in read["lineItems"][0]
    status = shop.call("GET", f"/orders/{order['id']}/provisioningstatus").json()
    assert status["items"][0]["status"] == "Unfulfilled"
    assert shop.call("GET", f"/subscriptions?order_id={order['id']}").json()["items"] == []
    sim.advance_clock(600)
    line = shop.call("GET", f"/orders/{order['id']}").json()["lineItems"][0]
    subscriptions = shop.call("GET", f"/subscriptions?order_id={order['id']}").json()
    assert subscriptions["items"][0]["id"] == line["subscriptionId"]
    subscription = shop.call("GET", f"/subscriptions/{line['subscriptionId']}").json()
    assert subscription["orderId"] == order["id"] and subscription["status"] == "active"
    assert subscription["autoRenewEnabled"] is True


def test_subscription_has_the_software_sample_fields(shop):
    order = shop.buy(shop.line(shop.sku(), quantity=2, friendlyName="tag-S"))[0]
    subscription_id = shop.call("GET", f"/orders/{order['id']}").json()["lineItems"][0][
        "subscriptionId"
    ]
    subscription = shop.call("GET", f"/subscriptions/{subscription_id}").json()
    documented = {
        "id",
        "offerId",
        "offerName",
        "friendlyName",
        "quantity",
        "status",
        "autoRenewEnabled",
        "creationDate",
        "effectiveStartDate",
        "commitmentEndDate",
        "cancellationAllowedUntilDate",
        "termDuration",
        "billingCycle",
        "orderId",
        "productType",
        "unitType",
        "hasPurchasableAddons",
        "isTrial",
        "billingType",
        "renewalTermDuration",
        "isMicrosoftProduct",
        "partnerId",
        "attentionNeeded",
        "actionTaken",
        "contractType",
        "links",
        "publisherName",
        "attributes",
        "scheduledNextTermInstructions",
    }
    assert set(subscription) == documented
    assert subscription["friendlyName"] == "tag-S" and subscription["quantity"] == 2
    assert subscription["productType"]["id"] == "Software"


def test_patch_without_auto_renew_turns_it_off(shop):
    order = shop.buy(shop.line(shop.sku()))[0]
    subscription_id = shop.call("GET", f"/orders/{order['id']}").json()["lineItems"][0][
        "subscriptionId"
    ]
    answer = shop.call("PATCH", f"/subscriptions/{subscription_id}", {"quantity": 2})
    assert answer.status_code == 200
    assert answer.json()["autoRenewEnabled"] is False and answer.json()["quantity"] == 2
    full = dict(answer.json(), autoRenewEnabled=True)
    answer = shop.call("PATCH", f"/subscriptions/{subscription_id}", full)
    assert answer.json()["autoRenewEnabled"] is True
    assert shop.call("GET", f"/subscriptions/{subscription_id}").json()["autoRenewEnabled"]


def test_cancellation_only_within_the_window(shop, sim):
    first, second = (shop.buy(shop.line(shop.sku()))[0] for _ in range(2))
    ids = [
        shop.call("GET", f"/orders/{order['id']}").json()["lineItems"][0]["subscriptionId"]
        for order in (first, second)
    ]
    current = shop.call("GET", f"/subscriptions/{ids[0]}").json()
    cancelled = shop.call("PATCH", f"/subscriptions/{ids[0]}", dict(current, status="deleted"))
    assert cancelled.json()["status"] == "deleted"
    sim.advance_clock(8 * 86400)
    late = shop.call("GET", f"/subscriptions/{ids[1]}").json()
    refused = shop.call("PATCH", f"/subscriptions/{ids[1]}", dict(late, status="deleted"))
    assert refused.status_code == 400 and refused.json()["code"] == 900117


def test_slow_subscription_update_answers_202_and_applies_later(shop, sim):
    order = shop.buy(shop.line(shop.sku()))[0]
    subscription_id = shop.call("GET", f"/orders/{order['id']}").json()["lineItems"][0][
        "subscriptionId"
    ]
    current = shop.call("GET", f"/subscriptions/{subscription_id}").json()
    sim.set_faults(["subscription-patch:accepted=30"])
    answer = shop.call(
        "PATCH", f"/subscriptions/{subscription_id}", dict(current, autoRenewEnabled=False)
    )
    assert answer.status_code == 202
    location = answer.headers["Location"]
    assert location.startswith(sim.api_url)
    operation = shop.http.get(location, headers=shop.headers, timeout=10).json()
    assert operation["status"] == "inProgress"
    assert shop.call("GET", f"/subscriptions/{subscription_id}").json()["autoRenewEnabled"]
    sim.advance_clock(31)
    assert shop.http.get(location, headers=shop.headers, timeout=10).json()["status"] == "succeeded"
    assert not shop.call("GET", f"/subscriptions/{subscription_id}").json()["autoRenewEnabled"]


def test_entitlements_list_subscriptions_and_perpetual_licences(shop, sim):
    sim.update_settings(order_complete_delay=0, fulfilment_delay=300)
    orders = shop.buy(
        shop.line(shop.sku()), shop.line(shop.sku("SoftwarePerpetual"), line_id=1, quantity=4)
    )
    ids = {order["id"] for order in orders}

    def mine():
        items = shop.call("GET", "/entitlements?entitlementType=software&showExpiry=true").json()
        return [item for item in items["items"] if item["referenceOrder"]["id"] in ids]

    before = mine()
    assert len(before) == 1 and "expiryDate" not in before[0]
    sim.advance_clock(301)
    after = mine()
    assert len(after) == 2
    keys = set(sample("07_entitlements_software_with_expiry_response.json")["items"][1])
    subscription = next(item for item in after if "expiryDate" in item)
    perpetual = next(item for item in after if "expiryDate" not in item)
    assert set(subscription) == keys
    assert perpetual["quantity"] == 4 and perpetual["entitlementType"] == "software"
    order = next(order for order in orders if order["id"] == perpetual["referenceOrder"]["id"])
    assert perpetual["referenceOrder"]["alternateId"] == order["alternateId"]


def test_order_list_hides_new_orders_during_the_lag(shop, sim):
    sim.update_settings(order_list_lag=120)
    order = shop.buy(shop.line(shop.sku()))[0]
    listed = {item["id"] for item in shop.call("GET", "/orders").json()["items"]}
    assert order["id"] not in listed
    assert order["id"] in {item["id"] for item in sim.all_orders(US)}
    admin = shop.http.get(f"{sim.base_url}/admin/customers/{US}/orders", timeout=10).json()
    assert order["id"] in {item["id"] for item in admin["items"]}
    assert shop.call("GET", f"/orders/{order['id']}").status_code == 200
    sim.advance_clock(121)
    listed = {item["id"] for item in shop.call("GET", "/orders").json()["items"]}
    assert order["id"] in listed


def test_orders_list_is_a_collection(shop):
    shop.buy(shop.line(shop.sku()))
    body = shop.call("GET", "/orders").json()
    assert set(body) == {"totalCount", "items", "links", "attributes"}
    assert body["totalCount"] == len(body["items"]) > 0


def test_perpetual_order_can_be_cancelled_within_30_days(shop, sim):
    order = shop.buy(shop.line(shop.sku("SoftwarePerpetual")))[0]
    sim.advance_clock(20 * 86400)
    answer = shop.call(
        "PATCH",
        f"/orders/{order['id']}",
        {
            "id": order["id"],
            "status": "cancelled",
            "lineItems": [{"lineItemNumber": 0, "offerId": order["lineItems"][0]["offerId"]}],
        },
    )
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    late = shop.buy(shop.line(shop.sku("SoftwarePerpetual")))[0]
    sim.advance_clock(31 * 86400)
    refused = shop.call("PATCH", f"/orders/{late['id']}", {"status": "cancelled"})
    assert refused.status_code == 400 and refused.json()["code"] == 900117


def test_customers_in_other_markets_pay_in_their_currency(sim, sim_http, api_headers):
    for customer in sim.customers[:6]:
        shop = Shop(sim, sim_http, api_headers, customer["tenant_id"])
        order = shop.buy(shop.line(shop.sku()))[0]
        expected = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "GR": "EUR", "IL": "ILS"}[
            customer["country"]
        ]
        assert order["currencyCode"] == expected


def test_added_customer_can_order(sim, sim_http, api_headers):
    customer = sim_http.post(
        f"{sim.base_url}/admin/customers",
        json={"company_name": "Litware SA", "country": "FR"},
        timeout=10,
    ).json()
    shop = Shop(sim, sim_http, api_headers, customer["tenant_id"])
    assert shop.buy(shop.line(shop.sku()))[0]["referenceCustomerId"] == customer["tenant_id"]


def _subscription_of(shop, order):
    line = shop.call("GET", f"/orders/{order['id']}").json()["lineItems"][0]
    return line["subscriptionId"]


def test_subscription_renews_or_expires_after_its_term(shop, sim):
    sku = next(
        sku
        for sku in sim.catalogue.skus_for("US", "SoftwareSubscriptions", purchasable_only=True)
        if sku.terms[0][0] == "P1Y"
    )
    renewing, lapsing = (_subscription_of(shop, shop.buy(shop.line(sku))[0]) for _ in range(2))
    current = shop.call("GET", f"/subscriptions/{lapsing}").json()
    shop.call("PATCH", f"/subscriptions/{lapsing}", dict(current, autoRenewEnabled=False))
    first_end = current["commitmentEndDate"]
    sim.advance_clock(367 * 86400)
    renewed = shop.call("GET", f"/subscriptions/{renewing}").json()
    assert renewed["status"] == "active" and renewed["commitmentEndDate"] > first_end
    assert shop.call("GET", f"/subscriptions/{lapsing}").json()["status"] == "expired"


def test_patch_on_the_renewal_day_answers_409(shop, sim):
    sku = next(
        sku
        for sku in sim.catalogue.skus_for("US", "SoftwareSubscriptions", purchasable_only=True)
        if sku.terms[0][0] == "P1Y"
    )
    subscription_id = _subscription_of(shop, shop.buy(shop.line(sku))[0])
    current = shop.call("GET", f"/subscriptions/{subscription_id}").json()
    end = sim.commerce.state.data["subscriptions"][subscription_id]["commitment_end"]
    sim.advance_clock(end + 86400 + 3600 - sim.now())
    answer = shop.call("PATCH", f"/subscriptions/{subscription_id}", current)
    assert answer.status_code == 409 and answer.json()["code"] == 800060
