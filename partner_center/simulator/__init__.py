"""Partner Center simulator: a local HTTPS stand-in for Microsoft Partner Center.

It serves the parts of Partner Center the suite uses, an Azure AD look-alike token service
(msal works against it unchanged), and the software price sheets, so the whole suite runs end
to end with no Microsoft account, and tests can inject faults. Plain Python, no Odoo
(werkzeug's WSGI server; ``trustme`` for the certificates). JSON answers have the shapes of
Microsoft's examples (``shared/reference/partner-center-samples``).

Running it
==========
::

    python -m partner_center.simulator --port 8770 [--seed N] [--state FILE] [--sku-count N]
        [--month N] [--order-complete-delay S] [--fulfilment-delay S] [--order-list-lag S]
        [--cert-dir DIR] [--host H] [--fault SPEC ...]

It prints its base URL, the CA file to trust and the demo credentials, and stops cleanly on
SIGINT/SIGTERM. A private CA, ``ca.pem``, signs the server certificate (issued at each start
for ``127.0.0.1``/``localhost``); the CA is kept in ``--cert-dir`` (default:
``partner-center-simulator-certs`` next to ``--state``, else ``<tmp>/partner-center-simulator``)
and reused across restarts, so a process that trusts ``ca.pem`` keeps trusting it. With
``requests``, pass ``verify=<ca.pem>`` and ``trust_env=False`` (``REQUESTS_CA_BUNDLE`` would
override ``verify`` otherwise).

In Python::

    from partner_center.simulator import Simulator, SimulatorSettings
    sim = Simulator(SimulatorSettings(seed=1, sku_count=60, order_complete_delay=0,
                                      fulfilment_delay=0))
    sim.start()
    sim.base_url, sim.api_url, sim.pricesheet_url, sim.authority, sim.ca_file
    sim.client_id, sim.client_secret, sim.initial_refresh_token, sim.customers
    sim.stop()

Control methods (each also an admin endpoint, see below): ``set_faults(rules)``,
``add_faults(rules)``, ``clear_faults()``, ``update_settings(**live)``, ``reset_settings()``,
``reset()`` (test baseline: no faults, initial settings, real clock, initial refresh token valid
again, empty request log), ``advance_clock(seconds)``, ``all_orders(tenant)``,
``add_customer(name, country)``, ``issue_refresh_token()``, ``revoke_refresh_tokens([token])``,
``expire_access_tokens()``, ``requests_log([clear])``, ``health()``. ``sim.catalogue`` is the
``SimCatalogue`` (see below). ``tests/conftest.py`` has the shared ``simulator`` fixture.

Connection settings for the suite
=================================
==================  ===================================================================
API base            ``https://127.0.0.1:8770/v1``
Price-sheet base    ``https://127.0.0.1:8770/v1.0/sales``
Authority (msal)    ``https://127.0.0.1:8770/5e1c0a7e-0000-4c5a-9e00-00000000c5b0``
                    (pass ``instance_discovery=False`` to msal)
Partner tenant      ``5e1c0a7e-0000-4c5a-9e00-00000000c5b0`` (``simulated-csp.onmicrosoft.com``)
Client id           ``5e1c0a7e-a990-4c11-8e17-00000000a991``
Client secret       ``sim-client-secret-not-for-production``
Refresh token       ``0.SIM.initial-refresh-token.AAAAAAAAAAAAAAAA`` (first one; each redemption
                    returns a new one, the old one stays valid as in AAD unless
                    ``single_use_refresh_tokens``; revoked ones answer ``invalid_grant``)
Scopes              ``https://api.partnercenter.microsoft.com/.default`` (API, App-only or
                    App+User), ``https://api.partner.microsoft.com/.default`` (price sheets,
                    App+User only)
==================  ===================================================================

Access tokens last ``access_token_lifetime`` (3599) seconds of real time (msal caches by real
time; ``advance_clock`` does not expire them: ``expire_access_tokens`` does). The authorize
endpoint answers at once with a redirect carrying a code, for an interactive-consent flow.

Demo customers (fixed tenant ids, whatever the seed)
====================================================
======================================  ======================  =======  ========
tenant id                               company                 country  currency
======================================  ======================  =======  ========
0c5a0001-5e1c-4a11-9000-00000000c001    Contoso Ltd             US       USD
0c5a0002-5e1c-4a11-9000-00000000c002    Fabrikam UK Ltd         GB       GBP
0c5a0003-5e1c-4a11-9000-00000000c003    Tailspin Toys GmbH      DE       EUR
0c5a0004-5e1c-4a11-9000-00000000c004    Wingtip Toys SARL       FR       EUR
0c5a0005-5e1c-4a11-9000-00000000c005    Northwind Traders AE    GR       EUR
0c5a0006-5e1c-4a11-9000-00000000c006    Adventure Works Ltd     IL       ILS
======================================  ======================  =======  ========

Markets: US, GB, DE, FR, GR, IL (plus IT, ES, NL, CH). Price sheets: US in USD; GB in GBP and
EUR; DE/FR/GR/IT/ES/NL in EUR, GBP, CHF, SEK, NOK, DKK; CH in CHF and EUR; IL in ILS.

Catalogue
=========
Deterministic from ``seed`` and ``sku_count`` (up to 5,000 SKUs, generated in well under a
second). Software subscriptions (terms P1Y annual; many also P3Y annual and P3Y triennial) and
perpetual licences (``one_time``, no term); ids ``DG7GMGF0XXXX``/``0001``. About a fifth of the
SKUs are missing from 1-3 markets; prices differ per market; a quarter of the products have
titles and descriptions in de-DE, fr-FR, el-GR and he-IL (sent ``X-Locale``). Month ``N``
(``--month``, ``POST /admin/settings``) applies ``N`` monthly updates: each retires SKUs (half
vanish, half stay listed with ``isPurchasable: false``), adds SKUs, reprices some, and every
availability id changes (a stale one at cart creation answers 404 / 400019). Ask
``sim.catalogue`` what to expect: ``skus_for(country)``, ``price(pid, sid, term, billing, market,
currency)``, ``highest_price(...)``, ``changes(month)``, ``catalog_item_id(pid, sid)``.

Price sheets: CSV, streamed chunked, ``Content-Encoding: deflate`` when the request accepts it.
Several rows per SKU (a superseded price, next month's price with ``timeline=future``, the ended
row of a SKU retired this month): take the row whose EffectiveStart/EndDate cover the day.
Perpetual SKUs may also have ``Segment = Education`` rows: keep ``Commercial``. ``UnitPrice`` is
for the whole term; numbers drop trailing zeros (``115.2``). ``month=YYYYMM`` keeps only rows
effective during that month.

Customers
=========
``POST /v1/customers`` creates a customer (201, the Customer resource plus a one-time
``userCredentials``): the documented body ``{companyProfile{domain, companyName?,
organizationRegistrationNumber?}, billingProfile{email, culture, language, companyName,
defaultAddress{country, city, state, addressLine1, addressLine2?, postalCode, firstName, lastName,
phoneNumber}}}``, keys in any case. Missing required fields answer 400 / 400001 listing them in
``description`` and ``data`` (``phoneNumber`` and ``organizationRegistrationNumber`` are required
only in the countries Microsoft lists); a domain any customer has answers 409 / 600011 (the
simulator's code: Microsoft documents none); the country must be a simulated market. The same
``MS-RequestId`` replays the first answer (the same customer). Created customers are kept in the
state file like the demo ones. ``GET /v1/customers`` lists customers without their billing profile
(as Partner Center does); ``?filter={"Field":"Domain"|"CompanyName","Value":"...","Operator":
"starts_with"}`` (URL-encoded) searches, case-insensitively; ``?size=N`` pages through
``links.next`` and its ``MS-ContinuationToken`` header.

Orders and provisioning
=======================
Carts validate ``catalogItemId`` against the current availability (stale → 404/400019; not sold
in the customer's country → 400/800070). Checkout makes one order per billing cycle; it is
idempotent per ``MS-RequestId`` (the same id replays the first answer; a new id on a submitted
cart → 400/800065; a checkout still running → 409/800064). Line-item fields the client sends
(``friendlyName``, ``provisioningContext``, ``attributes``) come back on the order's lines.
Orders are ``pending`` for ``order_complete_delay`` s (default 3), then ``completed``; lines are
fulfilled ``fulfilment_delay`` s (default 600) after the order: ``subscriptionId`` on the line,
the subscription readable, and the entitlement's ``expiryDate`` appear only then; provisioning
status goes PrefulfillmentPending → Unfulfilled → Fulfilled (the real API may send lower case:
compare case-insensitively). Order line ``offerId`` is ``pid:sid:aid:term`` for subscriptions,
``pid:sid:aid`` for perpetual lines (``termDuration`` ""). ``GET .../orders`` hides orders younger
than ``order_list_lag`` s. A perpetual licence's entitlement appears at fulfilment; its
"Perpetual ID" is the entitlement's ``referenceOrder`` (display form
``<order alternateId>-<lineItemId>``). Subscriptions PATCH takes the FULL object: a body without
``autoRenewEnabled`` turns auto-renew off. Cancellation: ``status: "deleted"`` within
``cancellationAllowedUntilDate`` (7 days), or ``PATCH .../orders/{id}`` ``{"status": "cancelled"}``
(perpetual: 30 days); later → 400/900117. Simulator time can be moved on with ``advance_clock``.
Errors carry ``{"code", "description", "data": [], "source": "PartnerCenter"}`` and echo
``MS-CorrelationId``.

Faults and admin
================
``POST /admin/reset``; ``POST /admin/faults`` (JSON list of rules, replaces; ``?append=1`` adds),
``GET``/``DELETE
/admin/faults``; ``POST /admin/settings`` ``{month, order_complete_delay, fulfilment_delay,
order_list_lag, checkout_processing_delay, access_token_lifetime, single_use_refresh_tokens,
pricesheet_bom}``; ``POST /admin/settings/reset``; ``GET /admin/customers/{tenant}/orders`` (no
lag); ``POST /admin/customers`` ``{company_name, country[, tenant_id]}``; ``POST
/admin/refresh-tokens`` (new consent) and ``/admin/refresh-tokens/revoke``; ``POST
/admin/access-tokens/expire``; ``POST /admin/clock`` ``{"advance": seconds}``; ``GET|DELETE
/admin/requests`` (request log); ``GET /admin/catalogue/changes?month=N``; ``GET /admin/health``.
Admin endpoints need no token and answer loopback clients only. Each has a ``Simulator`` method.

Fault rules and the compact ``--fault`` syntax are described in
``partner_center.simulator.faults`` (``TARGET:KIND[:PROBABILITY[:COUNT]]``, e.g.
``checkout:drop_after_commit:0.3``, ``orders:429/30::2``, ``token:503``, ``products:slow=4``).

State
=====
``--state FILE`` keeps customers, carts, orders, subscriptions, refresh tokens (hashed),
idempotency answers and the clock offset across restarts (atomic rewrite after each change).
"""

from .catalogue import SimCatalogue
from .core import Simulator
from .faults import FaultRule, parse_fault_spec
from .settings import DEMO_CUSTOMERS, SimulatorSettings

__all__ = [
    "DEMO_CUSTOMERS",
    "FaultRule",
    "SimCatalogue",
    "Simulator",
    "SimulatorSettings",
    "parse_fault_spec",
]
