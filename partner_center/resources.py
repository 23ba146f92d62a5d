"""Typed, immutable views of Partner Center payloads.

Each type is built by a pure ``from_json(dict)`` that ignores unknown fields and tolerates missing
optional ones. Timestamps are parsed into aware UTC datetimes; when the text cannot be read (the
documentation itself has values like ``"2015-11-25T06: 41: 12Z"``) the raw string is kept instead,
so reading a payload never fails on a date.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any, Union

from .errors import MalformedDataError

Timestamp = Union[datetime, str, None]  # noqa: UP007 - readable on Python 3.10 too

_ISO_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)


# === HELPERS === #


def parse_timestamp(value: Any) -> Timestamp:
    """An aware UTC datetime from an ISO-8601 text; the text itself when it cannot be read.

    Accepts fractions longer than microseconds (.NET writes 7 digits), a missing zone (taken as
    UTC), and stray spaces around colons.
    """
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).strip()
    if not text:
        return None
    compact = re.sub(r"\s*:\s*", ":", text).strip("()")
    match = _ISO_TIMESTAMP.fullmatch(compact)
    if not match:
        return text
    try:
        return _timestamp_from_match(match)
    except (ValueError, OverflowError):
        return text


def _timestamp_from_match(match: re.Match) -> datetime:
    parts = match.groupdict()
    year, month, day = (int(part) for part in parts["date"].split("-"))
    microsecond = int((parts["fraction"] or "0")[:6].ljust(6, "0"))
    moment = datetime(
        year,
        month,
        day,
        int(parts["hour"] or 0),
        int(parts["minute"] or 0),
        int(parts["second"] or 0),
        microsecond,
        tzinfo=timezone.utc,
    )
    zone = parts["zone"]
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment = moment - sign * offset
    return moment


def as_datetime(value: Timestamp) -> datetime | None:
    """The datetime of a parsed timestamp, ``None`` when absent or unreadable."""
    return value if isinstance(value, datetime) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _get(payload: Mapping, *names: str, default: Any = None) -> Any:
    """The first present field among ``names``, matched case-insensitively (requests in the docs
    use ``LineItems`` where responses use ``lineItems``)."""
    for name in names:
        if name in payload:
            return payload[name]
    lowered = {str(key).lower(): value for key, value in payload.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return default


def _require_mapping(payload: Any, kind: str) -> Mapping:
    if not isinstance(payload, Mapping):
        raise MalformedDataError(f"Expected a {kind} object, got {type(payload).__name__}.")
    return payload


def _require_id(payload: Mapping, kind: str, *names: str) -> str:
    value = _text(_get(payload, *names))
    if value is None:
        raise MalformedDataError(f"A {kind} has no {names[0]}.", column=names[0])
    return value


def _strings(values: Any) -> tuple[str, ...]:
    if not isinstance(values, (list, tuple)):
        return ()
    return tuple(str(value) for value in values if value is not None)


def collection_items(payload: Any) -> list:
    """The ``items`` of a Partner Center collection (a bare list is accepted too)."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, Mapping):
        items = _get(payload, "items", default=[])
        return items if isinstance(items, list) else []
    raise MalformedDataError(f"Expected a collection, got {type(payload).__name__}.")


def next_link(payload: Any) -> tuple[str, dict[str, str]] | None:
    """The ``links.next`` of a collection: its URI and the headers it asks for (continuation)."""
    if not isinstance(payload, Mapping):
        return None
    links = _get(payload, "links", default={}) or {}
    link = links.get("next") if isinstance(links, Mapping) else None
    if not isinstance(link, Mapping) or not link.get("uri"):
        return None
    headers = {}
    for header in link.get("headers") or []:
        if isinstance(header, Mapping) and header.get("key"):
            headers[str(header["key"])] = str(header.get("value") or "")
    return str(link["uri"]), headers


def split_catalog_item_id(catalog_item_id: str | None) -> tuple[str | None, str | None, str | None]:
    """``(productId, skuId, availabilityId)`` of ``"P:S:A"`` (missing parts are ``None``)."""
    parts = (catalog_item_id or "").split(":")
    if len(parts) < 2 or not all(parts[:2]):
        return None, None, None
    return parts[0], parts[1], (parts[2] if len(parts) > 2 and parts[2] else None)


def normalize_billing_cycle(value: Any) -> str | None:
    """``annual``/``triennial``/``monthly``/``one_time``/``none``, from any casing the API uses."""
    text = _text(value)
    if text is None:
        return None
    key = re.sub(r"[\s_-]+", "", text).lower()
    return {"onetime": "one_time", "annually": "annual", "yearly": "annual"}.get(
        key, text.strip().lower().replace(" ", "_")
    )


# === CATALOGUE === #


@dataclass(frozen=True)
class Product:
    id: str
    title: str = ""
    description: str = ""
    product_type_id: str | None = None
    product_type_name: str | None = None
    publisher_name: str | None = None

    @classmethod
    def from_json(cls, payload: Mapping) -> Product:
        payload = _require_mapping(payload, "product")
        product_type = _get(payload, "productType", default={}) or {}
        return cls(
            id=_require_id(payload, "product", "id"),
            title=_text(_get(payload, "title")) or "",
            description=_text(_get(payload, "description")) or "",
            product_type_id=_text(product_type.get("id")),
            product_type_name=_text(product_type.get("displayName")),
            publisher_name=_text(_get(payload, "publisherName")),
        )


@dataclass(frozen=True)
class Sku:
    id: str
    product_id: str
    title: str = ""
    description: str = ""
    minimum_quantity: int | None = None
    maximum_quantity: int | None = None
    is_trial: bool = False
    supported_billing_cycles: tuple[str, ...] = ()
    purchase_prerequisites: tuple[str, ...] = ()
    provisioning_variables: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        """The suite's stable SKU code, ``ProductId:SkuId``."""
        return f"{self.product_id}:{self.id}"

    @classmethod
    def from_json(cls, payload: Mapping, product_id: str | None = None) -> Sku:
        payload = _require_mapping(payload, "SKU")
        owner = _text(_get(payload, "productId")) or product_id
        if owner is None:
            raise MalformedDataError("A SKU has no productId.", column="productId")
        return cls(
            id=_require_id(payload, "SKU", "id"),
            product_id=owner,
            title=_text(_get(payload, "title")) or "",
            description=_text(_get(payload, "description")) or "",
            minimum_quantity=_int(_get(payload, "minimumQuantity")),
            maximum_quantity=_int(_get(payload, "maximumQuantity")),
            is_trial=bool(_get(payload, "isTrial", default=False)),
            supported_billing_cycles=tuple(
                normalize_billing_cycle(cycle)
                for cycle in _strings(_get(payload, "supportedBillingCycles"))
            ),
            purchase_prerequisites=_strings(_get(payload, "purchasePrerequisites")),
            provisioning_variables=_strings(_get(payload, "provisioningVariables")),
        )


@dataclass(frozen=True)
class Term:
    duration: str | None
    description: str = ""
    billing_cycle: str | None = None
    id: str | None = None

    @classmethod
    def from_json(cls, payload: Mapping) -> Term:
        payload = _require_mapping(payload, "term")
        return cls(
            duration=_text(_get(payload, "duration")),
            description=_text(_get(payload, "description")) or "",
            billing_cycle=normalize_billing_cycle(_get(payload, "billingCycle")),
            id=_text(_get(payload, "id")),
        )


@dataclass(frozen=True)
class Availability:
    id: str
    product_id: str
    sku_id: str
    catalog_item_id: str
    country: str | None = None
    default_currency: str | None = None
    segment: str | None = None
    is_purchasable: bool = False
    is_renewable: bool = False
    terms: tuple[Term, ...] = ()

    @property
    def code(self) -> str:
        return f"{self.product_id}:{self.sku_id}"

    @property
    def term_durations(self) -> tuple[str, ...]:
        return tuple(term.duration for term in self.terms if term.duration)

    @classmethod
    def from_json(cls, payload: Mapping) -> Availability:
        payload = _require_mapping(payload, "availability")
        catalog_item_id = _text(_get(payload, "catalogItemId"))
        from_catalog = split_catalog_item_id(catalog_item_id)
        availability_id = _text(_get(payload, "id")) or from_catalog[2]
        product_id = _text(_get(payload, "productId")) or from_catalog[0]
        sku_id = _text(_get(payload, "skuId")) or from_catalog[1]
        if not (availability_id and product_id and sku_id):
            raise MalformedDataError(
                "An availability has no id, productId or skuId.", column="catalogItemId"
            )
        currency = _get(payload, "defaultCurrency")
        terms = _get(payload, "terms", default=[]) or []
        return cls(
            id=availability_id,
            product_id=product_id,
            sku_id=sku_id,
            catalog_item_id=catalog_item_id or f"{product_id}:{sku_id}:{availability_id}",
            country=(_text(_get(payload, "country")) or "").upper() or None,
            default_currency=_text(
                currency.get("code") if isinstance(currency, Mapping) else currency
            ),
            segment=(_text(_get(payload, "segment")) or "").lower() or None,
            is_purchasable=bool(_get(payload, "isPurchasable", default=False)),
            is_renewable=bool(_get(payload, "isRenewable", default=False)),
            terms=tuple(Term.from_json(term) for term in terms if isinstance(term, Mapping)),
        )


# === CUSTOMERS === #

ONMICROSOFT_SUFFIX = ".onmicrosoft.com"

# Where a new customer needs an organization registration number (INN) and a contact phone
# number (create-a-customer and the Address resource of the Partner Center docs).
REGISTRATION_NUMBER_COUNTRIES = frozenset(
    {
        *("AM", "AZ", "BY", "HU", "KZ", "KG", "MD", "RU", "TJ", "UZ", "UA"),
        *("IN", "BR", "ZA", "PL", "AE", "SA", "TR", "TH", "VN", "MM", "IQ", "SS", "VE"),
    }
)


def onmicrosoft_domain(value: str | None) -> str:
    """A customer domain: a bare prefix (``contoso``) becomes ``contoso.onmicrosoft.com``, a full
    domain is kept as written (domains compare case-insensitively)."""
    text = (value or "").strip().rstrip(".")
    return f"{text}{ONMICROSOFT_SUFFIX}" if text and "." not in text else text


def _mapping(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Customer:
    """A customer tenant of the partner: what a person checks before linking it to a partner
    record (tenant id, company, default domain, country, relationship).

    Search results and customer lists carry no billing profile: their ``country`` is often
    ``None`` until the customer is read by id.
    """

    tenant_id: str
    company_name: str | None = None
    domain: str | None = None  # the default domain, e.g. contoso.onmicrosoft.com
    country: str | None = None
    relationship_to_partner: str | None = None  # reseller, advisor, none, ...
    commerce_id: str | None = None
    custom_domains: tuple[str, ...] = ()
    allow_delegated_access: bool | None = None
    associated_partner_id: str | None = None  # the indirect reseller, for an indirect provider
    culture: str | None = None
    billing_email: str | None = None

    def has_domain(self, domain: str | None) -> bool:
        """Whether ``domain`` is this customer's default or a custom domain (any case)."""
        wanted = (domain or "").strip().rstrip(".").lower()
        known = {name.lower() for name in (self.domain, *self.custom_domains) if name}
        return bool(wanted) and wanted in known

    @classmethod
    def from_json(cls, payload: Mapping) -> Customer:
        payload = _require_mapping(payload, "customer")
        company = _mapping(_get(payload, "companyProfile"))
        billing = _mapping(_get(payload, "billingProfile"))
        address = _mapping(_get(billing, "defaultAddress")) or _mapping(_get(company, "address"))
        tenant_id = _text(_get(payload, "id")) or _text(_get(company, "tenantId"))
        if tenant_id is None:
            raise MalformedDataError("A customer has no id.", column="id")
        delegated = _get(payload, "allowDelegatedAccess")
        return cls(
            tenant_id=tenant_id,
            company_name=_text(_get(company, "companyName")) or _text(_get(billing, "companyName")),
            domain=_text(_get(company, "domain")),
            country=(_text(_get(address, "country")) or "").upper() or None,
            relationship_to_partner=_text(_get(payload, "relationshipToPartner")),
            commerce_id=_text(_get(payload, "commerceId")),
            custom_domains=_strings(_get(payload, "customDomains")),
            allow_delegated_access=None if delegated is None else bool(delegated),
            associated_partner_id=_text(_get(payload, "associatedPartnerId")),
            culture=_text(_get(billing, "culture")),
            billing_email=_text(_get(billing, "email")),
        )


@dataclass(frozen=True, kw_only=True)
class NewCustomer:
    """A customer tenant to create (``POST /customers``), in the shape a sales order knows it.

    Every field is text, trimmed; ``domain`` may be a bare prefix, completed to
    ``<prefix>.onmicrosoft.com`` (the tenant's permanent default domain); ``country`` is the
    ISO code, upper-cased. ``state`` follows the market's address rules (two letters where a
    market has states). Build one, check :meth:`missing_fields`, refuse with their names if any.
    """

    domain: str = ""
    company_name: str = ""
    email: str = ""  # the billing contact's address
    culture: str = ""  # e.g. en-US: communication and currency
    language: str = ""  # two letters, e.g. en
    country: str = ""
    city: str = ""
    state: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postal_code: str = ""
    first_name: str = ""  # the contact at the customer's company
    last_name: str = ""
    phone_number: str = ""
    organization_registration_number: str = ""

    _ALWAYS_REQUIRED = (
        *("domain", "company_name", "email", "culture", "language"),
        *("country", "city", "address_line1", "postal_code", "first_name", "last_name"),
    )
    _REQUIRED_IN_LISTED_COUNTRIES = ("phone_number", "organization_registration_number")

    def __post_init__(self):
        for item in fields(self):
            object.__setattr__(self, item.name, (getattr(self, item.name) or "").strip())
        object.__setattr__(self, "domain", onmicrosoft_domain(self.domain))
        object.__setattr__(self, "country", self.country.upper())

    def missing_fields(self) -> tuple[str, ...]:
        """The names of the required fields left empty (attribute names, in declaration order).

        Phone number and organization registration number are required only in the countries
        Microsoft lists (:data:`REGISTRATION_NUMBER_COUNTRIES`).
        """
        required = set(self._ALWAYS_REQUIRED)
        if self.country in REGISTRATION_NUMBER_COUNTRIES:
            required.update(self._REQUIRED_IN_LISTED_COUNTRIES)
        return tuple(
            item.name
            for item in fields(self)
            if item.name in required and not getattr(self, item.name)
        )

    def to_json(self) -> dict:
        """The documented request body; optional fields are left out when empty."""
        company = {"domain": self.domain, "companyName": self.company_name}
        address = {
            "country": self.country,
            "city": self.city,
            "state": self.state,
            "addressLine1": self.address_line1,
            "addressLine2": self.address_line2,
            "postalCode": self.postal_code,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "phoneNumber": self.phone_number,
        }
        if self.organization_registration_number:
            company["organizationRegistrationNumber"] = self.organization_registration_number
        return {
            "companyProfile": {key: value for key, value in company.items() if value},
            "billingProfile": {
                "email": self.email,
                "culture": self.culture,
                "language": self.language,
                "companyName": self.company_name,
                "defaultAddress": {key: value for key, value in address.items() if value},
            },
        }


# === CARTS AND ORDERS === #


@dataclass(frozen=True)
class CartLineItem:
    catalog_item_id: str
    quantity: int
    billing_cycle: str
    term_duration: str | None = None  # omitted for perpetual licences
    id: int = 0
    friendly_name: str | None = None
    provisioning_context: Mapping[str, str] | None = field(default=None, compare=False)
    order_group: str | None = None

    def to_json(self) -> dict:
        """The line as the create-a-cart request expects it."""
        line = {
            "id": self.id,
            "catalogItemId": self.catalog_item_id,
            "quantity": self.quantity,
            "billingCycle": self.billing_cycle,
        }
        if self.term_duration:
            line["termDuration"] = self.term_duration
        if self.friendly_name:
            line["friendlyName"] = self.friendly_name
        if self.provisioning_context:
            line["provisioningContext"] = dict(self.provisioning_context)
        return line

    @classmethod
    def from_json(cls, payload: Mapping) -> CartLineItem:
        payload = _require_mapping(payload, "cart line item")
        context = _get(payload, "provisioningContext")
        return cls(
            catalog_item_id=_require_id(payload, "cart line item", "catalogItemId"),
            quantity=_int(_get(payload, "quantity")) or 0,
            billing_cycle=normalize_billing_cycle(_get(payload, "billingCycle")) or "",
            term_duration=_text(_get(payload, "termDuration")),
            id=_int(_get(payload, "id")) or 0,
            friendly_name=_text(_get(payload, "friendlyName")),
            provisioning_context=dict(context) if isinstance(context, Mapping) else None,
            order_group=_text(_get(payload, "orderGroup")),
        )


@dataclass(frozen=True)
class Cart:
    id: str
    status: str | None = None
    line_items: tuple[CartLineItem, ...] = ()
    creation_timestamp: Timestamp = None
    expiration_timestamp: Timestamp = None

    @classmethod
    def from_json(cls, payload: Mapping) -> Cart:
        payload = _require_mapping(payload, "cart")
        lines = _get(payload, "lineItems", default=[]) or []
        return cls(
            id=_require_id(payload, "cart", "id"),
            status=_text(_get(payload, "status")),
            line_items=tuple(CartLineItem.from_json(line) for line in lines),
            creation_timestamp=parse_timestamp(_get(payload, "creationTimestamp")),
            expiration_timestamp=parse_timestamp(_get(payload, "expirationTimestamp")),
        )


class _OfferIdParts:
    """``product_id`` and ``sku_id`` of a resource's ``offer_id`` (``ProductId:SkuId[:...]``)."""

    offer_id: str | None

    @property
    def product_id(self) -> str | None:
        return split_catalog_item_id(self.offer_id)[0]

    @property
    def sku_id(self) -> str | None:
        return split_catalog_item_id(self.offer_id)[1]


@dataclass(frozen=True)
class OrderLineItem(_OfferIdParts):
    line_item_number: int
    offer_id: str | None = None
    subscription_id: str | None = None
    term_duration: str | None = None
    quantity: int | None = None
    friendly_name: str | None = None
    transaction_type: str | None = None

    @classmethod
    def from_json(cls, payload: Mapping) -> OrderLineItem:
        payload = _require_mapping(payload, "order line item")
        return cls(
            line_item_number=_int(_get(payload, "lineItemNumber")) or 0,
            offer_id=_text(_get(payload, "offerId")),
            subscription_id=_text(_get(payload, "subscriptionId")),
            term_duration=_text(_get(payload, "termDuration")),
            quantity=_int(_get(payload, "quantity")),
            friendly_name=_text(_get(payload, "friendlyName")),
            transaction_type=_text(_get(payload, "transactionType")),
        )


@dataclass(frozen=True)
class Order:
    id: str
    alternate_id: str | None = None
    reference_customer_id: str | None = None
    billing_cycle: str | None = None
    currency_code: str | None = None
    creation_date: Timestamp = None
    status: str | None = None
    line_items: tuple[OrderLineItem, ...] = ()
    transaction_type: str | None = None

    @property
    def alias(self) -> str:
        """The "Order ID alias" shown to people: ``alternateId``, else the id itself."""
        return self.alternate_id or self.id

    def carries_marker(self, marker: str) -> bool:
        """Whether a line's friendly name carries ``marker`` (see ``client.order_marker``)."""
        return any(marker in (line.friendly_name or "") for line in self.line_items)

    @classmethod
    def from_json(cls, payload: Mapping) -> Order:
        payload = _require_mapping(payload, "order")
        lines = _get(payload, "lineItems", default=[]) or []
        return cls(
            id=_require_id(payload, "order", "id"),
            alternate_id=_text(_get(payload, "alternateId")),
            reference_customer_id=_text(_get(payload, "referenceCustomerId")),
            billing_cycle=normalize_billing_cycle(_get(payload, "billingCycle")),
            currency_code=_text(_get(payload, "currencyCode")),
            creation_date=parse_timestamp(_get(payload, "creationDate")),
            status=(_text(_get(payload, "status")) or "").lower() or None,
            line_items=tuple(OrderLineItem.from_json(line) for line in lines),
            transaction_type=_text(_get(payload, "transactionType")),
        )


@dataclass(frozen=True)
class OrderError:
    order_group_id: str | None
    code: int | None
    description: str

    @classmethod
    def from_json(cls, payload: Mapping) -> OrderError:
        payload = _require_mapping(payload, "order error")
        return cls(
            order_group_id=_text(_get(payload, "orderGroupId")),
            code=_int(_get(payload, "code")),
            description=_text(_get(payload, "description")) or "",
        )


@dataclass(frozen=True)
class CheckoutResult:
    orders: tuple[Order, ...] = ()
    order_errors: tuple[OrderError, ...] = ()
    cart_id: str | None = None
    recovered: bool = False  # the orders were found after a lost or repeated checkout

    @classmethod
    def from_json(cls, payload: Mapping, cart_id: str | None = None) -> CheckoutResult:
        payload = _require_mapping(payload, "checkout result")
        if "orders" not in payload and "id" in payload:
            # Some documented examples answer a bare Order instead of a CartCheckoutResult.
            return cls(orders=(Order.from_json(payload),), cart_id=cart_id)
        orders = _get(payload, "orders", default=[]) or []
        errors = _get(payload, "orderErrors", default=[]) or []
        return cls(
            orders=tuple(Order.from_json(order) for order in orders),
            order_errors=tuple(OrderError.from_json(error) for error in errors),
            cart_id=cart_id,
        )


@dataclass(frozen=True)
class ProvisioningStatus:
    line_item_number: int
    status: str  # lowercase: fulfilled, unfulfilled, prefulfillmentpending, ...
    quantity: int | None = None

    @property
    def is_fulfilled(self) -> bool:
        return self.status == "fulfilled"

    @classmethod
    def from_json(cls, payload: Mapping) -> ProvisioningStatus:
        payload = _require_mapping(payload, "provisioning status")
        details = _get(payload, "quantityProvisioningInformation", default=[]) or []
        quantity = sum(
            _int(item.get("quantity")) or 0 for item in details if isinstance(item, Mapping)
        )
        return cls(
            line_item_number=_int(_get(payload, "lineItemNumber", "orderLineItemId")) or 0,
            status=(_text(_get(payload, "status")) or "unknown").lower(),
            quantity=quantity if details else _int(_get(payload, "quantity")),
        )


# === AFTER ORDERING === #


@dataclass(frozen=True)
class Subscription(_OfferIdParts):
    id: str
    offer_id: str | None = None
    offer_name: str | None = None
    friendly_name: str | None = None
    quantity: int | None = None
    status: str | None = None
    auto_renew_enabled: bool | None = None
    creation_date: Timestamp = None
    effective_start_date: Timestamp = None
    commitment_end_date: Timestamp = None
    cancellation_allowed_until_date: Timestamp = None
    term_duration: str | None = None
    billing_cycle: str | None = None
    order_id: str | None = None
    product_type_id: str | None = None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)

    def patched(self, **changes: Any) -> dict:
        """The full object read from Partner Center with ``changes`` applied: the body of a
        PATCH (a partial body silently resets other fields such as auto-renew)."""
        body = copy.deepcopy(dict(self.raw))
        body.update(changes)
        return body

    @classmethod
    def from_json(cls, payload: Mapping) -> Subscription:
        payload = _require_mapping(payload, "subscription")
        product_type = _get(payload, "productType", default={}) or {}
        auto_renew = _get(payload, "autoRenewEnabled")
        return cls(
            id=_require_id(payload, "subscription", "id"),
            offer_id=_text(_get(payload, "offerId")),
            offer_name=_text(_get(payload, "offerName")),
            friendly_name=_text(_get(payload, "friendlyName")),
            quantity=_int(_get(payload, "quantity")),
            status=(_text(_get(payload, "status")) or "").lower() or None,
            auto_renew_enabled=None if auto_renew is None else bool(auto_renew),
            creation_date=parse_timestamp(_get(payload, "creationDate")),
            effective_start_date=parse_timestamp(_get(payload, "effectiveStartDate")),
            commitment_end_date=parse_timestamp(_get(payload, "commitmentEndDate")),
            cancellation_allowed_until_date=parse_timestamp(
                _get(payload, "cancellationAllowedUntilDate")
            ),
            term_duration=_text(_get(payload, "termDuration")),
            billing_cycle=normalize_billing_cycle(_get(payload, "billingCycle")),
            order_id=_text(_get(payload, "orderId")),
            product_type_id=_text(
                product_type.get("id") if isinstance(product_type, Mapping) else None
            ),
            raw=copy.deepcopy(dict(payload)),
        )


@dataclass(frozen=True)
class Entitlement:
    product_id: str | None
    sku_id: str | None
    quantity: int | None = None
    entitlement_type: str | None = None
    reference_order_id: str | None = None
    reference_order_alternate_id: str | None = None
    reference_line_item_id: str | None = None
    expiry_date: Timestamp = None
    included: tuple[Entitlement, ...] = ()

    @property
    def code(self) -> str | None:
        if not (self.product_id and self.sku_id):
            return None
        return f"{self.product_id}:{self.sku_id}"

    @classmethod
    def from_json(cls, payload: Mapping) -> Entitlement:
        payload = _require_mapping(payload, "entitlement")
        order = _get(payload, "referenceOrder", default={}) or {}
        included = _get(payload, "includedEntitlements", default=[]) or []
        return cls(
            product_id=_text(_get(payload, "productId")),
            sku_id=_text(_get(payload, "skuId")),
            quantity=_int(_get(payload, "quantity")),
            entitlement_type=(_text(_get(payload, "entitlementType")) or "").lower() or None,
            reference_order_id=_text(order.get("id")),
            reference_order_alternate_id=_text(order.get("alternateId")),
            reference_line_item_id=_text(order.get("lineItemId")),
            expiry_date=parse_timestamp(_get(payload, "expiryDate")),
            included=tuple(cls.from_json(item) for item in included if isinstance(item, Mapping)),
        )


@dataclass(frozen=True)
class Artifact:
    """An entitled artifact: a product key, or a link to reservation details."""

    artifact_type: str | None
    product_key: str | None = None
    uri: str | None = None

    @classmethod
    def from_json(cls, payload: Mapping) -> Artifact:
        payload = _require_mapping(payload, "artifact")
        link = _get(payload, "link", default={}) or {}
        return cls(
            artifact_type=(_text(_get(payload, "type", "artifactType")) or "").lower() or None,
            product_key=_text(_get(payload, "productKey")),
            uri=_text(link.get("uri")) if isinstance(link, Mapping) else None,
        )


# === ERRORS === #


@dataclass(frozen=True)
class ApiError:
    """An error body: ``{"code", "description", "data", "source"}``.

    The throttling answer ``{"statusCode": 429, "message": ...}`` is read too.
    """

    code: int | None
    description: str
    data: tuple = ()
    source: str | None = None
    status: int | None = None

    @property
    def retry_after_hint(self) -> float | None:
        """Seconds mentioned in a throttling message ("Try again in 57 seconds.")."""
        match = re.search(r"in (\d+(?:\.\d+)?) seconds?", self.description)
        return float(match.group(1)) if match else None

    @classmethod
    def from_json(cls, payload: Any) -> ApiError:
        if not isinstance(payload, Mapping):
            return cls(code=None, description=_text(payload) or "")
        data = _get(payload, "data", default=()) or ()
        return cls(
            code=_int(_get(payload, "code", "errorCode")),
            description=_text(_get(payload, "description", "message", "error_description")) or "",
            data=tuple(data) if isinstance(data, (list, tuple)) else (data,),
            source=_text(_get(payload, "source")),
            status=_int(_get(payload, "statusCode")),
        )


def parse_many(kind, payloads: Iterable) -> list:
    """``kind.from_json`` over every item of a collection payload or list."""
    return [kind.from_json(item) for item in collection_items(payloads)]
