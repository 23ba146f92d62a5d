"""Customer creation and search on the simulator, over raw HTTPS (the client is tested
elsewhere)."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
import requests

from partner_center.simulator import Simulator, SimulatorSettings

ERROR_KEYS = {"code", "description", "data", "source"}
DOMAIN_EXISTS = 600011


def unique_prefix(stem="wingtip"):
    return f"{stem}{uuid.uuid4().hex[:10]}"


def documented_body(domain, country="US", **address):
    """A create-a-customer body written as Microsoft's example writes it (PascalCase keys)."""
    default_address = {
        "FirstName": "Gena",
        "LastName": "Soto",
        "AddressLine1": "One Microsoft Way",
        "City": "Redmond",
        "State": "WA",
        "PostalCode": "98052",
        "Country": country,
        **address,
    }
    return {
        "CompanyProfile": {"Domain": domain},
        "BillingProfile": {
            "Culture": "EN-US",
            "Email": "gena@wingtiptoys.example",
            "Language": "en",
            "CompanyName": "Wingtip Toys",
            "DefaultAddress": default_address,
        },
    }


class Customers:
    """Raw calls to ``/v1/customers``."""

    def __init__(self, sim, http, headers):
        self.url = f"{sim.api_url}/customers"
        self.http, self.headers = http, headers

    def create(self, body, request_id=None):
        headers = dict(self.headers, **{"MS-RequestId": request_id or str(uuid.uuid4())})
        return self.http.post(self.url, json=body, headers=headers, timeout=10)

    def search(self, field, value, size=None, operator="starts_with"):
        search = json.dumps({"Field": field, "Value": value, "Operator": operator})
        query = f"filter={quote(search)}" + (f"&size={size}" if size is not None else "")
        return self.http.get(f"{self.url}?{query}", headers=self.headers, timeout=10)


@pytest.fixture
def customers(sim, sim_http, api_headers):
    return Customers(sim, sim_http, api_headers)


# === CREATION === #


def test_documented_body_creates_a_customer(customers, sim):
    domain = f"{unique_prefix()}.onmicrosoft.com"
    answer = customers.create(documented_body(domain))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert uuid.UUID(created["id"]) and created["companyProfile"]["tenantId"] == created["id"]
    assert created["companyProfile"]["domain"] == domain
    assert created["billingProfile"]["defaultAddress"]["addressLine1"] == "One Microsoft Way"
    assert created["billingProfile"]["email"] == "gena@wingtiptoys.example"
    assert created["relationshipToPartner"] == "reseller"
    assert created["userCredentials"]["userName"] == f"admin@{domain}"
    assert created["id"] in {customer["tenant_id"] for customer in sim.customers}


def test_missing_required_fields_answer_400_naming_them(customers):
    body = documented_body(f"{unique_prefix()}.onmicrosoft.com", City="")
    del body["BillingProfile"]["Email"]
    answer = customers.create(body)
    assert answer.status_code == 400
    error = answer.json()
    assert set(error) == ERROR_KEYS and error["code"] == 400001
    assert error["data"] == ["billingProfile.email", "defaultAddress.city"]
    assert "billingProfile.email" in error["description"]


def test_phone_and_registration_number_are_required_in_listed_countries(customers):
    # Required fields are checked before the market: PL is not simulated, the rule still shows.
    domain = f"{unique_prefix()}.onmicrosoft.com"
    answer = customers.create(documented_body(domain, country="PL"))
    assert answer.status_code == 400
    assert answer.json()["data"] == [
        "defaultAddress.phoneNumber",
        "companyProfile.organizationRegistrationNumber",
    ]


def test_country_must_be_a_simulated_market(customers):
    answer = customers.create(documented_body(f"{unique_prefix()}.onmicrosoft.com", country="JP"))
    assert answer.status_code == 400 and "JP" in answer.json()["description"]


def test_taken_domain_answers_409_in_any_case(customers):
    answer = customers.create(documented_body("CONTOSO-SIM.onmicrosoft.com"))
    assert answer.status_code == 409
    assert set(answer.json()) == ERROR_KEYS and answer.json()["code"] == DOMAIN_EXISTS


def test_same_request_id_replays_the_same_customer(customers, sim):
    domain = f"{unique_prefix()}.onmicrosoft.com"
    request_id = str(uuid.uuid4())
    first = customers.create(documented_body(domain), request_id)
    again = customers.create(documented_body(domain), request_id)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert [c["domain"] for c in sim.customers].count(domain) == 1


def test_created_customer_can_order(customers, sim, sim_http, api_headers):
    tenant = customers.create(documented_body(f"{unique_prefix()}.onmicrosoft.com")).json()["id"]
    sku = sim.catalogue.skus_for("US", "SoftwarePerpetual", purchasable_only=True)[0]
    line = {
        "id": 0,
        "quantity": 1,
        "billingCycle": "one_time",
        "catalogItemId": sim.catalogue.catalog_item_id(sku.product_id, sku.id),
    }
    carts = f"{sim.api_url}/customers/{tenant}/carts"
    cart = sim_http.post(carts, json={"lineItems": [line]}, headers=api_headers, timeout=10)
    checkout = sim_http.post(
        f"{carts}/{cart.json()['id']}/checkout",
        headers=dict(api_headers, **{"MS-RequestId": str(uuid.uuid4())}),
        timeout=10,
    )
    assert checkout.status_code == 201
    assert checkout.json()["orders"][0]["referenceCustomerId"] == tenant


# === LISTING AND SEARCH === #


def test_list_has_every_customer_without_billing_profile(customers, sim):
    answer = customers.http.get(customers.url, headers=customers.headers, timeout=10).json()
    assert {item["id"] for item in answer["items"]} == {c["tenant_id"] for c in sim.customers}
    assert all("billingProfile" not in item for item in answer["items"])
    assert answer["totalCount"] == len(sim.customers)


def test_domain_search_is_a_case_insensitive_prefix_match(customers):
    stem = unique_prefix("acme")
    for suffix in ("", "2"):
        customers.create(documented_body(f"{stem}{suffix}.onmicrosoft.com"))
    answer = customers.search("Domain", stem.upper())
    assert answer.status_code == 200
    domains = sorted(item["companyProfile"]["domain"] for item in answer.json()["items"])
    assert domains == [f"{stem}.onmicrosoft.com", f"{stem}2.onmicrosoft.com"]
    assert customers.search("Domain", f"{stem}3").json()["items"] == []


def test_company_name_search(customers):
    (item,) = customers.search("CompanyName", "tailspin").json()["items"]
    assert item["companyProfile"]["companyName"] == "Tailspin Toys GmbH"


def test_search_pages_continue_with_the_continuation_token(customers):
    stem = unique_prefix("paged")
    for number in range(3):
        customers.create(documented_body(f"{stem}{number}.onmicrosoft.com"))
    page = customers.search("Domain", stem, size=2).json()
    seen = [item["id"] for item in page["items"]]
    assert len(seen) == 2 and page["totalCount"] == 3
    following = page["links"]["next"]
    headers = {header["key"]: header["value"] for header in following["headers"]}
    rest = customers.http.get(
        f"{customers.url.removesuffix('/customers')}{following['uri']}",
        headers=dict(customers.headers, **headers),
        timeout=10,
    ).json()
    assert len(rest["items"]) == 1 and rest["items"][0]["id"] not in seen
    assert "next" not in rest["links"]


@pytest.mark.parametrize(
    "query",
    [
        "filter=" + quote('{"Field":"Domain","Value":"c","Operator":"equals"}'),
        "filter=" + quote('{"Field":"Country","Value":"c","Operator":"starts_with"}'),
        "filter=not-json",
        "size=many",
        "seekOperation=Next",
    ],
)
def test_bad_search_answers_400(customers, query):
    answer = customers.http.get(f"{customers.url}?{query}", headers=customers.headers, timeout=10)
    assert answer.status_code == 400 and set(answer.json()) == ERROR_KEYS


# === STATE === #


def test_created_customers_and_their_replay_survive_a_restart(tmp_path):
    settings = SimulatorSettings(sku_count=20, state_file=str(tmp_path / "state.json"))
    domain = f"{unique_prefix()}.onmicrosoft.com"
    request_id = str(uuid.uuid4())
    with Simulator(settings.replace()) as first, _session(first) as http:
        created = Customers(first, http, _headers(first, http)).create(
            documented_body(domain), request_id
        )
    with Simulator(settings.replace()) as second, _session(second) as http:
        assert created.json()["id"] in {c["tenant_id"] for c in second.customers}
        customers = Customers(second, http, _headers(second, http))
        assert (
            customers.create(documented_body(domain), request_id).json()["id"]
            == (created.json()["id"])
        )
        assert customers.create(documented_body(domain)).status_code == 409


def _session(sim):
    http = requests.Session()
    http.verify = sim.ca_file
    http.trust_env = False
    return http


def _headers(sim, http):
    form = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "scope": "https://api.partnercenter.microsoft.com/.default",
    }
    token = http.post(f"{sim.authority}/oauth2/v2.0/token", data=form, timeout=10)
    return {"Authorization": f"Bearer {token.json()['access_token']}"}
