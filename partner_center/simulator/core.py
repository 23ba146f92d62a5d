"""``Simulator``: wires catalogue, state, tokens, commerce and faults to a live HTTPS server."""

import base64
import copy
import logging
import os
import shutil
import tempfile
import threading
from datetime import datetime, timezone
from urllib.parse import unquote_plus

from . import pricesheet
from .catalogue import MARKETS, SimCatalogue, availability_json, product_json, sku_json
from .certs import server_context
from .commerce import Commerce
from .errors import invalid, not_found
from .faults import FaultBook
from .server import Dispatcher, Reply, Router, make_request_log, start_server, stop_server
from .settings import LIVE_SETTINGS, SimulatorSettings
from .state import SimState
from .tokens import TokenService
from .utils import add_months, collection, iso_timestamp, month_start, utc_from_epoch

SHEETS_KEPT = 12  # rendered price sheets kept in memory (up to 15 MB each for 5,000 SKUs)

_logger = logging.getLogger(__name__)

# Host values meaning "every interface": clients still reach the simulator on loopback.
ANY_HOST = ("0.0.0.0", "::", "")  # noqa: S104
_TENANT = r"(?P<tenant>[^/]+)"
_CUSTOMER = r"^/v1/customers/(?P<tenant>[^/]+)"
_PRODUCT = r"^/v1/products/(?P<product>[^/]+)"
_SKU = _PRODUCT + r"/skus/(?P<sku>[^/]+)"


class Simulator(Dispatcher):
    """A local Partner Center (API, price sheets, token service) for tests and demos.

    ``Simulator(SimulatorSettings(...))`` or ``Simulator(seed=2, sku_count=50)``; then
    ``start()``/``stop()`` or use it as a context manager.
    """

    def __init__(self, settings=None, **overrides):
        settings = settings or SimulatorSettings()
        if overrides:
            settings = settings.replace(**overrides)
        self.settings = settings
        self._initial_live = settings.live_values()
        self.catalogue = SimCatalogue(settings.seed, settings.sku_count, settings.month)
        self.state = SimState(settings.state_file)
        self.tokens = TokenService(settings, self.state, lambda: self.base_url)
        self.commerce = Commerce(settings, self.state, self.catalogue)
        self.faults = FaultBook(settings.seed)
        self.faults.set(settings.faults)
        self._requests = make_request_log()
        self._in_flight = set()
        self._server = None
        self._temporary_cert_dir = None
        self.ca_file = None
        self._sheets = {}  # rendered price sheets, see _sheet_chunks
        self._sheets_lock = threading.Lock()
        self._router = self._api_routes()
        self._admin_router = self._admin_routes()

    # === LIFECYCLE === #

    def start(self):
        if self._server is not None:
            return self
        context = None
        if self.settings.tls:
            cert_dir = self._cert_dir()
            hosts = ["127.0.0.1", "localhost", *self.settings.cert_hosts]
            if self.settings.host not in hosts and self.settings.host not in ANY_HOST:
                hosts.append(self.settings.host)
            self.ca_file, context = server_context(cert_dir, hosts)
        self._server = start_server(self._wsgi, self.settings.host, self.settings.port, context)
        _logger.info("Partner Center simulator listening on %s", self.base_url)
        return self

    def stop(self):
        if self._server is None:
            return
        stop_server(self._server)
        self._server = None
        self.state.save()
        if self._temporary_cert_dir:
            shutil.rmtree(self._temporary_cert_dir, ignore_errors=True)
            self._temporary_cert_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _cert_dir(self):
        if self.settings.cert_dir:
            return self.settings.cert_dir
        if self.settings.state_file:
            directory = os.path.dirname(os.path.abspath(self.settings.state_file))
            return os.path.join(directory, "partner-center-simulator-certs")
        self._temporary_cert_dir = tempfile.mkdtemp(prefix="pc-sim-certs-")
        return self._temporary_cert_dir

    # === ADDRESSES AND CREDENTIALS === #

    @property
    def port(self):
        return self._server.server_address[1] if self._server else None

    @property
    def base_url(self):
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        host = self.settings.host
        if host in ANY_HOST:
            host = "127.0.0.1"
        scheme = "https" if self.settings.tls else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def api_url(self):
        return self.base_url + "/v1"

    @property
    def pricesheet_url(self):
        return self.base_url + "/v1.0/sales"

    @property
    def authority(self):
        return f"{self.base_url}/{self.settings.partner_tenant_id}"

    @property
    def partner_tenant_id(self):
        return self.settings.partner_tenant_id

    @property
    def client_id(self):
        return self.settings.client_id

    @property
    def client_secret(self):
        return self.settings.client_secret

    @property
    def initial_refresh_token(self):
        return self.settings.initial_refresh_token

    @property
    def customers(self):
        with self.state.lock:
            return [
                {
                    "tenant_id": record["tenant_id"],
                    "company_name": record["company_name"],
                    "country": record["country"],
                    "domain": record["domain"],
                }
                for record in self.state.data["customers"].values()
            ]

    # === CONTROL (same as the /admin endpoints) === #

    def set_faults(self, rules):
        """Replace the fault rules (dicts, FaultRule objects or compact spec strings)."""
        return [rule.to_dict() for rule in self.faults.set(_as_list(rules))]

    def add_faults(self, rules):
        return [rule.to_dict() for rule in self.faults.add(_as_list(rules))]

    def clear_faults(self):
        self.faults.clear()

    def update_settings(self, **values):
        unknown = set(values) - set(LIVE_SETTINGS)
        if unknown:
            raise ValueError(f"not a live setting: {', '.join(sorted(unknown))}")
        coerced = {
            name: _coerce(getattr(self.settings, name), value) for name, value in values.items()
        }
        if any(
            isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0
            for value in coerced.values()
        ):
            raise ValueError("settings cannot be negative")
        for name, value in coerced.items():
            setattr(self.settings, name, value)
        self.catalogue.month = self.settings.month
        return self.settings.live_values()

    def reset_settings(self):
        return self.update_settings(**self._initial_live)

    def reset(self):
        """Back to a clean test baseline: no faults, initial live settings, real clock, the
        initial refresh token valid again, empty request log. Orders etc. are kept."""
        self.clear_faults()
        self.reset_settings()
        with self.state.mutate() as data:
            data["clock_offset"] = 0.0
        self.tokens.reinstate_initial_refresh_token()
        self.requests_log(clear=True)
        return self.health()

    def all_orders(self, tenant_id):
        return self.commerce.all_orders(tenant_id)["items"]

    def revoke_refresh_tokens(self, token=None):
        return self.tokens.revoke_refresh_tokens(token)

    def issue_refresh_token(self):
        """A fresh refresh token, as after an admin's new consent."""
        return self.tokens.issue_refresh_token()

    def expire_access_tokens(self):
        self.tokens.expire_access_tokens()

    def add_customer(self, company_name, country, tenant_id=None, domain=None, culture=None):
        record = self.commerce.add_customer(company_name, country, tenant_id, domain, culture)
        return {key: record[key] for key in ("tenant_id", "company_name", "country", "domain")}

    def advance_clock(self, seconds):
        """Move simulator time forward (orders complete, fulfil, subscriptions renew)."""
        return self.state.advance_clock(seconds)

    def now(self):
        return self.state.now()

    def requests_log(self, clear=False):
        """Non-admin requests seen (method, path, query, status, request id, fault)."""
        with self.state.lock:
            entries = copy.deepcopy(list(self._requests))
            if clear:
                self._requests.clear()
        return entries

    def health(self):
        with self.state.lock:
            data = self.state.data
            return {
                "status": "ok",
                "baseUrl": self.base_url if self._server else None,
                "now": iso_timestamp(self.state.now()),
                "month": self.settings.month,
                "skuCount": self.settings.sku_count,
                "seed": self.settings.seed,
                "customers": len(data["customers"]),
                "orders": len(data["orders"]),
                "subscriptions": len(data["subscriptions"]),
                "faults": len(self.faults.rules()),
            }

    # === ROUTES === #

    def _api_routes(self):
        router = Router()
        add = router.add
        add("GET", rf"^/{_TENANT}/v2\.0/\.well-known/openid-configuration$", self._openid)
        add("GET", rf"^/{_TENANT}/oauth2/v2\.0/authorize$", self._authorize)
        add("POST", rf"^/{_TENANT}/oauth2/v2\.0/token$", self._token)
        add("GET", rf"^/{_TENANT}/discovery/v2\.0/keys$", lambda request: Reply(body={"keys": []}))
        add("GET", r"^/v1/products$", self._products, "api")
        add("GET", _PRODUCT + "$", self._product, "api")
        add("GET", _PRODUCT + "/skus$", self._skus, "api")
        add("GET", _SKU + "$", self._sku, "api")
        add("GET", _SKU + "/availabilities$", self._availabilities, "api")
        add("GET", _SKU + "/availabilities/(?P<availability>[^/]+)$", self._availability, "api")
        add(
            "GET",
            r"^/v1\.0/sales/pricesheets\(Market='(?P<market>[^']*)',"
            r"PricesheetView='(?P<view>[^']*)'\)/\$value$",
            self._pricesheet,
            "pricesheet",
        )
        add("GET", r"^/v1/customers$", self._customers, "api")
        add("POST", r"^/v1/customers$", self._create_customer, "api")
        add("GET", _CUSTOMER + "$", self._customer, "api")
        add("POST", _CUSTOMER + "/carts$", self._create_cart, "api")
        add("GET", _CUSTOMER + "/carts/(?P<cart>[^/]+)$", self._get_cart, "api")
        add("PUT", _CUSTOMER + "/carts/(?P<cart>[^/]+)$", self._update_cart, "api")
        add("POST", _CUSTOMER + "/carts/(?P<cart>[^/]+)/checkout$", self._checkout, "api")
        add("GET", _CUSTOMER + "/orders$", self._orders, "api")
        add("GET", _CUSTOMER + "/orders/(?P<order>[^/]+)$", self._order, "api")
        add("PATCH", _CUSTOMER + "/orders/(?P<order>[^/]+)$", self._patch_order, "api")
        add(
            "GET",
            _CUSTOMER + "/orders/(?P<order>[^/]+)/provisioningstatus$",
            self._provisioning_status,
            "api",
        )
        add("GET", _CUSTOMER + "/subscriptions$", self._subscriptions, "api")
        add("GET", _CUSTOMER + "/subscriptions/(?P<subscription>[^/]+)$", self._subscription, "api")
        add(
            "PATCH",
            _CUSTOMER + "/subscriptions/(?P<subscription>[^/]+)$",
            self._patch_subscription,
            "api",
        )
        add(
            "GET",
            _CUSTOMER + "/subscriptions/(?P<subscription>[^/]+)/operations/"
            "(?P<operation>[^/]+)$",
            self._subscription_operation,
            "api",
        )
        add("GET", _CUSTOMER + "/entitlements$", self._entitlements, "api")
        return router

    def _admin_routes(self):
        router = Router()
        add = router.add
        add("GET", r"^/admin/health$", lambda request: Reply(body=self.health()))
        add("POST", r"^/admin/reset$", lambda request: Reply(body=self.reset()))
        add("GET", r"^/admin/faults$", lambda request: Reply(body=self.faults.rules()))
        add("POST", r"^/admin/faults$", self._admin_set_faults)
        add("DELETE", r"^/admin/faults$", self._admin_clear_faults)
        add("GET", r"^/admin/settings$", lambda request: Reply(body=self.settings.live_values()))
        add("POST", r"^/admin/settings$", self._admin_settings)
        add("POST", r"^/admin/settings/reset$", lambda request: Reply(body=self.reset_settings()))
        add("GET", r"^/admin/customers$", lambda request: Reply(body=self.customers))
        add("POST", r"^/admin/customers$", self._admin_add_customer)
        add("GET", r"^/admin/customers/(?P<tenant>[^/]+)/orders$", self._admin_orders)
        add(
            "POST",
            r"^/admin/refresh-tokens$",
            lambda request: Reply(201, {"refresh_token": self.issue_refresh_token()}),
        )
        add("POST", r"^/admin/refresh-tokens/revoke$", self._admin_revoke)
        add("POST", r"^/admin/access-tokens/expire$", self._admin_expire_tokens)
        add("POST", r"^/admin/clock$", self._admin_clock)
        add("GET", r"^/admin/requests$", lambda request: Reply(body=self.requests_log()))
        add("DELETE", r"^/admin/requests$", self._admin_clear_requests)
        add("GET", r"^/admin/catalogue/changes$", self._admin_changes)
        return router

    # === TOKEN SERVICE HANDLERS === #

    def _openid(self, request):
        tenant = request.params["tenant"]
        if not self.tokens.known_tenant(tenant):
            return Reply(
                400,
                {
                    "error": "invalid_tenant",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                },
            )
        return Reply(body=self.tokens.openid_configuration(tenant))

    def _authorize(self, request):
        location = self.tokens.authorize(request.params["tenant"], request.query)
        return Reply(302, None, {"Location": location})

    def _token(self, request):
        basic = None
        header = request.headers.get("Authorization") or ""
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header[6:].strip()).decode()
            client_id, _, secret = decoded.partition(":")
            basic = (unquote_plus(client_id), unquote_plus(secret))
        answer = self.tokens.token(request.params["tenant"], request.form(), basic)
        return Reply(body=answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # === CATALOGUE HANDLERS === #

    def _country(self, request):
        country = (request.arg("country") or "").upper()
        if not country:
            raise invalid("The country query parameter is required.")
        if country not in MARKETS:
            raise invalid(f"Country {country} is not supported.")
        return country

    def _products(self, request):
        country = self._country(request)
        view = request.arg("targetView") or ""
        if view.lower() not in ("software", "softwaresubscriptions", "softwareperpetual"):
            raise invalid(
                "targetView must be Software, SoftwareSubscriptions or "
                "SoftwarePerpetual in this simulator."
            )
        items = [
            product_json(product, country, request.locale)
            for product in self.catalogue.products(country, view)
        ]
        return Reply(body=collection(items, f"/products?country={country}&targetView={view}"))

    def _listed_product(self, request, country):
        product = self.catalogue.product(request.params["product"].upper())
        month = self.catalogue.month
        if product is None or not any(
            sku.present(month) and country in sku.countries for sku in product.skus
        ):
            raise not_found(f"Product {request.params['product']} was not found in {country}.")
        return product

    def _listed_sku(self, request, country):
        product = self._listed_product(request, country)
        sku = self.catalogue.sku(product.id, request.params["sku"].upper())
        if sku is None or not sku.present(self.catalogue.month) or country not in sku.countries:
            raise not_found(
                f"SKU {request.params['sku']} of {product.id} was not found in " f"{country}."
            )
        return sku

    def _product(self, request):
        country = self._country(request)
        return Reply(
            body=product_json(self._listed_product(request, country), country, request.locale)
        )

    def _skus(self, request):
        country = self._country(request)
        product = self._listed_product(request, country)
        month = self.catalogue.month
        items = [
            sku_json(sku, country, request.locale)
            for sku in product.skus
            if sku.present(month) and country in sku.countries
        ]
        return Reply(body=collection(items, f"/products/{product.id}/skus?country={country}"))

    def _sku(self, request):
        country = self._country(request)
        return Reply(body=sku_json(self._listed_sku(request, country), country, request.locale))

    def _availabilities(self, request):
        country = self._country(request)
        sku = self._listed_sku(request, country)
        items = [availability_json(self.catalogue, sku, country)]
        return Reply(
            body=collection(
                items, f"/products/{sku.product_id}/skus/{sku.id}/availabilities?country={country}"
            )
        )

    def _availability(self, request):
        country = self._country(request)
        sku = self._listed_sku(request, country)
        body = availability_json(self.catalogue, sku, country)
        if request.params["availability"].upper() != body["id"]:
            raise not_found(f"Availability {request.params['availability']} was not found.")
        body["product"] = product_json(sku.product, country, request.locale)
        body["sku"] = sku_json(sku, country, request.locale)
        return Reply(body=body)

    # === PRICE SHEET === #

    def _pricesheet(self, request):
        market = request.params["market"].upper()
        if market not in MARKETS:
            raise invalid(f"Market {market} is not supported.")
        if request.params["view"].lower() != "software":
            raise invalid("Only PricesheetView='software' is simulated.")
        timeline = (request.arg("timeline") or "current").lower()
        if timeline not in pricesheet.TIMELINES:
            raise invalid("timeline must be current, history or future.")
        current = month_start(utc_from_epoch(self.state.now()))
        window = _month_window(request.arg("month"))
        filename = f"software_{market}_{current:%Y%m}.csv"
        return Reply(
            200,
            chunks=self._sheet_chunks(market, current, timeline, window),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def prerender_price_sheets(self, markets=None):
        """Render the current price sheets of ``markets`` (default: all) ahead of requests.

        Partner Center serves a month's price sheets as prepared files; the simulator renders
        one on its first request and replays it after. Benchmarks call this before timing, so
        that the rendering, the simulator's own cost, is not counted as the client's.
        """
        current = month_start(utc_from_epoch(self.state.now()))
        for market in markets or MARKETS:
            for _chunk in self._sheet_chunks(market.upper(), current, "current", None):
                pass

    def _sheet_chunks(self, market, current, timeline, window):
        """The sheet's CSV chunks: replayed when rendered before, else rendered while sent.

        A sheet depends on the market, the request, the simulated month and clock: all in the
        key, so a new month or a moved clock renders anew. A sheet is kept once fully sent.
        """
        key = (
            market,
            timeline,
            window,
            current,
            self.catalogue.month,
            self.settings.pricesheet_bom,
        )
        rendered = self._sheets.get(key)
        if rendered is not None:
            return iter(rendered)
        rows = pricesheet.iter_rows(self.catalogue, market, current, timeline, window=window)
        return self._rendering(
            key, pricesheet.iter_csv_chunks(rows, bom=self.settings.pricesheet_bom)
        )

    def _rendering(self, key, chunks):
        done = []
        for chunk in chunks:
            done.append(chunk)
            yield chunk
        with self._sheets_lock:
            if len(self._sheets) >= SHEETS_KEPT:
                self._sheets.pop(next(iter(self._sheets)))
            self._sheets[key] = done

    # === COMMERCE HANDLERS === #

    def _customers(self, request):
        continuation = None
        if (request.arg("seekOperation") or "").lower() == "next":
            continuation = request.headers.get("MS-ContinuationToken")
            if not continuation:
                raise invalid("seekOperation=Next needs the MS-ContinuationToken header.")
        return Reply(
            body=self.commerce.list_customers(
                request.arg("filter"), request.arg("size"), continuation
            )
        )

    def _create_customer(self, request):
        return Reply(201, self.commerce.create_customer(request.json()))

    def _customer(self, request):
        return Reply(
            body=self.commerce.customer_json(self.commerce.customer(request.params["tenant"]))
        )

    def _create_cart(self, request):
        return Reply(201, self.commerce.create_cart(request.params["tenant"], request.json()))

    def _get_cart(self, request):
        return Reply(body=self.commerce.get_cart(request.params["tenant"], request.params["cart"]))

    def _update_cart(self, request):
        return Reply(
            body=self.commerce.update_cart(
                request.params["tenant"], request.params["cart"], request.json()
            )
        )

    def _checkout(self, request):
        return Reply(201, self.commerce.checkout(request.params["tenant"], request.params["cart"]))

    def _orders(self, request):
        return Reply(body=self.commerce.list_orders(request.params["tenant"]))

    def _order(self, request):
        return Reply(
            body=self.commerce.get_order(request.params["tenant"], request.params["order"])
        )

    def _patch_order(self, request):
        return Reply(
            body=self.commerce.patch_order(
                request.params["tenant"], request.params["order"], request.json()
            )
        )

    def _provisioning_status(self, request):
        return Reply(
            body=self.commerce.provisioning_status(
                request.params["tenant"], request.params["order"]
            )
        )

    def _subscriptions(self, request):
        return Reply(
            body=self.commerce.list_subscriptions(
                request.params["tenant"], request.arg("order_id") or request.arg("orderId")
            )
        )

    def _subscription(self, request):
        return Reply(
            body=self.commerce.get_subscription(
                request.params["tenant"], request.params["subscription"]
            )
        )

    def _patch_subscription(self, request):
        accepted = request.fault is not None and request.fault.kind == "accepted"
        status, body, location = self.commerce.patch_subscription(
            request.params["tenant"],
            request.params["subscription"],
            request.json(),
            accepted_delay=request.fault.delay if accepted else None,
        )
        headers = {"Location": f"{self.api_url}{location}", "Retry-After": "1"} if location else {}
        return Reply(status, body, headers)

    def _subscription_operation(self, request):
        return Reply(
            body=self.commerce.operation_json(
                request.params["tenant"],
                request.params["subscription"],
                request.params["operation"],
            )
        )

    def _entitlements(self, request):
        show_expiry = (request.arg("showExpiry") or "").lower() == "true"
        return Reply(
            body=self.commerce.entitlements(
                request.params["tenant"], request.arg("entitlementType"), show_expiry
            )
        )

    # === ADMIN HANDLERS === #

    def _admin_set_faults(self, request):
        body = request.json()
        rules = body.get("rules", body) if isinstance(body, dict) else body
        try:
            if (request.arg("append") or "").lower() in ("1", "true"):
                applied = self.add_faults(rules)
            else:
                applied = self.set_faults(rules)
        except (TypeError, ValueError) as error:
            raise invalid(f"Bad fault rule: {error}") from None
        return Reply(body=applied)

    def _admin_clear_faults(self, request):
        self.clear_faults()
        return Reply(204)

    def _admin_settings(self, request):
        try:
            return Reply(body=self.update_settings(**request.json()))
        except (TypeError, ValueError) as error:
            raise invalid(str(error)) from None

    def _admin_add_customer(self, request):
        body = request.json()
        if not body.get("company_name") or not body.get("country"):
            raise invalid("company_name and country are required.")
        return Reply(
            201,
            self.add_customer(
                body["company_name"],
                body["country"].upper(),
                body.get("tenant_id"),
                body.get("domain"),
                body.get("culture"),
            ),
        )

    def _admin_orders(self, request):
        return Reply(body=self.commerce.all_orders(request.params["tenant"]))

    def _admin_revoke(self, request):
        body = request.json() if request.body else {}
        return Reply(body={"revoked": self.revoke_refresh_tokens(body.get("refresh_token"))})

    def _admin_expire_tokens(self, request):
        self.expire_access_tokens()
        return Reply(204)

    def _admin_clock(self, request):
        seconds = request.json().get("advance", 0)
        return Reply(body={"now": iso_timestamp(self.advance_clock(float(seconds)))})

    def _admin_clear_requests(self, request):
        self.requests_log(clear=True)
        return Reply(204)

    def _admin_changes(self, request):
        month = request.arg("month")
        try:
            month = int(month) if month is not None else self.settings.month
        except ValueError:
            raise invalid("month must be an integer.") from None
        return Reply(body=self.catalogue.changes(month))


def _as_list(rules):
    if isinstance(rules, (str, dict)):
        return [rules]
    return list(rules or [])


def _month_window(text):
    """``YYYYMM`` -> (start, end) datetimes of that calendar month, or None."""
    if not text:
        return None
    if len(text) != 6 or not text.isdigit():
        raise invalid("month must be YYYYMM.")
    try:
        start = datetime(int(text[:4]), int(text[4:]), 1, tzinfo=timezone.utc)
    except ValueError:
        raise invalid("month must be YYYYMM.") from None
    return start, add_months(start, 1)


def _coerce(current, value):
    """Give a live setting the type of its current value (JSON may send "true" or 2.0)."""
    if isinstance(current, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    return value
