"""Customers, carts, orders, subscriptions and entitlements: the simulator's business rules.

Time-driven progress is computed from stored timestamps when read (simulator clock), so nothing
runs in the background:

- an order is ``pending`` until ``order_complete_delay`` has passed, then ``completed``;
- a line is fulfilled ``fulfilment_delay`` after the order (never before it completes): only
  then does a software subscription line get its ``subscriptionId``, the subscription become
  readable, and its entitlement gain ``expiryDate``; a perpetual line's entitlement appears then;
- a subscription past its commitment end renews (auto-renew on) or expires; PATCHing it on the
  renewal day answers 409 / 800060.

Perpetual licences: the "Perpetual ID" is the entitlement's ``referenceOrder`` (order id plus
``lineItemId``); the display form used by the suite is ``<order alternateId>-<lineItemId>``.
"""

import base64
import functools
import json
import re
import secrets
import time
import uuid

from . import errors
from .catalogue import CURRENCY_SYMBOLS, MARKETS, PERPETUAL, SUBSCRIPTION
from .errors import SimError, invalid, not_found
from .utils import (
    collection,
    end_of_term,
    iso_date,
    iso_timestamp,
    link,
    money,
    new_alternate_id,
    new_guid,
    new_order_id,
)

DAY = 86400
SUBSCRIPTION_CANCEL_DAYS = 7
PERPETUAL_CANCEL_DAYS = 30
CART_LIFETIME = 7 * DAY
CUSTOMER_NAMESPACE = uuid.UUID("5e1c0a7e-0000-4c5a-9e00-0000000c0570")
PROVISIONING_PENDING = "PrefulfillmentPending"
PROVISIONING_UNFULFILLED = "Unfulfilled"
PROVISIONING_FULFILLED = "Fulfilled"
# Countries where a new customer needs organizationRegistrationNumber and a phone number
# (Microsoft's create-a-customer doc; kept apart from the client's copy on purpose).
REGISTRATION_NUMBER_COUNTRIES = {
    "AM",
    "AZ",
    "BY",
    "HU",
    "KZ",
    "KG",
    "MD",
    "RU",
    "TJ",
    "UZ",
    "UA",
    "IN",
    "BR",
    "ZA",
    "PL",
    "AE",
    "SA",
    "TR",
    "TH",
    "VN",
    "MM",
    "IQ",
    "SS",
    "VE",
}
# Required fields of a create-a-customer body: (section, camelCase field).
CUSTOMER_REQUIRED = (
    ("companyProfile", "domain"),
    ("billingProfile", "email"),
    ("billingProfile", "culture"),
    ("billingProfile", "language"),
    ("billingProfile", "companyName"),
    ("defaultAddress", "country"),
    ("defaultAddress", "city"),
    ("defaultAddress", "addressLine1"),
    ("defaultAddress", "postalCode"),
    ("defaultAddress", "firstName"),
    ("defaultAddress", "lastName"),
)
ADDRESS_FIELDS = (
    "country",
    "city",
    "state",
    "addressLine1",
    "addressLine2",
    "postalCode",
    "firstName",
    "lastName",
    "phoneNumber",
)
CUSTOMER_SEARCH_FIELDS = {
    "domain": "domain",
    "companyname": "company_name",
    "indirectreseller": "associated_partner_id",
    "indirectcloudsolutionprovider": "associated_partner_id",
}
_DOMAIN = re.compile(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$", re.IGNORECASE
)


def _lower_keys(mapping):
    """Partner Center reads JSON keys case-insensitively (samples send ``LineItems``)."""
    return {str(key).lower(): value for key, value in (mapping or {}).items()}


def _locked(method):
    """Run a read under the state lock (handlers run in parallel threads)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.state.lock:
            return method(self, *args, **kwargs)

    return wrapper


def _section(value):
    """A request body's nested object with lower-cased keys ({} when absent or not an object)."""
    return _lower_keys(value) if isinstance(value, dict) else {}


def _text(value):
    return value.strip() if isinstance(value, str) else ""


def _is_guid(text):
    try:
        uuid.UUID(text)
    except (TypeError, ValueError):
        return False
    return True


class Commerce:
    def __init__(self, settings, state, catalogue):
        self.settings = settings
        self.state = state
        self.catalogue = catalogue

    # === CUSTOMERS === #

    def customer(self, tenant_id):
        if not _is_guid(tenant_id):
            raise invalid("Tenant Id must be a GUID.", errors.CODE_TENANT_NOT_GUID)
        record = self.state.data["customers"].get(tenant_id.lower())
        if record is None:
            raise not_found(
                f"Customer with tenant id {tenant_id} was not found.",
                errors.CODE_CUSTOMER_NOT_FOUND,
            )
        return record

    def add_customer(self, company_name, country, tenant_id=None, domain=None, culture=None):
        if country not in MARKETS:
            raise invalid(
                f"Country {country} is not a simulated market " f"({', '.join(sorted(MARKETS))})."
            )
        tenant_id = (tenant_id or str(uuid.uuid5(CUSTOMER_NAMESPACE, company_name))).lower()
        if not _is_guid(tenant_id):
            raise invalid("Tenant Id must be a GUID.", errors.CODE_TENANT_NOT_GUID)
        slug = "".join(char for char in company_name.lower() if char.isalnum())[:24] or "customer"
        record = {
            "tenant_id": tenant_id,
            "company_name": company_name,
            "country": country,
            "domain": domain or f"{slug}-sim.onmicrosoft.com",
            "culture": culture or "en-US",
        }
        with self.state.mutate() as data:
            data["customers"][tenant_id] = record
        return record

    def customer_json(self, record):
        tenant_id = record["tenant_id"]
        company = {
            "tenantId": tenant_id,
            "domain": record["domain"],
            "companyName": record["company_name"],
            "attributes": {"objectType": "CustomerCompanyProfile"},
        }
        if record.get("organization_registration_number"):
            company["organizationRegistrationNumber"] = record["organization_registration_number"]
        return {
            "id": tenant_id,
            "commerceId": tenant_id,
            "companyProfile": company,
            "billingProfile": {
                "id": str(uuid.uuid5(CUSTOMER_NAMESPACE, tenant_id + ":billing")),
                "email": record.get("email") or f"billing@{record['domain']}",
                "culture": record["culture"],
                "language": record.get("language") or record["culture"][:2],
                "companyName": record["company_name"],
                "defaultAddress": record.get("address") or {"country": record["country"]},
                "attributes": {"objectType": "CustomerBillingProfile"},
            },
            "relationshipToPartner": "reseller",
            "allowDelegatedAccess": True,
            "links": {"self": link(f"/customers/{tenant_id}")},
            "attributes": {"objectType": "Customer"},
        }

    def customer_summary_json(self, record):
        """A customer as lists and searches show it: company profile only, no billing profile."""
        tenant_id = record["tenant_id"]
        return {
            "id": tenant_id,
            "companyProfile": {
                "tenantId": tenant_id,
                "domain": record["domain"],
                "companyName": record["company_name"],
                "links": {"self": link(f"/customers/{tenant_id}/profiles/company")},
                "attributes": {"objectType": "CustomerCompanyProfile"},
            },
            "relationshipToPartner": "reseller",
            "links": {"self": link(f"/customers/{tenant_id}")},
            "attributes": {"objectType": "Customer"},
        }

    def create_customer(self, body):
        """``POST /customers``: a new tenant with its reseller relationship.

        Required fields missing -> 400 listing them (also in ``data``); a domain any customer
        already has -> 409 / ``CODE_DOMAIN_EXISTS``. A repeated ``MS-RequestId`` never gets here:
        the dispatcher replays the first answer (the same customer).
        """
        record = self._new_customer_record(body)
        with self.state.mutate() as data:
            wanted = record["domain"].lower()
            if any(other["domain"].lower() == wanted for other in data["customers"].values()):
                raise SimError(
                    409,
                    errors.CODE_DOMAIN_EXISTS,
                    f"The domain {record['domain']} is already in use: choose "
                    "another domain prefix.",
                )
            data["customers"][record["tenant_id"]] = record
        answer = self.customer_json(record)
        # Partner Center answers the first admin's credentials once; they are never stored.
        answer["userCredentials"] = {
            "userName": f"admin@{record['domain']}",
            "password": secrets.token_urlsafe(12),
        }
        return answer

    def _new_customer_record(self, body):
        company = _section(_section(body).get("companyprofile"))
        billing = _section(_section(body).get("billingprofile"))
        sections = {
            "companyProfile": company,
            "billingProfile": billing,
            "defaultAddress": _section(billing.get("defaultaddress")),
        }

        def read(section, name):
            return _text(sections[section].get(name.lower()))

        country = read("defaultAddress", "country").upper()
        required = list(CUSTOMER_REQUIRED)
        if country in REGISTRATION_NUMBER_COUNTRIES:
            required += [
                ("defaultAddress", "phoneNumber"),
                ("companyProfile", "organizationRegistrationNumber"),
            ]
        missing = [f"{section}.{name}" for section, name in required if not read(section, name)]
        if missing:
            description = f"Required fields are missing: {', '.join(missing)}."
            raise SimError(
                400,
                errors.CODE_INVALID_REQUEST,
                description,
                body={
                    "code": errors.CODE_INVALID_REQUEST,
                    "description": description,
                    "data": missing,
                    "source": "PartnerCenter",
                },
            )
        self._check_new_customer_values(read, country)
        address = {
            name: read("defaultAddress", name)
            for name in ADDRESS_FIELDS
            if read("defaultAddress", name)
        }
        address["country"] = country
        return {
            "tenant_id": new_guid(),
            "company_name": read("billingProfile", "companyName"),
            "country": country,
            "domain": read("companyProfile", "domain"),
            "culture": read("billingProfile", "culture"),
            "language": read("billingProfile", "language"),
            "email": read("billingProfile", "email"),
            "address": address,
            "organization_registration_number": read(
                "companyProfile", "organizationRegistrationNumber"
            )
            or None,
            "created": self.state.now(),
        }

    @staticmethod
    def _check_new_customer_values(read, country):
        domain = read("companyProfile", "domain")
        if not _DOMAIN.match(domain):
            raise invalid(
                f"companyProfile.domain {domain!r} is not a domain name such as "
                "contoso.onmicrosoft.com."
            )
        if "@" not in read("billingProfile", "email"):
            raise invalid("billingProfile.email is not an email address.")
        if len(read("billingProfile", "language")) != 2:
            raise invalid("billingProfile.language must be a two-letter language code.")
        if country not in MARKETS:
            raise invalid(
                f"Country {country} is not a simulated market " f"({', '.join(sorted(MARKETS))})."
            )

    @_locked
    def list_customers(self, filter_text=None, size=None, continuation=None):
        """``GET /customers[?size=N][&filter={"Field","Value","Operator":"starts_with"}]``.

        Pages of ``size`` (0 or none: all) continue through ``links.next`` and its
        ``MS-ContinuationToken`` header, which carries the filter and the offset.
        """
        offset = 0
        if continuation:
            filter_text, offset = _read_continuation(continuation)
        match = _customer_filter(filter_text)
        page_size = _page_size(size)
        records = [record for record in self.state.data["customers"].values() if match(record)]
        page = records[offset : offset + page_size] if page_size else records[offset:]
        body = collection(
            [self.customer_summary_json(record) for record in page],
            "/customers",
            total=len(records),
        )
        following = offset + len(page)
        if page_size and following < len(records):
            token = base64.urlsafe_b64encode(
                json.dumps({"filter": filter_text, "offset": following}).encode()
            ).decode()
            body["links"]["next"] = {
                "uri": f"/customers?size={page_size}&seekOperation=Next",
                "method": "GET",
                "headers": [{"key": "MS-ContinuationToken", "value": token}],
            }
        return body

    # === CARTS === #

    @_locked
    def create_cart(self, tenant_id, body):
        customer = self.customer(tenant_id)
        lines = self._cart_lines(customer, body)
        now = self.state.now()
        cart = {
            "id": new_guid(),
            "tenant": customer["tenant_id"],
            "created": now,
            "modified": now,
            "status": "Active",
            "lines": lines,
            "order_ids": [],
        }
        with self.state.mutate() as data:
            data["carts"][cart["id"]] = cart
        return self.cart_json(cart)

    @_locked
    def get_cart(self, tenant_id, cart_id):
        return self.cart_json(self._cart(tenant_id, cart_id))

    def update_cart(self, tenant_id, cart_id, body):
        lines = self._cart_lines(self.customer(tenant_id), body)
        with self.state.mutate():
            cart = self._cart(tenant_id, cart_id)
            self._check_cart_open(cart)
            cart["lines"] = lines
            cart["modified"] = self.state.now()
        return self.cart_json(cart)

    def _cart_lines(self, customer, body):
        """The checked line items of a cart body (create or update)."""
        items = _lower_keys(body).get("lineitems")
        if not isinstance(items, list) or not items:
            raise invalid("A cart needs at least one line item (lineItems).")
        lines = [self._normalize_line(item, index) for index, item in enumerate(items)]
        for line in lines:
            self._validate_line(customer, line)
        return lines

    def _cart(self, tenant_id, cart_id):
        self.customer(tenant_id)
        cart = self.state.data["carts"].get(cart_id)
        if cart is None or cart["tenant"] != tenant_id.lower():
            raise not_found(f"Cart {cart_id} was not found.")
        return cart

    @staticmethod
    def _check_cart_open(cart):
        if cart["status"] == "Processing":
            raise SimError(
                409,
                errors.CODE_CART_IN_PROGRESS,
                "The cart is being processed; wait and read the customer's orders.",
            )
        if cart["status"] == "Ordered":
            raise invalid(
                "The cart has already been submitted.", errors.CODE_CART_ALREADY_SUBMITTED
            )

    def _normalize_line(self, item, index):
        if not isinstance(item, dict):
            raise invalid("Each line item must be an object.")
        fields = _lower_keys(item)
        quantity = fields.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise invalid(f"Line item {index}: quantity must be a positive integer.")
        known = {
            "id",
            "catalogitemid",
            "quantity",
            "billingcycle",
            "termduration",
            "friendlyname",
            "provisioningcontext",
            "attributes",
        }
        return {
            "id": fields.get("id", index),
            "catalog_item_id": str(fields.get("catalogitemid") or ""),
            "quantity": quantity,
            "billing_cycle": str(fields.get("billingcycle") or "").lower(),
            "term_duration": fields.get("termduration") or None,
            "friendly_name": fields.get("friendlyname"),
            "provisioning_context": fields.get("provisioningcontext") or {},
            "attributes": fields.get("attributes"),
            "extra": {key: value for key, value in item.items() if key.lower() not in known},
        }

    def _validate_line(self, customer, line):
        """Check a line against the current catalogue; return (sku, availability_id)."""
        parts = line["catalog_item_id"].split(":")
        if len(parts) != 3:
            raise invalid(
                f"catalogItemId {line['catalog_item_id']!r} is not "
                "ProductId:SkuId:AvailabilityId."
            )
        product_id, sku_id, availability_id = parts
        sku = self.catalogue.sku(product_id, sku_id)
        month = self.catalogue.month
        current = self.catalogue.availability_id(product_id, sku_id, month)
        if sku is None or not sku.purchasable(month) or availability_id != current:
            raise not_found(
                f"The catalog item {line['catalog_item_id']} is not available: "
                "read the SKU's availabilities again.",
                errors.CODE_STALE_AVAILABILITY,
            )
        if customer["country"] not in sku.countries:
            raise invalid(
                f"The catalog item {product_id}:{sku_id} is not sold in " f"{customer['country']}.",
                errors.CODE_NOT_SOLD_IN_COUNTRY,
            )
        term = line["term_duration"]
        if sku.kind == PERPETUAL and term in ("", None):
            term = None
        if not sku.has_term(term, line["billing_cycle"]):
            raise invalid(
                f"Line item {line['id']}: {sku.code} is not sold with billingCycle "
                f"{line['billing_cycle']!r} and termDuration {term!r}."
            )
        if line["quantity"] > sku.maximum_quantity:
            raise invalid(f"Line item {line['id']}: at most {sku.maximum_quantity} allowed.")
        return sku, availability_id

    def _unit_price(self, customer, sku, line):
        term = line["term_duration"] if sku.kind == SUBSCRIPTION else None
        price = self.catalogue.price(
            sku.product_id, sku.id, term, line["billing_cycle"], customer["country"]
        )
        return price if price is not None else money(0)

    def cart_json(self, cart):
        customer = self.state.data["customers"][cart["tenant"]]
        currency = MARKETS[customer["country"]][0]
        items = []
        for line in cart["lines"]:
            product_id, sku_id = line["catalog_item_id"].split(":")[:2]
            sku = self.catalogue.sku(product_id, sku_id)
            item = dict(line["extra"])
            item.update(
                {
                    "id": line["id"],
                    "catalogItemId": line["catalog_item_id"],
                    "quantity": line["quantity"],
                    "currencyCode": currency,
                    "billingCycle": line["billing_cycle"],
                }
            )
            if line["term_duration"]:
                item["termDuration"] = line["term_duration"]
            if line["friendly_name"] is not None:
                item["friendlyName"] = line["friendly_name"]
            item["provisioningContext"] = line["provisioning_context"]
            if line["attributes"] is not None:
                item["attributes"] = line["attributes"]
            item["orderGroup"] = "0" if line["billing_cycle"] != "one_time" else "1"
            if sku is not None:
                unit = self._unit_price(customer, sku, line)
                item["pricing"] = _pricing(unit, line["quantity"])
            items.append(item)
        return {
            "id": cart["id"],
            "creationTimestamp": iso_timestamp(cart["created"]),
            "lastModifiedTimestamp": iso_timestamp(cart["modified"]),
            "expirationTimestamp": iso_timestamp(cart["created"] + CART_LIFETIME),
            "lastModifiedUser": "5e1c0a7e-0000-4000-a000-00000000ad01",
            "status": cart["status"],
            "lineItems": items,
            "links": {"self": link(f"/customers/{cart['tenant']}/carts/{cart['id']}")},
            "attributes": {"objectType": "Cart"},
        }

    # === CHECKOUT === #

    def checkout(self, tenant_id, cart_id):
        """Turn a cart into orders (one per billing cycle); a cart checks out once."""
        customer = self.customer(tenant_id)
        with self.state.mutate():
            cart = self._cart(tenant_id, cart_id)
            self._check_cart_open(cart)
            checked = [self._validate_line(customer, line) for line in cart["lines"]]
            cart["status"] = "Processing"
        try:
            if self.settings.checkout_processing_delay:
                time.sleep(self.settings.checkout_processing_delay)
            with self.state.mutate():
                orders = self._create_orders(customer, cart, checked)
                cart["status"] = "Ordered"
                cart["order_ids"] = [order["id"] for order in orders]
                cart["modified"] = self.state.now()
        except BaseException:
            with self.state.mutate():
                if cart["status"] == "Processing":
                    cart["status"] = "Active"
            raise
        return {
            "orders": [self.order_json(order) for order in orders],
            "orderErrors": [],
            "attributes": {"objectType": "CartCheckoutResult"},
        }

    def _create_orders(self, customer, cart, checked):
        groups = {}
        for line, (sku, availability_id) in zip(cart["lines"], checked, strict=True):
            groups.setdefault(line["billing_cycle"], []).append((line, sku, availability_id))
        now = self.state.now()
        complete_at = now + float(self.settings.order_complete_delay)
        fulfil_at = now + max(
            float(self.settings.fulfilment_delay), float(self.settings.order_complete_delay)
        )
        orders = []
        for billing_cycle, entries in groups.items():
            order = {
                "id": new_order_id(),
                "alternate_id": new_alternate_id(),
                "tenant": customer["tenant_id"],
                "cart_id": cart["id"],
                "billing_cycle": billing_cycle,
                "currency": MARKETS[customer["country"]][0],
                "country": customer["country"],
                "created": now,
                "complete_at": complete_at,
                "fulfil_at": fulfil_at,
                "lines": [],
            }
            for number, (line, sku, availability_id) in enumerate(entries):
                order["lines"].append(
                    self._order_line(customer, order, number, line, sku, availability_id)
                )
            self.state.data["orders"][order["id"]] = order
            orders.append(order)
        return orders

    def _order_line(self, customer, order, number, line, sku, availability_id):
        record = {
            "number": number,
            "product_id": sku.product_id,
            "sku_id": sku.id,
            "availability_id": availability_id,
            "kind": sku.kind,
            "term": line["term_duration"] if sku.kind == SUBSCRIPTION else None,
            "billing": line["billing_cycle"],
            "quantity": line["quantity"],
            "friendly_name": line["friendly_name"] or sku.title,
            "offer_name": sku.title,
            "provisioning_context": line["provisioning_context"],
            "attributes": line["attributes"],
            "unit_price": str(self._unit_price(customer, sku, line)),
            "subscription_id": None,
            "cancelled": False,
        }
        if sku.kind == SUBSCRIPTION:
            record["subscription_id"] = new_guid()
            start = order["created"]
            self.state.data["subscriptions"][record["subscription_id"]] = {
                "id": record["subscription_id"],
                "tenant": order["tenant"],
                "order_id": order["id"],
                "line_number": number,
                "product_id": sku.product_id,
                "sku_id": sku.id,
                "availability_id": availability_id,
                "offer_name": sku.title,
                "friendly_name": record["friendly_name"],
                "quantity": line["quantity"],
                "term": record["term"],
                "billing": line["billing_cycle"],
                "country": order["country"],
                "created": start,
                "visible_at": order["fulfil_at"],
                "start": start,
                "commitment_end": end_of_term(start, record["term"]),
                "cancel_until": _cancel_deadline(start, SUBSCRIPTION_CANCEL_DAYS),
                "auto_renew": True,
                "status": "active",
                "version": 1,
            }
        return record

    # === ORDERS === #

    @_locked
    def list_orders(self, tenant_id, include_lagging=False):
        self.customer(tenant_id)
        now = self.state.now()
        lag = 0 if include_lagging else float(self.settings.order_list_lag)
        orders = [
            order
            for order in self.state.data["orders"].values()
            if order["tenant"] == tenant_id.lower() and order["created"] + lag <= now
        ]
        orders.sort(key=lambda order: order["created"])
        items = [self.order_json(order) for order in orders]
        return collection(items, f"/customers/{tenant_id.lower()}/orders")

    @_locked
    def get_order(self, tenant_id, order_id):
        return self.order_json(self._order(tenant_id, order_id))

    def _order(self, tenant_id, order_id):
        self.customer(tenant_id)
        order = self.state.data["orders"].get(order_id)
        if order is None or order["tenant"] != tenant_id.lower():
            raise not_found(f"Order {order_id} was not found.")
        return order

    def order_status(self, order, now=None):
        now = self.state.now() if now is None else now
        if all(line["cancelled"] for line in order["lines"]):
            return "cancelled"
        return "completed" if now >= order["complete_at"] else "pending"

    def order_json(self, order):
        now = self.state.now()
        base = f"/customers/{order['tenant']}/orders/{order['id']}"
        lines = [self._order_line_json(order, line, now) for line in order["lines"]]
        total = sum(
            money(line["unit_price"]) * line["quantity"]
            for line in order["lines"]
            if not line["cancelled"]
        )
        return {
            "id": order["id"],
            "alternateId": order["alternate_id"],
            "referenceCustomerId": order["tenant"],
            "billingCycle": order["billing_cycle"],
            "currencyCode": order["currency"],
            "currencySymbol": CURRENCY_SYMBOLS[order["currency"]],
            "lineItems": lines,
            "creationDate": iso_timestamp(order["created"]),
            "status": self.order_status(order, now),
            "transactionType": "UserPurchase",
            "links": {
                "self": link(base),
                "provisioningStatus": link(f"{base}/provisioningstatus"),
                "patchOperation": link(base, "PATCH"),
            },
            "totalPrice": float(money(total)),
            "client": {},
            "attributes": {"objectType": "Order"},
        }

    def _order_line_json(self, order, line, now):
        product, sku, availability = (line["product_id"], line["sku_id"], line["availability_id"])
        country = order["country"]
        offer_id = _line_offer_id(line)
        item = {
            "lineItemNumber": line["number"],
            "offerId": offer_id,
            "termDuration": line["term"] or "",
            "transactionType": "New",
            "friendlyName": line["friendly_name"],
            "quantity": 0 if line["cancelled"] else line["quantity"],
            "pricing": _pricing(money(line["unit_price"]), line["quantity"]),
            "links": {
                "product": link(f"/products/{product}?country={country}"),
                "sku": link(f"/products/{product}/skus/{sku}?country={country}"),
                "availability": link(
                    f"/products/{product}/skus/{sku}/availabilities/{availability}"
                    f"?country={country}"
                ),
            },
        }
        if line["subscription_id"] and now >= order["fulfil_at"]:
            item["subscriptionId"] = line["subscription_id"]
            item["links"]["subscription"] = link(
                f"/customers/{order['tenant']}/subscriptions/{line['subscription_id']}"
            )
        if line["provisioning_context"]:
            item["provisioningContext"] = line["provisioning_context"]
        if line["attributes"] is not None:
            item["attributes"] = line["attributes"]
        return item

    @_locked
    def provisioning_status(self, tenant_id, order_id):
        order = self._order(tenant_id, order_id)
        now = self.state.now()
        items = []
        for line in order["lines"]:
            if line["cancelled"] or now < order["complete_at"]:
                status = PROVISIONING_UNFULFILLED if line["cancelled"] else PROVISIONING_PENDING
            elif now < order["fulfil_at"]:
                status = PROVISIONING_UNFULFILLED
            else:
                status = PROVISIONING_FULFILLED
            items.append(
                {
                    "orderLineItemId": line["number"],
                    "lineItemNumber": line["number"],
                    "status": status,
                    "quantityProvisioningInformation": [
                        {"quantity": line["quantity"], "status": status}
                    ],
                }
            )
        return collection(items)

    @_locked
    def patch_order(self, tenant_id, order_id, body):
        """Cancel software purchases: ``{"status": "cancelled", "lineItems": [...]}``."""
        fields = _lower_keys(body)
        if str(fields.get("status", "")).lower() != "cancelled":
            raise invalid("Only status 'cancelled' can be set on an order.")
        with self.state.mutate():
            order = self._order(tenant_id, order_id)
            items = [_lower_keys(item) for item in fields.get("lineitems") or []]
            wanted = {item.get("lineitemnumber") for item in items}
            lines = [line for line in order["lines"] if not wanted or line["number"] in wanted]
            by_number = {line["number"]: line for line in lines}
            for item in items:
                line = by_number.get(item.get("lineitemnumber"))
                if line and item.get("offerid") and item["offerid"] != _line_offer_id(line):
                    raise invalid(f"Line item {line['number']} is not offer {item['offerid']}.")
            now = self.state.now()
            for line in lines:
                self._check_line_cancellable(order, line, now)
            for line in lines:
                line["cancelled"] = True
                if line["subscription_id"]:
                    self.state.data["subscriptions"][line["subscription_id"]]["status"] = "deleted"
        return self.order_json(order)

    def _check_line_cancellable(self, order, line, now):
        if line["kind"] == PERPETUAL:
            deadline = _cancel_deadline(order["created"], PERPETUAL_CANCEL_DAYS)
        else:
            subscription = self.state.data["subscriptions"][line["subscription_id"]]
            deadline = self._subscription_view(subscription, now)["cancel_until"]
        if now > deadline:
            raise invalid(
                "The cancellation window for this purchase has passed.",
                errors.CODE_CANCELLATION_WINDOW_PASSED,
            )

    # === SUBSCRIPTIONS === #

    @_locked
    def list_subscriptions(self, tenant_id, order_id=None):
        self.customer(tenant_id)
        self._apply_due_operations()
        now = self.state.now()
        items = [
            self.subscription_json(subscription)
            for subscription in self.state.data["subscriptions"].values()
            if subscription["tenant"] == tenant_id.lower()
            and now >= subscription["visible_at"]
            and (order_id is None or subscription["order_id"] == order_id)
        ]
        return collection(items)

    @_locked
    def get_subscription(self, tenant_id, subscription_id):
        self._apply_due_operations()
        return self.subscription_json(self._subscription(tenant_id, subscription_id))

    def _subscription(self, tenant_id, subscription_id):
        self.customer(tenant_id)
        subscription = self.state.data["subscriptions"].get(subscription_id.lower())
        if (
            subscription is None
            or subscription["tenant"] != tenant_id.lower()
            or self.state.now() < subscription["visible_at"]
        ):
            raise not_found(f"Subscription {subscription_id} was not found.")
        return subscription

    def _subscription_view(self, subscription, now):
        """Term dates and status as of ``now``, applying renewals and expiry lazily."""
        view = {
            key: subscription[key] for key in ("start", "commitment_end", "cancel_until", "status")
        }
        view["renewing"] = False
        while view["status"] == "active" and now >= view["commitment_end"] + DAY:
            if not subscription["auto_renew"]:
                view["status"] = "expired"
                break
            renewal = view["commitment_end"] + DAY
            view["start"] = renewal
            view["commitment_end"] = end_of_term(renewal, subscription["term"])
            view["cancel_until"] = _cancel_deadline(renewal, SUBSCRIPTION_CANCEL_DAYS)
            view["renewing"] = now < renewal + DAY
        return view

    def subscription_json(self, subscription):
        view = self._subscription_view(subscription, self.state.now())
        product, sku, availability = (
            subscription["product_id"],
            subscription["sku_id"],
            subscription["availability_id"],
        )
        country = subscription["country"]
        etag = base64.b64encode(
            json.dumps({"id": subscription["id"], "version": subscription["version"]}).encode()
        ).decode()
        return {
            "id": subscription["id"],
            "offerId": f"{product}:{sku}:{availability}",
            "offerName": subscription["offer_name"],
            "friendlyName": subscription["friendly_name"],
            "productType": {"id": "Software", "displayName": "Software"},
            "quantity": subscription["quantity"],
            "unitType": "Licenses",
            "hasPurchasableAddons": False,
            "creationDate": iso_timestamp(subscription["created"]),
            "effectiveStartDate": iso_timestamp(view["start"]),
            "commitmentEndDate": iso_date(view["commitment_end"]),
            "cancellationAllowedUntilDate": iso_timestamp(view["cancel_until"]),
            "status": view["status"],
            "autoRenewEnabled": subscription["auto_renew"],
            "scheduledNextTermInstructions": None,
            "isTrial": False,
            "billingType": "license",
            "billingCycle": subscription["billing"],
            "termDuration": subscription["term"],
            "renewalTermDuration": "",
            "isMicrosoftProduct": True,
            "partnerId": "",
            "attentionNeeded": False,
            "actionTaken": False,
            "contractType": "subscription",
            "links": {
                "product": link(f"/products/{product}?country={country}"),
                "sku": link(f"/products/{product}/skus/{sku}?country={country}"),
                "availability": link(
                    f"/products/{product}/skus/{sku}/availabilities/"
                    f"{availability}?country={country}"
                ),
                "self": link(
                    f"/customers/{subscription['tenant']}/subscriptions/" f"{subscription['id']}"
                ),
            },
            "publisherName": "Microsoft",
            "orderId": subscription["order_id"],
            "attributes": {"etag": etag, "objectType": "Subscription"},
        }

    def patch_subscription(self, tenant_id, subscription_id, body, accepted_delay=None):
        """Apply a full-object PATCH. Returns (status, body, location_path).

        The real API treats the body as the whole object: a missing ``autoRenewEnabled``
        turns auto-renew off. With ``accepted_delay`` the change is applied later (202).
        """
        if not isinstance(body, dict):
            raise invalid("The subscription update must be a JSON object.")
        self._apply_due_operations()
        with self.state.mutate():
            subscription = self._subscription(tenant_id, subscription_id)
            changes = self._subscription_changes(subscription, _lower_keys(body))
            if accepted_delay is None:
                self._apply_subscription_changes(subscription, changes)
                return 200, self.subscription_json(subscription), None
            operation_id = new_guid()
            self.state.data["operations"][operation_id] = {
                "id": operation_id,
                "tenant": subscription["tenant"],
                "subscription_id": subscription["id"],
                "changes": changes,
                "apply_at": self.state.now() + float(accepted_delay),
                "done": False,
            }
        location = (
            f"/customers/{subscription['tenant']}/subscriptions/{subscription['id']}"
            f"/operations/{operation_id}"
        )
        return 202, None, location

    def _subscription_changes(self, subscription, fields):
        now = self.state.now()
        view = self._subscription_view(subscription, now)
        if view["renewing"]:
            raise SimError(
                409,
                errors.CODE_ORDER_IN_PROGRESS,
                "The subscription is being renewed; retry in a few minutes.",
            )
        changes = {"auto_renew": bool(fields.get("autorenewenabled", False))}
        if "friendlyname" in fields and fields["friendlyname"]:
            changes["friendly_name"] = str(fields["friendlyname"])
        quantity = fields.get("quantity", subscription["quantity"])
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise invalid("quantity must be a positive integer.")
        if quantity < subscription["quantity"] and now > view["cancel_until"]:
            raise invalid(
                "The quantity can only be reduced within the cancellation window.",
                errors.CODE_CANCELLATION_WINDOW_PASSED,
            )
        changes["quantity"] = quantity
        status = str(fields.get("status") or view["status"]).lower()
        if status != view["status"]:
            if status == "deleted" and now > view["cancel_until"]:
                raise invalid(
                    "The cancellation window for this subscription has passed.",
                    errors.CODE_CANCELLATION_WINDOW_PASSED,
                )
            if status not in ("deleted", "suspended", "active") or view["status"] in (
                "deleted",
                "expired",
            ):
                raise invalid(f"A {view['status']} subscription cannot become {status}.")
            changes["status"] = status
        changes["view"] = {key: view[key] for key in ("start", "commitment_end", "cancel_until")}
        return changes

    def _apply_subscription_changes(self, subscription, changes):
        for key, value in changes["view"].items():
            subscription[key] = value
        for key in ("auto_renew", "friendly_name", "quantity", "status"):
            if key in changes:
                subscription[key] = changes[key]
        subscription["version"] += 1

    def _apply_due_operations(self):
        now = self.state.now()
        due = [
            operation
            for operation in self.state.data["operations"].values()
            if not operation["done"] and operation["apply_at"] <= now
        ]
        if not due:
            return
        with self.state.mutate() as data:
            for operation in due:
                subscription = data["subscriptions"][operation["subscription_id"]]
                self._apply_subscription_changes(subscription, operation["changes"])
                operation["done"] = True

    @_locked
    def operation_json(self, tenant_id, subscription_id, operation_id):
        self._apply_due_operations()
        operation = self.state.data["operations"].get(operation_id)
        if (
            operation is None
            or operation["tenant"] != tenant_id.lower()
            or operation["subscription_id"] != subscription_id.lower()
        ):
            raise not_found(f"Operation {operation_id} was not found.")
        resource = f"/customers/{operation['tenant']}/subscriptions/{subscription_id}"
        return {
            "id": operation_id,
            "status": "succeeded" if operation["done"] else "inProgress",
            "resourceLocation": resource,
            "links": {
                "self": link(f"{resource}/operations/{operation_id}"),
                "resource": link(resource),
            },
            "attributes": {"objectType": "SubscriptionOperation"},
        }

    # === ENTITLEMENTS === #

    @_locked
    def entitlements(self, tenant_id, entitlement_type=None, show_expiry=False):
        self.customer(tenant_id)
        if entitlement_type and entitlement_type.lower() != "software":
            return collection([])
        now = self.state.now()
        items = []
        orders = sorted(
            (
                order
                for order in self.state.data["orders"].values()
                if order["tenant"] == tenant_id.lower()
            ),
            key=lambda order: order["created"],
        )
        for order in orders:
            for line in order["lines"]:
                item = self._entitlement_json(order, line, now, show_expiry)
                if item is not None:
                    items.append(item)
        return collection(items)

    def _entitlement_json(self, order, line, now, show_expiry):
        fulfilled = now >= order["fulfil_at"]
        visible = fulfilled if line["kind"] == PERPETUAL else now >= order["complete_at"]
        if line["cancelled"] or not visible:
            return None
        item = {
            "includedEntitlements": [],
            "referenceOrder": {
                "id": order["id"],
                "lineItemId": str(line["number"]),
                "alternateId": order["alternate_id"],
            },
            "productId": line["product_id"],
            "quantity": line["quantity"],
            "entitledArtifacts": [],
            "skuId": line["sku_id"],
            "entitlementType": "software",
        }
        if show_expiry and fulfilled and line["subscription_id"]:
            subscription = self.state.data["subscriptions"][line["subscription_id"]]
            view = self._subscription_view(subscription, now)
            item["expiryDate"] = iso_date(view["commitment_end"])
        return item

    # === ADMIN VIEWS === #

    def all_orders(self, tenant_id):
        return self.list_orders(tenant_id, include_lagging=True)


def _customer_filter(filter_text):
    """The record test of a customer search filter (``starts_with``, any case)."""
    if not filter_text:
        return lambda record: True
    try:
        search = _lower_keys(json.loads(filter_text))
    except (TypeError, ValueError, AttributeError):
        raise invalid("filter must be a JSON object {Field, Value, Operator}.") from None
    attribute = CUSTOMER_SEARCH_FIELDS.get(str(search.get("field", "")).lower())
    if attribute is None:
        raise invalid(
            "filter Field must be Domain, CompanyName, IndirectReseller or "
            "IndirectCloudSolutionProvider."
        )
    if str(search.get("operator", "")).lower() != "starts_with":
        raise invalid("starts_with is the only filter Operator customers support.")
    prefix = str(search.get("value") or "").lower()
    return lambda record: str(record.get(attribute) or "").lower().startswith(prefix)


def _page_size(size):
    if size in (None, ""):
        return 0
    try:
        value = int(size)
    except ValueError:
        raise invalid("size must be a whole number.") from None
    if value < 0:
        raise invalid("size cannot be negative.")
    return value


def _read_continuation(token):
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        return state["filter"], int(state["offset"])
    except (ValueError, KeyError, TypeError):
        raise invalid("The continuation token is not valid.") from None


def _cancel_deadline(start, days):
    """Last minute of the ``days``-th day after ``start`` (``...T23:59:00Z``)."""
    day_start = int((start + days * DAY) // DAY) * DAY
    return day_start + DAY - 60


def _pricing(unit_price, quantity):
    unit = float(unit_price)
    return {
        "listPrice": unit,
        "discountedPrice": unit,
        "proratedPrice": unit,
        "price": unit,
        "extendedPrice": float(money(unit_price * quantity)),
    }


def _line_offer_id(line):
    """The ``offerId`` of an order line: ``pid:sid:aid``, plus ``:term`` for subscriptions."""
    offer_id = f"{line['product_id']}:{line['sku_id']}:{line['availability_id']}"
    if line["kind"] == SUBSCRIPTION:
        offer_id += f":{line['term']}"
    return offer_id
