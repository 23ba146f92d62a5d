"""Customers: the input a creation needs, creating one and finding one to link (real HTTPS to the
simulator, no mocking of requests)."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
import requests

from partner_center import client as client_module
from partner_center.client import derive_request_id
from partner_center.errors import DomainNotAvailable
from partner_center.resources import Customer, NewCustomer, onmicrosoft_domain


def unique_prefix(stem="wingtip"):
    return f"{stem}{uuid.uuid4().hex[:10]}"


def new_customer(**overrides) -> NewCustomer:
    values = {
        "domain": unique_prefix(),
        "company_name": "Wingtip Toys",
        "email": "gena@wingtiptoys.example",
        "culture": "en-US",
        "language": "en",
        "country": "US",
        "city": "Redmond",
        "state": "WA",
        "address_line1": "One Microsoft Way",
        "postal_code": "98052",
        "first_name": "Gena",
        "last_name": "Soto",
        "phone_number": "4255550101",
        **overrides,
    }
    return NewCustomer(**values)


def posts_to_customers(sim):
    return [
        entry
        for entry in sim.requests_log()
        if entry["method"] == "POST" and entry["path"] == "/v1/customers"
    ]


# === INPUT === #


def test_bare_prefix_is_completed_to_an_onmicrosoft_domain():
    assert NewCustomer(domain=" Wingtip ").domain == "Wingtip.onmicrosoft.com"
    assert NewCustomer(domain="wingtip.onmicrosoft.com.").domain == "wingtip.onmicrosoft.com"
    assert onmicrosoft_domain("wingtiptoys.example") == "wingtiptoys.example"
    assert onmicrosoft_domain("  ") == ""


def test_missing_fields_names_the_empty_required_ones():
    incomplete = new_customer(email="  ", city="", state="", address_line2="", phone_number="")
    assert incomplete.missing_fields() == ("email", "city")
    assert NewCustomer().missing_fields()[:3] == ("domain", "company_name", "email")
    assert new_customer().missing_fields() == ()


def test_phone_and_registration_number_are_required_where_microsoft_lists_them():
    polish = new_customer(country="pl", phone_number="")
    assert polish.country == "PL"
    assert polish.missing_fields() == ("phone_number", "organization_registration_number")
    complete = new_customer(country="PL", organization_registration_number="5261040828")
    assert complete.missing_fields() == ()


def test_request_body_has_the_documented_shape():
    body = new_customer(domain="wingtip", organization_registration_number="").to_json()
    assert body == {
        "companyProfile": {"domain": "wingtip.onmicrosoft.com", "companyName": "Wingtip Toys"},
        "billingProfile": {
            "email": "gena@wingtiptoys.example",
            "culture": "en-US",
            "language": "en",
            "companyName": "Wingtip Toys",
            "defaultAddress": {
                "country": "US",
                "city": "Redmond",
                "state": "WA",
                "addressLine1": "One Microsoft Way",
                "postalCode": "98052",
                "firstName": "Gena",
                "lastName": "Soto",
                "phoneNumber": "4255550101",
            },
        },
    }


def test_customer_read_by_id_has_what_linking_needs():
    customer = Customer.from_json(
        {
            "id": "eebd1b55-5360-4438-a11d-5c06918c3014",
            "commerceId": "99e6a635-48e7-424d-9059-c9db944e3c54",
            "companyProfile": {
                "tenantId": "eebd1b55-5360-4438-a11d-5c06918c3014",
                "domain": "abcdefgh1234.onmicrosoft.com",
                "companyName": "Fabrikam",
                "address": {"country": "US", "city": "redmond"},
            },
            "billingProfile": {"email": "john@fabrikam.example", "culture": "en-US"},
            "relationshipToPartner": "reseller",
            "allowDelegatedAccess": True,
            "customDomains": ["fabrikam.example"],
        }
    )
    assert (customer.company_name, customer.country, customer.relationship_to_partner) == (
        "Fabrikam",
        "US",  # from the company profile's address when the billing profile has none
        "reseller",
    )
    assert customer.custom_domains == ("fabrikam.example",) and customer.allow_delegated_access
    assert customer.has_domain("ABCDEFGH1234.onmicrosoft.com") and customer.has_domain(
        "Fabrikam.Example"
    )
    assert not customer.has_domain("abcdefgh.onmicrosoft.com") and not customer.has_domain("")


def test_search_result_customer_has_no_country():
    summary = Customer.from_json(
        {"id": "t-2", "companyProfile": {"domain": "contoso190.onmicrosoft.com"}}
    )
    assert summary.country is None and summary.domain == "contoso190.onmicrosoft.com"


# === CREATION === #


def test_create_customer_returns_the_new_tenant(sim, client):
    wanted = new_customer()
    customer = client.create_customer(wanted)
    assert uuid.UUID(customer.tenant_id)
    assert (customer.domain, customer.company_name, customer.country) == (
        wanted.domain,
        "Wingtip Toys",
        "US",
    )
    assert customer.relationship_to_partner == "reseller"
    assert customer.tenant_id in {record["tenant_id"] for record in sim.customers}


def test_the_first_admin_password_is_never_kept(sim, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    answers = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, *a, **k: answers.append(response.text))
    customer = make_client(session=session).create_customer(new_customer())
    password = next(
        json.loads(text)["userCredentials"]["password"] for text in answers if "userCred" in text
    )
    assert password not in repr(customer) and password not in caplog.text


def test_pinned_request_id_returns_the_same_customer(sim, client):
    wanted = new_customer()
    request_id = derive_request_id("SO-2001", "customer")
    first = client.create_customer(wanted, request_id=request_id)
    again = client.create_customer(wanted, request_id=request_id)
    assert again.tenant_id == first.tenant_id
    assert [record["domain"] for record in sim.customers].count(wanted.domain) == 1


def test_lost_answer_is_repeated_with_the_same_request_id(sim, client):
    wanted = new_customer()
    sim.set_faults(["customer-create:drop_after_commit:1:1"])
    customer = client.create_customer(wanted)
    attempts = posts_to_customers(sim)
    assert [entry["status"] for entry in attempts] == ["aborted", 201]
    assert attempts[0]["request_id"] == attempts[1]["request_id"]
    same_domain = [record for record in sim.customers if record["domain"] == wanted.domain]
    assert [record["tenant_id"] for record in same_domain] == [customer.tenant_id]


def test_taken_domain_is_refused_without_retrying(sim, client):
    with pytest.raises(DomainNotAvailable) as caught:
        client.create_customer(new_customer(domain="Contoso-Sim"))
    assert caught.value.status == 409 and caught.value.retry_after is None
    assert len(posts_to_customers(sim)) == 1


def test_incomplete_customer_is_refused_before_sending(sim, client):
    with pytest.raises(ValueError, match="first_name, last_name"):
        client.create_customer(new_customer(first_name="", last_name=" "))
    assert posts_to_customers(sim) == []


# === FINDING === #


def test_find_customer_by_tenant_id(client, customer):
    found = client.find_customer(customer["tenant_id"])
    assert (found.tenant_id, found.country) == (customer["tenant_id"], "US")
    assert client.find_customer(str(uuid.uuid4())) is None


def test_find_customer_by_domain_is_exact_and_case_insensitive(sim, client):
    stem = unique_prefix("acme")
    wanted = client.create_customer(new_customer(domain=stem, country="GB", state=""))
    client.create_customer(new_customer(domain=f"{stem}2"))
    sim.requests_log(clear=True)
    found = client.find_customer(stem.upper())
    assert found.tenant_id == wanted.tenant_id
    assert found.country == "GB"  # read in full: search results have no billing profile
    (search,) = [entry for entry in sim.requests_log() if entry["path"] == "/v1/customers"]
    assert json.loads(search["query"]["filter"]) == {
        "Field": "Domain",
        "Value": f"{stem.upper()}.onmicrosoft.com",
        "Operator": "starts_with",
    }
    assert client.find_customer(f"{stem}.onmicrosoft.com").tenant_id == wanted.tenant_id
    assert client.find_customer(stem[:-1]) is None  # a prefix of a domain is not that domain


def test_find_customer_follows_search_pages(sim, client, monkeypatch):
    monkeypatch.setattr(client_module, "CUSTOMER_SEARCH_PAGE_SIZE", 1)
    domain = f"{unique_prefix('paged')}.example"
    for longer in (f"{domain}.net", f"{domain}.org"):  # listed first, and starting with domain
        client.create_customer(new_customer(domain=longer))
    wanted = client.create_customer(new_customer(domain=domain))
    sim.requests_log(clear=True)
    assert client.find_customer(domain).tenant_id == wanted.tenant_id
    pages = [entry for entry in sim.requests_log() if entry["path"] == "/v1/customers"]
    assert [entry["query"].get("seekoperation") for entry in pages] == [None, "Next", "Next"]


def test_search_customers_by_company_name(client):
    (found,) = client.search_customers("wingtip toys sarl", field="CompanyName")
    assert found.domain == "wingtip-sim.onmicrosoft.com"
