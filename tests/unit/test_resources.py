"""Resource parsing, errors, configuration and the client's pure helpers."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest

from partner_center.client import (
    derive_request_id,
    order_marker,
    parse_retry_after,
    tag_line_items,
)
from partner_center.config import ClientConfig
from partner_center.errors import (
    CartAlreadySubmitted,
    MalformedDataError,
    PartnerCenterError,
    ReconsentRequired,
    ThrottledError,
)
from partner_center.resources import (
    Availability,
    CartLineItem,
    CheckoutResult,
    Customer,
    Order,
    Sku,
    Subscription,
    as_datetime,
    next_link,
    parse_timestamp,
    split_catalog_item_id,
)

# === TIMESTAMPS === #


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-07-11T21:16:11.5515713Z", datetime(2023, 7, 11, 21, 16, 11, 551571, timezone.utc)),
        ("2015-11-25T06: 41: 12Z", datetime(2015, 11, 25, 6, 41, 12, tzinfo=timezone.utc)),
        ("2018-03-06T17:37:05.253-08:00", datetime(2018, 3, 7, 1, 37, 5, 253000, timezone.utc)),
        ("2019-01-16T00:48:44.76+00:00", datetime(2019, 1, 16, 0, 48, 44, 760000, timezone.utc)),
        ("2022-01-28", datetime(2022, 1, 28, tzinfo=timezone.utc)),
        ("0001-01-01T00:00:00", datetime(1, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_timestamps_are_read_tolerantly(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["<etag>", "2021-13-45T00:00:00Z", "9999-12-31T23:00:00-05:00"])
def test_unreadable_timestamps_keep_their_text(text):
    assert parse_timestamp(text) == text
    assert as_datetime(parse_timestamp(text)) is None


def test_empty_timestamp_is_none():
    assert parse_timestamp("") is None and parse_timestamp(None) is None


# === RESOURCES === #


def test_unknown_and_missing_fields_are_tolerated():
    order = Order.from_json({"id": "abc", "futureField": {"x": 1}})
    assert order.line_items == () and order.alternate_id is None and order.creation_date is None


def test_missing_ids_raise_malformed_data():
    with pytest.raises(MalformedDataError) as caught:
        Subscription.from_json({"offerId": "x"})
    assert caught.value.column == "id"
    with pytest.raises(MalformedDataError):
        Order.from_json(["not", "an", "object"])


def test_availability_ids_from_catalog_item_id():
    availability = Availability.from_json(
        {
            "catalogItemId": "DG7GMGF0DWTL:0001:DG7GMGF0DSFM",
            "isPurchasable": True,
            "defaultCurrency": {"code": "USD"},
            "country": "us",
            "terms": [{"duration": "P1Y", "billingCycle": "Annual"}],
        }
    )
    assert (availability.product_id, availability.sku_id, availability.id) == (
        "DG7GMGF0DWTL",
        "0001",
        "DG7GMGF0DSFM",
    )
    assert availability.country == "US" and availability.default_currency == "USD"
    assert availability.terms[0].billing_cycle == "annual"
    assert availability.term_durations == ("P1Y",)


def test_sku_takes_product_id_from_context():
    sku = Sku.from_json({"id": "0001", "supportedBillingCycles": ["OneTime"]}, product_id="P")
    assert sku.code == "P:0001" and sku.supported_billing_cycles == ("one_time",)


def test_customer_from_partner_center_shape():
    customer = Customer.from_json(
        {
            "id": "t-1",
            "companyProfile": {"companyName": "Contoso", "domain": "contoso.com"},
            "billingProfile": {"defaultAddress": {"country": "gb"}},
        }
    )
    assert (customer.tenant_id, customer.company_name, customer.country) == ("t-1", "Contoso", "GB")


def test_checkout_result_with_order_errors():
    result = CheckoutResult.from_json(
        {
            "orders": [],
            "orderErrors": [{"orderGroupId": "0", "code": 800070, "description": "Not sold there"}],
        }
    )
    assert result.orders == ()
    assert (result.order_errors[0].code, result.order_errors[0].order_group_id) == (800070, "0")


def test_cart_line_to_json_omits_term_for_perpetual():
    line = CartLineItem("P:S:A", 2, "one_time")
    assert line.to_json() == {
        "id": 0,
        "catalogItemId": "P:S:A",
        "quantity": 2,
        "billingCycle": "one_time",
    }


def test_split_catalog_item_id():
    assert split_catalog_item_id("P:S:A") == ("P", "S", "A")
    assert split_catalog_item_id("P:S") == ("P", "S", None)
    assert split_catalog_item_id("MS-AZR-0145P") == (None, None, None)


def test_next_link_with_continuation_header():
    payload = {
        "links": {
            "next": {
                "uri": "/products?x=1",
                "headers": [{"key": "MS-ContinuationToken", "value": "abc"}],
            }
        }
    }
    assert next_link(payload) == ("/products?x=1", {"MS-ContinuationToken": "abc"})
    assert next_link({"links": {"self": {"uri": "/x"}}}) is None


# === ERRORS === #


def test_error_message_carries_ids_and_code():
    error = CartAlreadySubmitted(code=800065, status=400, correlation_id="c-1", request_id="r-1")
    text = str(error)
    assert "800065" in text and "c-1" in text and "r-1" in text and "HTTP 400" in text


def test_errors_survive_pickling():
    error = ThrottledError("slow down", retry_after=57, status=429, correlation_id="c")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (type(copy), copy.retry_after, copy.status, str(copy)) == (
        ThrottledError,
        57,
        429,
        str(error),
    )


def test_reconsent_is_an_authentication_error_telling_what_to_do():
    error = ReconsentRequired()
    assert isinstance(error, PartnerCenterError)
    assert "consent" in str(error)


def test_malformed_data_names_row_and_column():
    error = MalformedDataError("bad", row=7, column="UnitPrice")
    assert str(error).startswith("line 7, column 'UnitPrice'")


# === CONFIG === #


def test_config_repr_hides_secrets():
    config = ClientConfig(tenant="t", client_id="c", client_secret="s3cret!", refresh_token="rt-42")
    text = repr(config) + str(config)
    assert "s3cret!" not in text and "rt-42" not in text
    assert "client_secret='***'" in text


def test_config_defaults_and_simulator_settings():
    config = ClientConfig(tenant="contoso.onmicrosoft.com")
    assert config.authority_url == "https://login.microsoftonline.com/contoso.onmicrosoft.com"
    assert config.uses_microsoft_login and config.verify is True
    local = ClientConfig.for_simulator("https://127.0.0.1:9443/", "/tmp/ca.pem", tenant="tid")
    assert local.api_base_url == "https://127.0.0.1:9443/v1"
    assert local.pricesheet_base_url == "https://127.0.0.1:9443/v1.0/sales"
    assert local.authority_url == "https://127.0.0.1:9443/tid"
    assert not local.uses_microsoft_login and local.verify == "/tmp/ca.pem"


def test_config_rejects_unknown_auth_mode():
    with pytest.raises(ValueError):
        ClientConfig(auth_mode="password")


# === IDEMPOTENCY HELPERS === #


def test_request_ids_derive_deterministically_from_the_key():
    assert derive_request_id("SO042/1", "checkout") == derive_request_id("SO042/1", "checkout")
    assert derive_request_id("SO042/1", "checkout") != derive_request_id("SO042/2", "checkout")
    assert derive_request_id("SO042/1", "cart") != derive_request_id("SO042/1", "checkout")


def test_marker_is_written_into_friendly_names_within_the_limit():
    marker = order_marker("SO042/1")
    lines = tag_line_items(
        [
            CartLineItem("P:S:A", 1, "annual", "P1Y", friendly_name="x" * 80),
            CartLineItem("P:S:B", 1, "one_time"),
        ],
        marker,
    )
    assert all(line.friendly_name.endswith(marker) for line in lines)
    assert all(len(line.friendly_name) <= 50 for line in lines)
    assert tag_line_items(lines, marker) == lines  # tagging twice changes nothing


def test_order_found_by_marker_even_after_a_title_prefix():
    marker = order_marker("SO042/1")
    order = Order.from_json(
        {"id": "o", "lineItems": [{"lineItemNumber": 0, "friendlyName": f"Office 2021{marker}"}]}
    )
    assert order.carries_marker(marker)
    assert not order.carries_marker(order_marker("SO042/2"))


def test_retry_after_header_forms():
    assert parse_retry_after("57") == 57
    assert parse_retry_after("") is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
