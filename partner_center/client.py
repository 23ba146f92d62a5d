"""The Partner Center REST client.

Every HTTP call goes through :meth:`PartnerCenterClient._request`: it sets the headers Partner
Center expects, a timeout, the idempotency key (``MS-RequestId``) and a fresh ``MS-CorrelationId``
per attempt, retries what may be retried within one deadline, logs, and turns error answers into
the typed exceptions of :mod:`partner_center.errors`.

Retry policy, per logical call:

* connection errors, timeouts, 5xx and 429: exponential backoff with jitter (429 and 503 honour
  ``Retry-After``), keeping the same ``MS-RequestId`` since no definitive answer came;
* 409 with code 800064 (cart being processed): backoff, then :class:`CartInProgress`;
* other 409 (a subscription renewing, an order in progress): the documented wait
  (``conflict_wait_seconds``) if it fits in the deadline, else :class:`ConflictError`;
* 401: one new access token, then :class:`AuthenticationError`;
* everything bounded by ``max_retries`` and ``deadline_seconds``.

After a definitive answer that is retried (401, 409) a new ``MS-RequestId`` is used, unless the
caller pinned one (checkout), in which case the pinned id is the logical call's identity.

In job mode (``ClientConfig.job_mode``, for background workers) nothing waits: what would have been
waited for is raised at once as a :class:`~partner_center.errors.RetryableError` carrying
``retry_after`` (``Retry-After``, the documented 2 minutes of a renewal conflict, or the first
backoff step), and the worker runs the step again later with the same pinned request id.
"""

from __future__ import annotations

import codecs
import email.utils
import hashlib
import json as jsonlib
import logging
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timezone
from functools import partial
from urllib.parse import quote, urlsplit

import requests

from . import __version__
from .auth import TokenProvider, build_session
from .config import ClientConfig
from .errors import (
    CODE_CART_ALREADY_SUBMITTED,
    CODE_CART_IN_PROGRESS,
    CODE_DOMAIN_EXISTS,
    CODE_STALE_AVAILABILITY,
    AuthenticationError,
    CartAlreadySubmitted,
    CartInProgress,
    ConflictError,
    DomainNotAvailable,
    MalformedDataError,
    NotFoundError,
    OrderNotVisibleYet,
    PartnerCenterError,
    PermissionDeniedError,
    StaleAvailability,
    ThrottledError,
    TransientError,
)
from .pricesheet import PriceRow, iter_price_rows
from .resources import (
    ApiError,
    Availability,
    Cart,
    CartLineItem,
    CheckoutResult,
    Customer,
    Entitlement,
    NewCustomer,
    Order,
    Product,
    ProvisioningStatus,
    Sku,
    Subscription,
    collection_items,
    next_link,
    onmicrosoft_domain,
    split_catalog_item_id,
)

_logger = logging.getLogger(__name__)

SCOPE_API = "api"
SCOPE_PRICESHEET = "pricesheet"

# Namespace of the ids derived from an idempotency key (stable across versions: never change).
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1d2c1e-8b5a-5c1e-9a77-0d1c5e7a9b30")
MARKER_PREFIX = "#csp-"
FRIENDLY_NAME_MAX = 50
MAX_PAGES = 1000
CUSTOMER_SEARCH_PAGE_SIZE = 50
_STREAM_CHUNK = 64 * 1024
_SPOOL_IN_MEMORY = 16 * 1024 * 1024  # a downloaded sheet beyond this goes to a temporary file


# === IDEMPOTENCY HELPERS === #


def derive_request_id(idempotency_key: str, *purpose: str) -> str:
    """A deterministic ``MS-RequestId`` for one step of one logical operation.

    A process that crashed and retries the same operation sends the same id again, so Partner
    Center can recognize the repeat.
    """
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, ":".join((idempotency_key, *purpose))))


def order_marker(idempotency_key: str) -> str:
    """The tag written into every cart line's ``friendlyName`` for ``idempotency_key``.

    Partner Center copies a cart line's friendly name into the order line (sometimes after the
    product title), so an order placed for the key can be found by this substring in
    ``GET /customers/{tenant}/orders`` even when the checkout answer was lost.
    """
    return MARKER_PREFIX + uuid.uuid5(IDEMPOTENCY_NAMESPACE, idempotency_key).hex[:16]


def tag_line_items(line_items: Iterable[CartLineItem], marker: str) -> list[CartLineItem]:
    """The lines with ``marker`` appended to their friendly name (kept within 50 characters)."""
    tagged = []
    for line in line_items:
        label = (line.friendly_name or "").replace(marker, "").strip()
        room = FRIENDLY_NAME_MAX - len(marker) - 1
        name = f"{label[:room].rstrip()} {marker}" if label and room > 0 else marker
        tagged.append(replace(line, friendly_name=name))
    return tagged


def _fingerprint(line_items: Sequence[CartLineItem]) -> str:
    payload = jsonlib.dumps([line.to_json() for line in line_items], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# === RESPONSE HELPERS === #


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def iter_text_lines(response: requests.Response, digest=None) -> Iterator[str]:
    """The body of a streamed response as text lines, line endings kept.

    Content encodings (gzip, deflate) are undone by requests. Lines are split on ``\\n`` only and
    keep their endings, so CSV cells holding line breaks survive. The charset is the declared one,
    else UTF-8 (a BOM is dropped).

    :param digest: a ``hashlib`` object, updated with the encoding, then the body's bytes as they
        arrive
    """
    encoding = _text_encoding(response, digest)
    return _text_lines(_body_chunks(response, digest), encoding)


class DownloadedSheet:
    """A price sheet downloaded whole to a local file (in memory while small), read on demand.

    The catalogue sync reads a sheet's bytes first, to tell by their digest whether anything
    changed since its last sync, and parses them only if so.
    """

    def __init__(self, response: requests.Response, digest=None):
        self.encoding = _text_encoding(response, digest)
        # kept open beyond this call: closed by close()
        self.file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            for chunk in _body_chunks(response, digest):
                self.file.write(chunk)
        except BaseException:
            self.file.close()
            raise

    def lines(self) -> Iterator[str]:
        """The sheet's text lines, as :func:`iter_text_lines` gives a streamed one."""
        self.file.seek(0)
        return _text_lines(iter(partial(self.file.read, _STREAM_CHUNK), b""), self.encoding)

    def close(self) -> None:
        self.file.close()


def _text_encoding(response: requests.Response, digest=None) -> str:
    """The charset the body is read in; ``digest`` is updated with it (the same bytes read in
    another charset are other text)."""
    declared = "charset" in (response.headers.get("Content-Type") or "").lower()
    encoding = response.encoding if declared and response.encoding else "utf-8-sig"
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    if digest is not None:
        digest.update(encoding.encode())
    return encoding


def _body_chunks(response: requests.Response, digest=None) -> Iterator[bytes]:
    try:
        for chunk in response.iter_content(chunk_size=_STREAM_CHUNK):
            if digest is not None:
                digest.update(chunk)
            yield chunk
    except requests.RequestException as exc:
        raise TransientError(
            f"The price sheet download was interrupted ({type(exc).__name__}): start it again."
        ) from exc
    finally:
        response.close()


def _text_lines(chunks: Iterable[bytes], encoding: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)()
    pending = ""
    try:
        for chunk in chunks:
            text = pending + decoder.decode(chunk)
            lines = text.split("\n")
            pending = lines.pop()
            for line in lines:
                yield line + "\n"
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise MalformedDataError(f"The price sheet is not valid {encoding} text.") from exc
    if pending:
        yield pending


@dataclass
class _Call:
    """One logical call: what to send, until when, and its idempotency key.

    ``pinned``: the caller chose the ``MS-RequestId``; it then identifies the logical call and
    is kept even after a definitive answer.
    """

    method: str
    url: str
    scope: str
    deadline: float
    request_id: str
    pinned: bool
    options: dict = field(default_factory=dict)  # json, params, stream for requests
    headers: dict = field(default_factory=dict)

    def renew_request_id(self) -> None:
        if not self.pinned:
            self.request_id = str(uuid.uuid4())


@dataclass
class _Attempt:
    """What one attempt of a logical call produced, for the retry decision."""

    response: requests.Response | None = None
    error: Exception | None = None
    correlation_id: str = ""


class PartnerCenterClient:
    """A Partner Center client for one partner tenant.

    :param config: connection settings
    :param on_refresh_token: called with each rotated refresh token (App+User): persist it
    :param session: the requests session for API calls (default: built from ``config``)
    :param sleep: how to wait (tests pass a fake)
    :param clock: monotonic clock, in seconds
    :param token_provider: a ready :class:`TokenProvider` (default: built from ``config``)
    :param rng: randomness for the backoff jitter
    """

    def __init__(
        self,
        config: ClientConfig,
        on_refresh_token: Callable[[str], None] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        token_provider: TokenProvider | None = None,
        rng: random.Random | None = None,
    ):
        self.config = config
        self._session = session or build_session(config)
        self._sleep = sleep
        self._clock = clock
        self._tokens = token_provider or TokenProvider(config, on_refresh_token, clock=clock)
        self._rng = rng or random.Random()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PartnerCenterClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # === CATALOGUE === #

    def products(
        self, country: str, target_view: str = "Software", locale: str | None = None
    ) -> list[Product]:
        """The products of a market's catalogue (all pages)."""
        params = {"country": country, "targetView": target_view}
        return self._collect("/products", Product.from_json, params=params, locale=locale)

    def product(self, product_id: str, country: str, locale: str | None = None) -> Product:
        path = f"/products/{_seg(product_id)}"
        payload = self._get_json(path, params={"country": country}, locale=locale)
        return Product.from_json(payload)

    def skus(self, product_id: str, country: str, locale: str | None = None) -> list[Sku]:
        path = f"/products/{_seg(product_id)}/skus"
        return self._collect(
            path,
            lambda item: Sku.from_json(item, product_id=product_id),
            params={"country": country},
            locale=locale,
        )

    def availabilities(self, product_id: str, sku_id: str, country: str) -> list[Availability]:
        """The availabilities of a SKU in a market. Their ids change: read them at purchase."""
        path = f"/products/{_seg(product_id)}/skus/{_seg(sku_id)}/availabilities"
        return self._collect(path, Availability.from_json, params={"country": country})

    # === PRICE SHEETS === #

    def price_sheet_lines(
        self,
        market: str,
        view: str = "software",
        timeline: str | None = None,
        month: str | None = None,
        digest=None,
    ) -> Iterator[str]:
        """The text lines of a market's price sheet, streamed (App+User only).

        :param timeline: ``current``, ``history`` or ``future``
        :param month: ``YYYYMM``, with ``history``/``future``
        :param digest: a ``hashlib`` object, updated with the sheet's bytes as they are read
        """
        return iter_text_lines(self._price_sheet_response(market, view, timeline, month), digest)

    def download_price_sheet(self, market: str, digest=None) -> DownloadedSheet:
        """A market's current software price sheet, downloaded whole before anything of it is
        read (see :meth:`price_sheet_lines`); close it (``contextlib.closing``) once read."""
        return DownloadedSheet(self._price_sheet_response(market, "software", None, None), digest)

    def _price_sheet_response(self, market, view, timeline, month) -> requests.Response:
        url = (
            f"{self.config.pricesheet_base_url.rstrip('/')}/pricesheets(Market='{_seg(market)}',"
            f"PricesheetView='{_seg(view)}')/$value"
        )
        params = {key: value for key, value in (("timeline", timeline), ("month", month)) if value}
        return self._request(
            "GET",
            url,
            params=params or None,
            scope=SCOPE_PRICESHEET,
            stream=True,
            accept="text/csv, application/octet-stream, */*",
        )

    def iter_price_sheet(
        self,
        market: str,
        view: str = "software",
        timeline: str | None = None,
        month: str | None = None,
        errors: list[MalformedDataError] | None = None,
        *,
        priced_currencies: Collection[str] | None = None,
        seen_currencies: set[str] | None = None,
        skipped: list[MalformedDataError] | None = None,
    ) -> Iterator[PriceRow]:
        """The rows of a market's price sheet, parsed while they stream in.

        ``priced_currencies``, ``seen_currencies`` and ``skipped`` are those of
        :func:`~partner_center.pricesheet.iter_price_rows`: rows that only repeat where a SKU is
        sold, in a currency nobody prices, are passed over unparsed; malformed rows of those
        currencies are collected in ``skipped`` instead of stopping the reading.
        """
        return iter_price_rows(
            self.price_sheet_lines(market, view, timeline, month),
            errors=errors,
            priced_currencies=priced_currencies,
            seen_currencies=seen_currencies,
            skipped=skipped,
        )

    # === CUSTOMERS === #

    def get_customer(self, tenant_id: str) -> Customer:
        return Customer.from_json(self._get_json(f"/customers/{_seg(tenant_id)}"))

    def create_customer(self, new_customer: NewCustomer, request_id: str | None = None) -> Customer:
        """Create a customer tenant and its reseller relationship (``POST /customers``).

        Partner Center treats the creation as idempotent per ``MS-RequestId``: pin ``request_id``
        (e.g. ``derive_request_id(key, "customer")``) so that a creation repeated after a lost
        answer returns the customer it made, instead of failing on its own, now taken, domain.

        The answer's ``userCredentials`` (the new tenant's first admin password) are not kept: a
        secret has no place in a resource that gets logged and stored.

        :raise ValueError: required fields are empty (check :meth:`NewCustomer.missing_fields`
            first, to tell the user)
        :raise DomainNotAvailable: the domain belongs to another tenant
        """
        missing = new_customer.missing_fields()
        if missing:
            raise ValueError(f"A new customer needs: {', '.join(missing)}.")
        response = self._request(
            "POST", "/customers", json=new_customer.to_json(), request_id=request_id
        )
        return Customer.from_json(_json_body(response))

    def find_customer(self, tenant_id_or_domain: str) -> Customer | None:
        """The partner's customer with this tenant id or domain, or ``None``.

        A tenant id (GUID) is read directly. Anything else is a domain (a bare prefix gets
        ``.onmicrosoft.com``): Partner Center's domain search only knows ``starts_with``, so only
        an exact, case-insensitive match counts (``contoso`` never links ``contoso2``). Search
        results carry no billing profile: the match is read in full, country included.
        """
        value = (tenant_id_or_domain or "").strip()
        if not value:
            return None
        if _is_guid(value):
            try:
                return self.get_customer(value)
            except NotFoundError:
                return None
        domain = onmicrosoft_domain(value)
        match = next(
            (found for found in self.search_customers(domain) if found.has_domain(domain)), None
        )
        return self.get_customer(match.tenant_id) if match else None

    def search_customers(self, prefix: str, field: str = "Domain") -> list[Customer]:
        """The partner's customers whose ``field`` starts with ``prefix`` (case-insensitive).

        :param field: a ``CustomerSearchField``: ``Domain``, ``CompanyName``,
            ``IndirectReseller`` or ``IndirectCloudSolutionProvider``
        :return: summaries (no billing profile: read one with :meth:`get_customer`)
        """
        search = {"Field": field, "Value": prefix, "Operator": "starts_with"}
        params = {
            "size": CUSTOMER_SEARCH_PAGE_SIZE,
            "filter": jsonlib.dumps(search, separators=(",", ":")),
        }
        return self._collect("/customers", Customer.from_json, params=params)

    # === CARTS AND ORDERS === #

    def create_cart(
        self,
        tenant_id: str,
        line_items: Sequence[CartLineItem],
        request_id: str | None = None,
    ) -> Cart:
        """``POST /customers/{tenant}/carts``; a 404 means a stale availability."""
        lines = [replace(line, id=index) for index, line in enumerate(line_items)]
        response = self._request(
            "POST",
            f"/customers/{_seg(tenant_id)}/carts",
            json={"lineItems": [line.to_json() for line in lines]},
            request_id=request_id,
            not_found=StaleAvailability,
            conflict=CartInProgress,
        )
        return Cart.from_json(_json_body(response))

    def checkout(
        self, tenant_id: str, cart_id: str, request_id: str | None = None
    ) -> CheckoutResult:
        """Check a cart out. Retries keep ``request_id`` (the idempotency key of the checkout).

        :raise CartAlreadySubmitted: the cart was checked out before (its order exists)
        :raise CartInProgress: still being processed when the retries ran out
        """
        response = self._request(
            "POST",
            f"/customers/{_seg(tenant_id)}/carts/{_seg(cart_id)}/checkout",
            request_id=request_id or str(uuid.uuid4()),
            not_found=StaleAvailability,
            conflict=CartInProgress,
        )
        return CheckoutResult.from_json(_json_body(response), cart_id=cart_id)

    def get_order(self, tenant_id: str, order_id: str) -> Order:
        path = f"/customers/{_seg(tenant_id)}/orders/{_seg(order_id)}"
        return Order.from_json(self._get_json(path))

    def list_orders(self, tenant_id: str) -> list[Order]:
        """All orders of a customer (new orders may take up to 15 minutes to be listed)."""
        return self._collect(f"/customers/{_seg(tenant_id)}/orders", Order.from_json)

    def order_provisioning_status(self, tenant_id: str, order_id: str) -> list[ProvisioningStatus]:
        path = f"/customers/{_seg(tenant_id)}/orders/{_seg(order_id)}/provisioningstatus"
        return self._collect(path, ProvisioningStatus.from_json)

    def find_orders(self, tenant_id: str, marker: str) -> list[Order]:
        """The customer's orders whose lines carry ``marker`` (see :func:`order_marker`)."""
        return [order for order in self.list_orders(tenant_id) if order.carries_marker(marker)]

    def place_order(
        self,
        tenant_id: str,
        line_items: Sequence[CartLineItem],
        idempotency_key: str,
        *,
        cart_id: str | None = None,
        on_cart_created: Callable[[str], None] | None = None,
        country: str | None = None,
    ) -> CheckoutResult:
        """Order ``line_items`` for a customer exactly once per ``idempotency_key``, crash-safe.

        1. An order already placed for the key (its lines carry :func:`order_marker`) is returned.
        2. Otherwise the known cart (``cart_id``) is checked out, or a cart is created first
           (:meth:`create_tagged_cart`; its id handed to ``on_cart_created``: persist it, and
           pass it back on a retry).
        3. :meth:`checkout_for_key`: the ``MS-RequestId`` derives from the key, so retries after
           a crash repeat the same checkout; "already submitted" leads to the existing order.

        A caller that persists each step (a provisioning engine) calls the three steps itself.

        A second cart is never created while a cart of the key may have been checked out: after a
        lost checkout answer, call again with the same key and ``cart_id``.

        :param country: the customer's country; when given, a stale availability at cart
            creation is read again and the cart retried once
        :raise OrderNotVisibleYet: submitted, but Partner Center does not list the order yet
        """
        marker = order_marker(idempotency_key)
        existing = self.find_orders(tenant_id, marker)
        if existing:
            _logger.info("Order for %s already placed: %s", marker, [o.id for o in existing])
            return CheckoutResult(orders=tuple(existing), cart_id=cart_id, recovered=True)
        if cart_id is None:
            cart_id = self.create_tagged_cart(tenant_id, line_items, idempotency_key, country)
            if on_cart_created is not None:
                on_cart_created(cart_id)
        return self.checkout_for_key(tenant_id, cart_id, idempotency_key)

    # The steps of place_order, for a caller that persists each one (a provisioning engine):
    # 1. find_orders(tenant, order_marker(key)): an order exists -> done;
    # 2. create_tagged_cart(...): persist the cart id before anything else;
    # 3. checkout_for_key(tenant, cart_id, key), repeated with that cart until it returns.

    def create_tagged_cart(
        self,
        tenant_id: str,
        line_items: Sequence[CartLineItem],
        idempotency_key: str,
        country: str | None = None,
    ) -> str:
        """Create the cart of ``idempotency_key`` and return its id (persist it).

        Its lines carry :func:`order_marker` (so the order can be found without the checkout
        answer) and its ``MS-RequestId`` derives from the key and the lines: repeated with the same
        key and lines, the step answers the same cart instead of making a second one.

        :param country: the customer's country; when given, a stale availability is read again
            and the cart retried once (with the request id of the refreshed lines)
        :raise StaleAvailability: the availability is stale and no ``country`` was given
        """
        tagged = tag_line_items(line_items, order_marker(idempotency_key))
        request_id = derive_request_id(idempotency_key, "cart", _fingerprint(tagged))
        try:
            return self.create_cart(tenant_id, tagged, request_id=request_id).id
        except StaleAvailability:
            if not country:
                raise
            fresh = self.refresh_line_items(tagged, country)
            request_id = derive_request_id(idempotency_key, "cart", _fingerprint(fresh))
            return self.create_cart(tenant_id, fresh, request_id=request_id).id

    def checkout_for_key(
        self, tenant_id: str, cart_id: str, idempotency_key: str
    ) -> CheckoutResult:
        """Check out the cart of ``idempotency_key``: one order, however often the step repeats.

        The ``MS-RequestId`` derives from the key and the cart, so a repeat after a lost answer
        repeats the same checkout. A cart submitted under another request id (by an older process)
        answers "already submitted": its order is then found by the key's marker
        (``recovered=True``), waiting up to ``order_visibility_timeout`` for the order list to
        show it (not at all in job mode).

        :raise OrderNotVisibleYet: submitted, but not listed yet: repeat this step after
            ``retry_after`` with the same cart; never create another cart
        :raise PartnerCenterError: any other failure, with ``cart_id`` set: repeat with this cart
        """
        request_id = derive_request_id(idempotency_key, "checkout", cart_id)
        try:
            return self.checkout(tenant_id, cart_id, request_id=request_id)
        except CartAlreadySubmitted:
            pass  # submitted earlier under another request id: its order exists, find it below
        except PartnerCenterError as error:
            error.cart_id = cart_id  # the caller must retry with this cart, not a new one
            raise
        return self._recover_submitted_order(tenant_id, order_marker(idempotency_key), cart_id)

    def _recover_submitted_order(self, tenant_id, marker, cart_id) -> CheckoutResult:
        deadline = self._clock() + self.config.order_visibility_timeout
        while True:
            orders = self.find_orders(tenant_id, marker)
            if orders:
                return CheckoutResult(orders=tuple(orders), cart_id=cart_id, recovered=True)
            wait = self.config.poll_interval
            if self.config.job_mode or self._clock() + wait > deadline:
                error = OrderNotVisibleYet(retry_after=wait)
                error.cart_id = cart_id
                raise error
            self._sleep(wait)

    def refresh_line_items(
        self, line_items: Sequence[CartLineItem], country: str
    ) -> list[CartLineItem]:
        """The lines with their availability ids read again (they change over time).

        :raise StaleAvailability: when a SKU has no purchasable availability for its term
        """
        fresh = []
        for line in line_items:
            product_id, sku_id, _availability = split_catalog_item_id(line.catalog_item_id)
            if product_id is None:
                fresh.append(line)
                continue
            match = next(
                (
                    availability
                    for availability in self.availabilities(product_id, sku_id, country)
                    if availability.is_purchasable
                    and (
                        not line.term_duration or line.term_duration in availability.term_durations
                    )
                ),
                None,
            )
            if match is None:
                raise StaleAvailability(
                    f"{product_id}:{sku_id} has no purchasable availability in {country}."
                )
            fresh.append(replace(line, catalog_item_id=match.catalog_item_id))
        return fresh

    # === SUBSCRIPTIONS AND ENTITLEMENTS === #

    def get_subscription(self, tenant_id: str, subscription_id: str) -> Subscription:
        path = f"/customers/{_seg(tenant_id)}/subscriptions/{_seg(subscription_id)}"
        return Subscription.from_json(self._get_json(path))

    def subscriptions_by_order(self, tenant_id: str, order_id: str) -> list[Subscription]:
        path = f"/customers/{_seg(tenant_id)}/subscriptions"
        return self._collect(path, Subscription.from_json, params={"order_id": order_id})

    def update_subscription(self, tenant_id: str, subscription_id: str, **changes) -> Subscription:
        """PATCH a subscription with the FULL object read just before, ``changes`` applied.

        A partial body would silently reset other fields (auto-renew). A 202 answer is followed
        through its ``Location`` until the update is done.
        """
        current = self.get_subscription(tenant_id, subscription_id)
        path = f"/customers/{_seg(tenant_id)}/subscriptions/{_seg(subscription_id)}"
        response = self._request("PATCH", path, json=current.patched(**changes))
        if response.status_code == 202:
            self._await_operation(response)
            return self.get_subscription(tenant_id, subscription_id)
        if response.content:
            return Subscription.from_json(_json_body(response))
        return self.get_subscription(tenant_id, subscription_id)

    def set_auto_renew(self, tenant_id: str, subscription_id: str, enabled: bool) -> Subscription:
        return self.update_subscription(tenant_id, subscription_id, autoRenewEnabled=bool(enabled))

    def cancel_subscription(self, tenant_id: str, subscription_id: str) -> Subscription:
        """Cancel within the cancellation window (``status: deleted``)."""
        return self.update_subscription(tenant_id, subscription_id, status="deleted")

    def entitlements(
        self, tenant_id: str, entitlement_type: str = "software", show_expiry: bool = True
    ) -> list[Entitlement]:
        """The customer's entitlements; ``show_expiry`` adds software subscriptions' expiry."""
        params = {"entitlementType": entitlement_type}
        if show_expiry:
            params["showExpiry"] = "true"
        return self._collect(
            f"/customers/{_seg(tenant_id)}/entitlements", Entitlement.from_json, params=params
        )

    def cancel_order_lines(
        self,
        tenant_id: str,
        order_id: str,
        line_items: Sequence[tuple[int, str | None]],
        request_id: str | None = None,
    ) -> Order:
        """Cancel lines of a software order (perpetual licences: within 30 days of purchase).

        Microsoft's documented call PATCHes the order with ``status: cancelled`` and the lines to
        cancel. Outside the window Partner Center answers 400 / 900117
        (``CODE_CANCELLATION_WINDOW_PASSED``). Within the window, cancelling a cancelled line
        again answers the same order, so a call repeated after a lost answer is safe.

        :param line_items: ``(line_item_number, offer_id)`` pairs; ``offer_id`` may be ``None``
        :param request_id: pin the ``MS-RequestId`` (a caller's retry of the same cancellation)
        :return: the order as Partner Center answers it (cancelled lines have quantity 0)
        """
        body = {
            "id": order_id,
            "status": "cancelled",
            "lineItems": [
                {"lineItemNumber": int(number), **({"offerId": offer} if offer else {})}
                for number, offer in line_items
            ],
        }
        path = f"/customers/{_seg(tenant_id)}/orders/{_seg(order_id)}"
        response = self._request("PATCH", path, json=body, request_id=request_id)
        return Order.from_json(_json_body(response))

    def _await_operation(self, accepted: requests.Response) -> None:
        """Poll the ``Location`` of a 202 answer until the operation has finished."""
        location = accepted.headers.get("Location")
        if not location:
            return
        deadline = self._clock() + self.config.deadline_seconds
        answer = accepted
        while True:
            wait = parse_retry_after(answer.headers.get("Retry-After")) or self.config.poll_interval
            if self.config.job_mode or self._clock() + wait > deadline:
                raise TransientError(
                    "Partner Center accepted the subscription update and is still applying it: "
                    "read the subscription again later.",
                    retry_after=wait,
                )
            self._sleep(wait)
            answer = self._request("GET", location)
            if _operation_finished(answer):
                return

    # === HTTP CHOKE POINT === #

    def _get_json(self, path: str, params=None, locale=None, headers=None):
        return _json_body(self._request("GET", path, params=params, locale=locale, headers=headers))

    def _collect(self, path: str, parse: Callable[[Mapping], object], params=None, locale=None):
        """Every item of a collection, following ``links.next`` (and its continuation header)."""
        items, headers, seen = [], None, set()
        for _page in range(MAX_PAGES):
            payload = self._get_json(path, params=params, locale=locale, headers=headers)
            items.extend(parse(item) for item in collection_items(payload))
            link = next_link(payload)
            if link is None:
                return items
            page_id = (link[0], tuple(sorted(link[1].items())))
            if page_id in seen:
                return items
            seen.add(page_id)
            path, headers, params = link[0], link[1], None
        raise MalformedDataError(f"More than {MAX_PAGES} pages from {path}: stopping.")

    def _request(
        self,
        method: str,
        path: str,
        *,
        json=None,
        params: Mapping | None = None,
        scope: str = SCOPE_API,
        request_id: str | None = None,
        stream: bool = False,
        locale: str | None = None,
        headers: Mapping[str, str] | None = None,
        accept: str = "application/json",
        not_found: type[NotFoundError] = NotFoundError,
        conflict: type[ConflictError] = ConflictError,
    ) -> requests.Response:
        """Send one logical call, with retries, and return the successful response.

        :param path: a path under the API base, or an absolute URL
        :param request_id: pin the ``MS-RequestId`` for every attempt (idempotent operations)
        :param stream: leave the body unread (the caller iterates it, then closes)
        :param not_found: the exception a 404 becomes
        :param conflict: the exception a 409 becomes; :class:`CartInProgress` is retried with
            backoff, other conflicts after ``conflict_wait_seconds``
        :raise PartnerCenterError: a typed subclass for every failure
        """
        call = _Call(
            method=method,
            url=self._url(path),
            scope=self._scope(scope),
            deadline=self._clock() + self.config.deadline_seconds,
            request_id=request_id or str(uuid.uuid4()),
            pinned=request_id is not None,
            options={"json": json, "params": params, "stream": stream},
            headers={**(headers or {}), "Accept": accept, "X-Locale": locale or self.config.locale},
        )
        attempt, token_renewed = 0, False
        while True:
            attempt += 1
            outcome = self._attempt(call)
            response = outcome.response
            if response is not None and response.status_code < 400:
                return response
            if response is not None and response.status_code == 401 and not token_renewed:
                response.close()
                self._tokens.invalidate(call.scope)
                token_renewed = True
                call.renew_request_id()
                continue
            error, delay, definitive = self._classify(
                outcome, call.request_id, attempt, not_found, conflict
            )
            if response is not None:
                response.close()
            if delay is None or not self._can_wait(delay, attempt, call.deadline):
                if delay is not None and error.retry_after is None:
                    error.retry_after = delay  # when to repeat the call (job mode: at once)
                raise error
            _logger.info(
                "Partner Center %s %s: retrying in %.2fs after %s (attempt %d, correlation %s)",
                *(method, _display_path(call.url), delay, _outcome_text(outcome), attempt),
                outcome.correlation_id,
            )
            if definitive:
                call.renew_request_id()
            self._sleep(delay)

    def _attempt(self, call: _Call) -> _Attempt:
        """Send one attempt of ``call``: a response, or the reason there was none."""
        correlation_id = str(uuid.uuid4())
        remaining = call.deadline - self._clock()
        if remaining <= 0:
            return _Attempt(error=TimeoutError("deadline exceeded"), correlation_id=correlation_id)
        started = self._clock()
        try:
            token = self._tokens.get_token(call.scope)
            response = self._session.request(
                call.method,
                call.url,
                headers=self._headers(token, correlation_id, call),
                timeout=(
                    min(self.config.connect_timeout, remaining),
                    min(self.config.read_timeout, remaining),
                ),
                verify=self.config.verify,
                allow_redirects=False,
                **call.options,
            )
        except (requests.ConnectionError, requests.Timeout, TransientError) as exc:
            _logger.debug(
                "Partner Center %s %s: no answer (%s), correlation %s, request %s",
                *(call.method, _display_path(call.url), type(exc).__name__),
                *(correlation_id, call.request_id),
            )
            return _Attempt(error=exc, correlation_id=correlation_id)
        except requests.RequestException as exc:
            raise PartnerCenterError(
                f"The request to Partner Center could not be sent ({type(exc).__name__}).",
                correlation_id=correlation_id,
                request_id=call.request_id,
            ) from exc
        _logger.debug(
            "Partner Center %s %s -> %s in %.2fs (correlation %s, request %s)",
            *(call.method, _display_path(call.url), response.status_code),
            *(self._clock() - started, correlation_id, call.request_id),
        )
        return _Attempt(response=response, correlation_id=correlation_id)

    def _headers(self, token: str, correlation_id: str, call: _Call) -> dict:
        return {
            **call.headers,
            "Authorization": f"Bearer {token}",
            "MS-Contract-Version": "v1",
            "MS-CorrelationId": correlation_id,
            "MS-RequestId": call.request_id,
            "User-Agent": f"ms-csp-partner-center/{__version__}",
        }

    def _classify(self, outcome: _Attempt, request_id: str, attempt: int, not_found, conflict):
        """``(error to raise, delay before a retry or None, whether the answer was definitive)``."""
        response = outcome.response
        if response is None:
            cause = outcome.error
            description = (
                cause.description
                if isinstance(cause, PartnerCenterError)
                else "Partner Center could not be reached or did not answer in time "
                f"({type(cause).__name__}); the operation is safe to repeat."
            )
            error = TransientError(
                description, correlation_id=outcome.correlation_id, request_id=request_id
            )
            return error, self._backoff(attempt), False
        error = error_from_response(
            response, request_id, outcome.correlation_id, not_found, conflict
        )
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        status = response.status_code
        if status == 429:
            error.retry_after = (
                retry_after or ApiError.from_json(_safe_json(response)).retry_after_hint
            )
            return error, error.retry_after or self._backoff(attempt), False
        if status >= 500:
            return error, retry_after or self._backoff(attempt), False
        if isinstance(error, CartInProgress):
            return error, retry_after or self._backoff(attempt), True
        if isinstance(error, ConflictError):
            error.retry_after = retry_after or self.config.conflict_wait_seconds
            return error, error.retry_after, True
        return error, None, True

    def _can_wait(self, delay: float, attempt: int, deadline: float) -> bool:
        if self.config.job_mode:
            return False  # a background worker never sleeps: the error says when to come back
        return attempt <= self.config.max_retries and self._clock() + delay < deadline

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.config.backoff_max, self.config.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _scope(self, scope: str) -> str:
        return self.config.pricesheet_scope if scope == SCOPE_PRICESHEET else self.config.api_scope

    def _url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            return path
        base = self.config.api_base_url.rstrip("/")
        base_path = urlsplit(base).path.rstrip("/")
        if base_path and (path == base_path or path.startswith(base_path + "/")):
            path = path[len(base_path) :]  # links may repeat the "/v1" of the base
        return f"{base}/{path.lstrip('/')}"


# === ERROR MAPPING === #


def error_from_response(
    response: requests.Response,
    request_id: str | None = None,
    correlation_id: str | None = None,
    not_found: type[NotFoundError] = NotFoundError,
    conflict: type[ConflictError] = ConflictError,
) -> PartnerCenterError:
    """The typed exception for an error answer (``{"code","description","data","source"}``)."""
    body = ApiError.from_json(_safe_json(response))
    status = response.status_code
    code = body.code
    description = body.description or f"Partner Center answered HTTP {status} {response.reason}."
    kind: type[PartnerCenterError] = PartnerCenterError
    if code == CODE_STALE_AVAILABILITY:
        kind = StaleAvailability
    elif code == CODE_CART_ALREADY_SUBMITTED:
        kind = CartAlreadySubmitted
    elif code == CODE_DOMAIN_EXISTS:
        kind = DomainNotAvailable
    elif status == 409:
        kind = CartInProgress if code == CODE_CART_IN_PROGRESS else conflict
    elif status == 401:
        kind = AuthenticationError
    elif status == 403:
        kind = PermissionDeniedError
    elif status == 404:
        kind = not_found
    elif status == 429:
        kind = ThrottledError
    elif status >= 500:
        kind = TransientError
    return kind(
        description,
        code=code,
        status=status,
        correlation_id=response.headers.get("MS-CorrelationId") or correlation_id,
        request_id=request_id,
    )


_RUNNING_OPERATION_STATES = {"inprogress", "notstarted", "running", "accepted", "queued", "pending"}
_FAILED_OPERATION_STATES = {"failed", "cancelled", "canceled"}


def _operation_finished(answer: requests.Response) -> bool:
    """Whether a polled operation is done: not 202, and not an operation still running.

    :raise PartnerCenterError: when the operation reports a failure
    """
    if answer.status_code == 202:
        return False
    body = _safe_json(answer)
    if not isinstance(body, Mapping):
        return True
    if (body.get("attributes") or {}).get("objectType") == "Subscription":
        return True  # the Location was the resource itself
    state = str(body.get("status") or "").replace(" ", "").lower()
    if state in _FAILED_OPERATION_STATES:
        raise PartnerCenterError(
            f"The subscription update ended with status {body.get('status')!r}.",
            status=answer.status_code,
            correlation_id=answer.headers.get("MS-CorrelationId"),
        )
    return state not in _RUNNING_OPERATION_STATES


def _safe_json(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        text = (response.text or "").strip()
        return text[:300] if text else None


def _json_body(response: requests.Response):
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedDataError(
            f"Partner Center answered HTTP {response.status_code} with a body that is not JSON.",
            status=response.status_code,
            correlation_id=response.request.headers.get("MS-CorrelationId")
            if response.request is not None
            else None,
        ) from exc


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _seg(value: str) -> str:
    """A URL path segment (ids come from data: never let one add a path level)."""
    return quote(str(value), safe="")


def _display_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _outcome_text(outcome: _Attempt) -> str:
    if outcome.response is not None:
        return f"HTTP {outcome.response.status_code}"
    return type(outcome.error).__name__
