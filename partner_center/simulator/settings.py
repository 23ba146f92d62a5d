"""Simulator settings and the fixed demo identities (tenants, app credentials)."""

import dataclasses
from dataclasses import dataclass, field

# === DEMO IDENTITIES === #
# Fixed on purpose: Odoo demo data and docs refer to them. Do not derive them from the seed.
PARTNER_TENANT_ID = "5e1c0a7e-0000-4c5a-9e00-00000000c5b0"
PARTNER_DOMAIN = "simulated-csp.onmicrosoft.com"
DEMO_CLIENT_ID = "5e1c0a7e-a990-4c11-8e17-00000000a991"
# Demo credentials of a local test tool, published in the docs on purpose.
DEMO_CLIENT_SECRET = "sim-client-secret-not-for-production"  # noqa: S105
DEMO_REFRESH_TOKEN = "0.SIM.initial-refresh-token.AAAAAAAAAAAAAAAA"  # noqa: S105

# tenant_id, company_name, country, domain, culture
DEMO_CUSTOMERS = (
    ("0c5a0001-5e1c-4a11-9000-00000000c001", "Contoso Ltd", "US", "contoso-sim", "en-US"),
    ("0c5a0002-5e1c-4a11-9000-00000000c002", "Fabrikam UK Ltd", "GB", "fabrikam-sim", "en-GB"),
    ("0c5a0003-5e1c-4a11-9000-00000000c003", "Tailspin Toys GmbH", "DE", "tailspin-sim", "de-DE"),
    ("0c5a0004-5e1c-4a11-9000-00000000c004", "Wingtip Toys SARL", "FR", "wingtip-sim", "fr-FR"),
    (
        "0c5a0005-5e1c-4a11-9000-00000000c005",
        "Northwind Traders AE",
        "GR",
        "northwind-sim",
        "el-GR",
    ),
    (
        "0c5a0006-5e1c-4a11-9000-00000000c006",
        "Adventure Works Ltd",
        "IL",
        "adventureworks-sim",
        "he-IL",
    ),
)

# Settings that ``POST /admin/settings`` (and ``Simulator.update_settings``) may change live.
LIVE_SETTINGS = (
    "month",
    "order_complete_delay",
    "fulfilment_delay",
    "order_list_lag",
    "checkout_processing_delay",
    "access_token_lifetime",
    "single_use_refresh_tokens",
    "pricesheet_bom",
)


@dataclass
class SimulatorSettings:
    """Everything that shapes one simulator run.

    Delays are in seconds of simulator time (real time plus any ``advance_clock`` offset);
    a delay change applies to orders placed afterwards.
    """

    seed: int = 1
    sku_count: int = 300
    month: int = 0
    order_complete_delay: float = 3.0
    fulfilment_delay: float = 600.0
    order_list_lag: float = 0.0
    checkout_processing_delay: float = 0.0
    port: int = 0
    host: str = "127.0.0.1"
    state_file: str | None = None
    cert_dir: str | None = None
    cert_hosts: tuple = ()
    tls: bool = True
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    initial_refresh_token: str = DEMO_REFRESH_TOKEN
    partner_tenant_id: str = PARTNER_TENANT_ID
    access_token_lifetime: int = 3599
    refresh_token_lifetime: int = 90 * 24 * 3600
    # AAD keeps a redeemed refresh token valid; True makes each one single-use, which
    # catches clients that forget to persist the rotated token.
    single_use_refresh_tokens: bool = False
    pricesheet_bom: bool = False
    faults: list = field(default_factory=list)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def live_values(self):
        return {name: getattr(self, name) for name in LIVE_SETTINGS}
