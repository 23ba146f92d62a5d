"""Connection settings of a Partner Center client."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_API_BASE_URL = "https://api.partnercenter.microsoft.com/v1"
DEFAULT_PRICESHEET_BASE_URL = "https://api.partner.microsoft.com/v1.0/sales"
DEFAULT_LOGIN_HOST = "https://login.microsoftonline.com"
DEFAULT_API_SCOPE = "https://api.partnercenter.microsoft.com/.default"
DEFAULT_PRICESHEET_SCOPE = "https://api.partner.microsoft.com/.default"

AUTH_APP_USER = "app_user"  # secure application model: refresh token of a consenting admin
AUTH_APP_ONLY = "app_only"  # client credentials: no price sheets, fewer operations
AUTH_MODES = (AUTH_APP_USER, AUTH_APP_ONLY)

# Hosts whose authority msal may validate through Microsoft's instance discovery.
MICROSOFT_LOGIN_HOSTS = (
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
)

_SECRET_FIELDS = ("client_secret", "refresh_token")


@dataclass(frozen=True, repr=False)
class ClientConfig:
    """Everything a :class:`~partner_center.client.PartnerCenterClient` needs.

    Timeouts and waits are in seconds. ``deadline_seconds`` bounds one logical call, retries and
    waits included. ``ca_file`` is the PEM bundle to trust (the simulator's self-signed
    certificate); ``None`` trusts the usual public authorities.

    ``job_mode`` is for background workers that run one step per job and must never block: the
    client then never sleeps. What it would have waited for (429, 409, 5xx, lost connections, an
    order not listed yet, a 202 update still running) is raised at once as a
    :class:`~partner_center.errors.RetryableError` whose ``retry_after`` says when to run the step
    again. Idempotency is unchanged: repeat the step with the same key and it sends the same
    ``MS-RequestId``.
    """

    tenant: str = ""
    client_id: str = ""
    client_secret: str = ""
    refresh_token: str = ""
    auth_mode: str = AUTH_APP_USER
    api_base_url: str = DEFAULT_API_BASE_URL
    pricesheet_base_url: str = DEFAULT_PRICESHEET_BASE_URL
    authority: str = ""  # empty: https://login.microsoftonline.com/<tenant>
    api_scope: str = DEFAULT_API_SCOPE
    pricesheet_scope: str = DEFAULT_PRICESHEET_SCOPE
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    deadline_seconds: float = 300.0
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    conflict_wait_seconds: float = 120.0  # documented wait after a 409 during a renewal
    poll_interval: float = 2.0  # waiting for a 202 operation or an order to be listed
    order_visibility_timeout: float = 60.0  # how long place_order looks for a submitted order
    ca_file: str | None = None
    proxies: dict | None = field(default=None, compare=False)
    locale: str = "en-US"
    job_mode: bool = False

    def __post_init__(self):
        if self.auth_mode not in AUTH_MODES:
            raise ValueError(f"auth_mode must be one of {AUTH_MODES}, not {self.auth_mode!r}")
        if self.max_retries < 0:
            raise ValueError("max_retries cannot be negative")

    def __repr__(self) -> str:
        shown = []
        for config_field in dataclasses.fields(self):
            value = getattr(self, config_field.name)
            if config_field.name in _SECRET_FIELDS:
                value = "***" if value else ""
            shown.append(f"{config_field.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    __str__ = __repr__

    @property
    def authority_url(self) -> str:
        """The OAuth authority: the configured one, else Microsoft's login for the tenant."""
        if self.authority:
            return self.authority.rstrip("/")
        return f"{DEFAULT_LOGIN_HOST}/{self.tenant or 'organizations'}"

    @property
    def uses_microsoft_login(self) -> bool:
        """Whether msal may ask Microsoft's instance discovery about the authority."""
        return urlsplit(self.authority_url).hostname in MICROSOFT_LOGIN_HOSTS

    @property
    def verify(self) -> str | bool:
        """The ``verify`` value for requests: the CA bundle, else the default trust store."""
        return self.ca_file or True

    def replace(self, **changes) -> ClientConfig:
        """A copy with some settings changed (the config itself is immutable)."""
        return dataclasses.replace(self, **changes)

    def for_job(self) -> ClientConfig:
        """A copy for a background job: nothing waits, retryable failures are raised at once."""
        return self.replace(job_mode=True)

    @classmethod
    def for_simulator(cls, base_url: str, ca_file: str | None, **settings) -> ClientConfig:
        """Settings that point every endpoint at a local simulator.

        :param base_url: the simulator's root, e.g. ``https://127.0.0.1:8443``
        :param ca_file: the simulator's self-signed certificate
        :param settings: any other field; ``authority`` defaults to ``<base_url>/<tenant>``
        """
        root = base_url.rstrip("/")
        tenant = settings.get("tenant") or "partner-tenant"
        settings.setdefault("tenant", tenant)
        settings.setdefault("api_base_url", f"{root}/v1")
        settings.setdefault("pricesheet_base_url", f"{root}/v1.0/sales")
        settings.setdefault("authority", f"{root}/{tenant}")
        return cls(ca_file=ca_file, **settings)
