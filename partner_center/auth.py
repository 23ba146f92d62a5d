"""Access tokens for Partner Center, through msal.

Two audiences are used: the Partner Center API and the price-sheet host, each with its own access
token. In App+User mode (secure application model) both come from the consenting admin's refresh
token; every redemption returns a new refresh token, which is used for the next redemption and
handed to ``on_refresh_token`` so the caller can persist it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import msal
import requests

from .config import AUTH_APP_ONLY, ClientConfig
from .errors import AuthenticationError, ReconsentRequired, TransientError

_logger = logging.getLogger(__name__)

# Renew an access token this long before it expires, so that a call never starts with a token
# about to lapse.
EXPIRY_MARGIN_SECONDS = 300.0

# OAuth errors that mean the refresh token itself is dead: only a new consent helps.
_RECONSENT_ERRORS = {"invalid_grant", "interaction_required", "consent_required"}


class TimeoutSession(requests.Session):
    """A requests session with a default timeout, which msal never passes itself."""

    def __init__(self, timeout: float | tuple[float, float]):
        super().__init__()
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, **kwargs)


def build_session(config: ClientConfig) -> TimeoutSession:
    """A session that trusts ``config.ca_file`` and ignores proxy/CA environment variables.

    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` would otherwise override ``verify``.
    """
    session = TimeoutSession((config.connect_timeout, config.read_timeout))
    session.trust_env = False
    session.verify = config.verify
    if config.proxies:
        session.proxies.update(config.proxies)
    return session


class TokenProvider:
    """Hands out access tokens per scope, redeeming the refresh token when needed.

    :param config: the connection settings
    :param on_refresh_token: called with every new refresh token (persist it)
    :param http_session: the session msal talks through (default: one built from ``config``)
    :param clock: monotonic clock, in seconds
    """

    def __init__(
        self,
        config: ClientConfig,
        on_refresh_token: Callable[[str], None] | None = None,
        http_session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._config = config
        self._on_refresh_token = on_refresh_token
        self._http_session = http_session or build_session(config)
        self._clock = clock
        self._refresh_token = config.refresh_token
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> (token, renew after)
        self._lock = threading.RLock()
        self._app: msal.ConfidentialClientApplication | None = None

    # === PUBLIC === #

    def get_token(self, scope: str) -> str:
        """A valid access token for ``scope``, from memory or freshly acquired."""
        with self._lock:
            cached = self._tokens.get(scope)
            if cached and cached[1] > self._clock():
                return cached[0]
            token, expires_in = self._acquire(scope)
            # Renew ahead of expiry; short-lived tokens are used for half their life at least.
            usable_for = max(expires_in - EXPIRY_MARGIN_SECONDS, expires_in / 2)
            self._tokens[scope] = (token, self._clock() + usable_for)
            return token

    def invalidate(self, scope: str) -> None:
        """Forget the access token of ``scope`` (after a 401), so the next call gets a new one."""
        with self._lock:
            self._tokens.pop(scope, None)

    @property
    def refresh_token(self) -> str:
        """The refresh token that the next redemption will use."""
        return self._refresh_token

    # === ACQUISITION === #

    def _acquire(self, scope: str) -> tuple[str, float]:
        if self._config.auth_mode == AUTH_APP_ONLY:
            if scope == self._config.pricesheet_scope:
                raise AuthenticationError(
                    "Price sheets need App+User authentication (a consenting admin's refresh "
                    "token); the connection uses App-only credentials."
                )
            result = self._call_msal(lambda app: app.acquire_token_for_client(scopes=[scope]))
        else:
            if not self._refresh_token:
                raise ReconsentRequired(
                    "No Partner Center refresh token is stored: a Partner Center admin must "
                    "consent to the application and store the refresh token."
                )
            result = self._call_msal(
                lambda app: app.acquire_token_by_refresh_token(self._refresh_token, scopes=[scope])
            )
        self._raise_for_result(result)
        self._rotate_refresh_token(result.get("refresh_token"))
        _logger.debug("Acquired a Partner Center access token for scope %s", scope)
        return result["access_token"], float(result.get("expires_in") or 3600)

    def _call_msal(self, acquire: Callable[[msal.ConfidentialClientApplication], dict]) -> dict:
        try:
            return acquire(self._application())
        except requests.RequestException as exc:
            raise TransientError(
                f"The sign-in service could not be reached ({type(exc).__name__})."
            ) from exc
        except ValueError as exc:
            # msal raises ValueError when the authority's configuration cannot be read.
            raise AuthenticationError(
                "The sign-in authority could not be used: check the tenant and authority URL "
                f"({self._config.authority_url})."
            ) from exc

    def _application(self) -> msal.ConfidentialClientApplication:
        # Built lazily: msal reads the authority's OpenID configuration when it is created.
        if self._app is None:
            config = self._config
            self._app = msal.ConfidentialClientApplication(
                config.client_id,
                client_credential=config.client_secret,
                authority=config.authority_url,
                http_client=self._http_session,
                token_cache=msal.TokenCache(),
                instance_discovery=config.uses_microsoft_login,
            )
        return self._app

    def _raise_for_result(self, result: dict) -> None:
        error = result.get("error")
        if not error and result.get("access_token"):
            return
        codes = ", ".join(f"AADSTS{code}" for code in result.get("error_codes") or [])
        reason = f"{error or 'no access token'}{f' ({codes})' if codes else ''}"
        correlation_id = result.get("correlation_id")
        if error in _RECONSENT_ERRORS:
            raise ReconsentRequired(
                f"{ReconsentRequired.default_description} Sign-in answered: {reason}.",
                correlation_id=correlation_id,
            )
        raise AuthenticationError(
            f"{AuthenticationError.default_description} Sign-in answered: {reason}.",
            correlation_id=correlation_id,
        )

    def _rotate_refresh_token(self, new_token: str | None) -> None:
        if not new_token or new_token == self._refresh_token:
            return
        self._refresh_token = new_token
        if self._on_refresh_token is None:
            return
        try:
            self._on_refresh_token(new_token)
        except Exception:  # The token is valid in memory; the caller must learn it failed.
            _logger.exception("Could not persist the new Partner Center refresh token")
