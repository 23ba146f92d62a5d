"""Microsoft's own example payloads go through the matching parser.

Every valid ``.json`` sample must be claimed by a parser below (a new sample without one fails),
and the fields the suite relies on are checked where the sample has them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from partner_center.errors import MalformedDataError
from partner_center.pricesheet import iter_price_rows
from partner_center.resources import (
    ApiError,
    Artifact,
    Cart,
    CartLineItem,
    CheckoutResult,
    Entitlement,
    Order,
    OrderLineItem,
    Product,
    ProvisioningStatus,
    Sku,
    Subscription,
    collection_items,
    parse_many,
)

from .common import load_sample, samples_dir

pytestmark = pytest.mark.skipif(
    not samples_dir().is_dir(),
    reason=f"Partner Center samples not found at {samples_dir()} (set MS_CSP_SHARED)",
)


def _lines(payload, key="lineItems"):
    return [OrderLineItem.from_json(line) for line in payload[key]]


def _cart_request(payload):
    items = payload.get("LineItems") or payload.get("lineItems")
    return [CartLineItem.from_json(line) for line in items]


# file name prefix -> parser (first matching prefix wins, so specific ones come first)
PARSERS = [
    ("02_product_by_id_", Product.from_json),
    ("02_sku_by_id_", Sku.from_json),
    ("04_cart_checkout_", CheckoutResult.from_json),
    ("04_cart_create_nce_request", _cart_request),
    ("04_cart_create_", Cart.from_json),
    ("05_order_create_request", lambda payload: _lines(payload, "LineItems")),
    ("05_order_create_nce_attestation_request", _lines),
    ("05_order_provisioning_status_", lambda payload: parse_many(ProvisioningStatus, payload)),
    ("05_order_", Order.from_json),
    ("06_subscriptions_by_order_", lambda payload: parse_many(Subscription, payload)),
    ("06_subscription_", Subscription.from_json),
    ("07_entitlement_productkey_", Artifact.from_json),
    ("07_entitlements_", lambda payload: parse_many(Entitlement, payload)),
    ("08_error_", ApiError.from_json),
]


def _parser_for(name):
    return next((parser for prefix, parser in PARSERS if name.startswith(prefix)), None)


def _json_samples():
    directory = samples_dir()
    return sorted(path.name for path in directory.glob("*.json")) if directory.is_dir() else []


@pytest.mark.parametrize("name", _json_samples())
def test_every_json_sample_is_read_by_its_parser(name):
    parser = _parser_for(name)
    assert parser is not None, f"no parser claims {name}: map it in PARSERS"
    assert parser(load_sample(name))


def test_product_sample_fields():
    product = Product.from_json(load_sample("02_product_by_id_nce_response.json"))
    assert product.id == "CFQ7TTC0LH18"
    assert product.title == "Microsoft 365 Business Basic"
    assert product.product_type_id == "OnlineServicesNCE"


def test_sku_sample_fields():
    sku = Sku.from_json(load_sample("02_sku_by_id_azure_response.json"))
    assert sku.code == "DZH318Z0BQ3V:00G1"
    assert sku.supported_billing_cycles == ("one_time",)
    assert (sku.minimum_quantity, sku.maximum_quantity) == (1, 999999999)


def test_cart_sample_keeps_perpetual_line_without_term():
    cart = Cart.from_json(load_sample("04_cart_create_response.json"))
    assert cart.id == "3655b1a0-b1c9-4268-9824-577fdbc4d0be"
    software = next(line for line in cart.line_items if line.catalog_item_id.startswith("DG7"))
    assert software.catalog_item_id == "DG7GMGF0DWM3:0002:DG7GMGF0DT1M"
    assert software.billing_cycle == "one_time"
    assert software.term_duration is None
    assert isinstance(cart.creation_timestamp, datetime)


def test_cart_request_sample_with_capitalized_keys():
    (line,) = _cart_request(load_sample("04_cart_create_nce_request.json"))
    assert line.catalog_item_id == "CFQ7TTC0LFLZ:0002:CFQ7TTC0K4TS"
    assert (line.quantity, line.term_duration, line.billing_cycle) == (1, "P1M", "monthly")


def test_checkout_sample_2018_order_and_line():
    result = CheckoutResult.from_json(load_sample("04_cart_checkout_software_response_2018.json"))
    (order,) = result.orders
    assert order.id == "VulAvcXKPvZqsyAAaahiT7Ii0QEJuReH1"
    assert order.alternate_id is None and order.alias == order.id
    assert order.billing_cycle == "one_time"
    (line,) = order.line_items
    assert (line.product_id, line.sku_id, line.quantity) == ("DG7GMGF0DWTL", "0001", 2)
    # Partner Center put the product title before the cart line's friendly name.
    assert line.friendly_name.endswith("My offer purchase")
    assert result.order_errors == ()


def test_order_sample_alias_and_lines():
    order = Order.from_json(load_sample("05_order_software_cancel_response.json"))
    assert (order.id, order.alternate_id) == ("2y6dF_rVgDAXMxypQPPnTquuXhKVK_3N1", "c403d91b21d2")
    assert order.alias == "c403d91b21d2"
    assert order.reference_customer_id == "45411344-b09d-47e7-9653-542006bf9766"
    assert [line.line_item_number for line in order.line_items] == [0, 1]
    assert order.line_items[1].term_duration == "P3Y"
    assert order.creation_date == datetime(2019, 12, 12, 17, 33, 56, 130649, tzinfo=timezone.utc)


def test_perpetual_order_sample_has_empty_term():
    order = Order.from_json(load_sample("05_order_perpetual_software_sandbox_cancel_response.json"))
    assert order.alias == "11fc4bdfd47a"
    assert order.status == "cancelled"
    assert order.line_items[0].term_duration is None


def test_order_line_with_subscription_id():
    order = Order.from_json(load_sample("05_order_create_nce_attestation_response.json"))
    assert order.line_items[0].subscription_id == "fcddfa52-1da8-4529-d347-50ea51e1e7be"


def test_provisioning_status_sample():
    (status,) = parse_many(
        ProvisioningStatus, load_sample("05_order_provisioning_status_response.json")
    )
    assert (status.line_item_number, status.status, status.quantity) == (0, "fulfilled", 1)
    assert status.is_fulfilled


def test_subscription_sample_keeps_raw_for_full_patch():
    payload = load_sample("06_subscription_get_by_id_addon_response.json")
    subscription = Subscription.from_json(payload)
    assert subscription.id == "968BA1CF-C146-4ADF-A300-308DCF718EEE"
    assert subscription.auto_renew_enabled is True
    assert subscription.order_id == "CF3B0E37-BE0B-4CDD-B584-D1A97D98A922"
    body = subscription.patched(autoRenewEnabled=False)
    assert body["autoRenewEnabled"] is False
    assert {key for key in body if body[key] != payload[key]} == {"autoRenewEnabled"}
    assert payload["autoRenewEnabled"] is True  # the parsed payload is not touched


def test_subscriptions_by_order_sample_with_odd_timestamps():
    (subscription,) = parse_many(
        Subscription, load_sample("06_subscriptions_by_order_response.json")
    )
    assert subscription.id == "83ef9d05-4169-4ef9-9657-0e86b1eab1de"
    assert subscription.order_id == "{id-for-order}"
    # "2015-11-25T06: 41: 12Z" as printed in the docs
    assert subscription.creation_date == datetime(2015, 11, 25, 6, 41, 12, tzinfo=timezone.utc)
    assert subscription.commitment_end_date == datetime(2016, 12, 12, 8, tzinfo=timezone.utc)


def test_entitlements_sample_with_expiry():
    payload = load_sample("07_entitlements_software_with_expiry_response.json")
    first, second = parse_many(Entitlement, payload)
    assert first.reference_order_id == "4teYMtWYEeKM77JftGLIQYMOZPTwyOEV1"
    assert first.reference_order_alternate_id == "8f3af3dea1ea"
    assert (first.reference_line_item_id, second.reference_line_item_id) == ("0", "1")
    assert first.code == "DG7GMGF0DWM3:0002"
    assert first.entitlement_type == "software"
    assert len(first.included) == 2 and first.included[0].code == "DG7GMGF0DWM2:0001"
    assert first.expiry_date is None
    assert second.expiry_date == datetime(2022, 1, 28, tzinfo=timezone.utc)


def test_product_key_artifact_sample():
    artifact = Artifact.from_json(load_sample("07_entitlement_productkey_artifact_response.json"))
    assert artifact.artifact_type == "product_key"
    assert artifact.product_key == "8F9FN-2JWYW-12345-67890-XWRTF"


@pytest.mark.parametrize(
    ("name", "code", "description"),
    [
        ("08_error_400_tenant_id_not_guid_response.json", 2000, "Tenant Id must be a GUID."),
        ("08_error_400_mpn_invalid_2200_response.json", 2200, "Requested MPN Id 123456"),
        ("08_error_404_partner_not_found_response.json", 3000, "Partner Organization"),
    ],
)
def test_error_samples(name, code, description):
    error = ApiError.from_json(load_sample(name))
    assert error.code == code
    assert error.description.startswith(description)
    assert error.source in ("PartnerFD", "PartnerApiServiceControllers")


def test_throttling_sample_gives_retry_after():
    error = ApiError.from_json(load_sample("08_error_429_throttling_response.json"))
    assert error.status == 429
    assert error.code is None
    assert error.retry_after_hint == 57


def test_collection_samples_have_items():
    assert len(collection_items(load_sample("07_entitlements_software_with_expiry_response.json")))


# === CSV SAMPLES === #


def _read_csv(name):
    with open(samples_dir() / name, encoding="utf-8", newline="") as handle:
        return list(iter_price_rows(handle))


def test_license_based_price_sheet_sample_with_smart_quote_header():
    (row,) = _read_csv("09_pricesheet_updatedlicensebased_nce.csv")
    assert row.code == "CFQ7TTC0HDK0:0001"
    assert (row.term_duration, row.billing_plan) == ("P1Y", "annual")
    assert (row.market, row.currency) == ("US", "USD")
    assert row.unit_price == Decimal("115.2")
    assert row.erp_price == Decimal("144")  # the column named "ERP Price“ in the sample
    assert row.effective_start == datetime(2019, 2, 1, tzinfo=timezone.utc)
    assert row.effective_end == datetime(2021, 2, 4, 20, 35, 31, tzinfo=timezone.utc)
    assert row.tags == ("License",)
    assert row.line_number == 2


def test_azure_price_sheet_sample_keeps_unknown_columns():
    (row,) = _read_csv("09_pricesheet_azure_consumption.csv")
    assert row.code == "DZH318Z0C16V:001J"
    assert row.unit_price == Decimal("15")
    assert row.erp_price is None
    assert row.tags == ("Azure",)  # the cell closed by U+201C
    assert dict(row.extra)["MeterIds"] == "cb0969aa-aaaa-4d6c-ab4b-7e182fa06aff"


def test_software_fields_table_header_is_understood():
    table = (samples_dir() / "09_software_pricelist_fields_table.md").read_text(encoding="utf-8")
    fields = [line.split("|")[1].strip() for line in table.splitlines()[2:] if line.strip()]
    rows = [
        ",".join(fields) + "\n",
        "T,DG7GMGF0D5SL,7,S,Microsoft,D,,OneTime,,US,USD,10,,,"
        "2021-10-01T00:00:00.0000000Z,9999-11-30T23:59:59.0000000Z,Software;Perpetual,12,Commercial\n",
    ]
    (row,) = iter_price_rows(rows)
    assert (row.term_duration, row.billing_plan, row.segment) == (None, "one_time", "commercial")
    assert row.tags == ("Software", "Perpetual")
    assert row.effective_end == datetime(9999, 11, 30, 23, 59, 59, tzinfo=timezone.utc)


def test_malformed_sample_text_is_reported_not_crashing():
    with pytest.raises(MalformedDataError):
        Order.from_json({"lineItems": []})
