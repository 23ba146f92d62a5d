"""An Azure AD look-alike token service that msal's ConfidentialClientApplication accepts.

Access tokens are opaque to clients but self-verifying here (HMAC over a small JSON claim set),
so they survive a simulator restart. Refresh tokens are random, stored by hash, rotate on every
redemption and can be revoked (then ``invalid_grant``, like AAD after consent is withdrawn).
Token lifetimes run on the real clock, not the simulator clock: msal caches tokens by real time,
and ``advance_clock`` is about orders and subscriptions, not about forcing re-authentication
(use ``expire_access_tokens`` for that).
"""

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from urllib.parse import urlencode

from .errors import CODE_UNAUTHORIZED, SimError
from .settings import PARTNER_DOMAIN
from .utils import iso_timestamp

API_RESOURCE = "https://api.partnercenter.microsoft.com"
PRICESHEET_RESOURCE = "https://api.partner.microsoft.com"
RESOURCES = (API_RESOURCE, PRICESHEET_RESOURCE)
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
ADMIN_USER_OID = "5e1c0a7e-0000-4000-a000-00000000ad01"
ADMIN_USERNAME = "admin@simulated-csp.onmicrosoft.com"
TENANT_ALIASES = ("common", "organizations")
AUTH_CODE_LIFETIME = 600
KIND_APP = "app"
KIND_USER = "user"


class TokenError(Exception):
    """An OAuth error answer (AAD's body shape, not Partner Center's)."""

    def __init__(self, status, error, description, aadsts):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.aadsts = aadsts

    def payload(self):
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.aadsts}: {self.description}",
            "error_codes": [self.aadsts],
            "timestamp": iso_timestamp(time.time()),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        }


def _b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(self, settings, state, base_url):
        """:param base_url: callable returning the simulator's base URL (known after bind)."""
        self.settings = settings
        self.state = state
        self._base_url = base_url
        self._codes = {}
        self._codes_lock = threading.Lock()
        secret = f"pc-sim:{settings.seed}:{settings.client_secret}:{settings.partner_tenant_id}"
        self._key = hashlib.sha256(secret.encode()).digest()
        with state.mutate() as data:
            data["refresh_tokens"].setdefault(
                _hash(settings.initial_refresh_token), self._new_record(settings.client_id)
            )

    def _new_record(self, client_id):
        return {
            "client_id": client_id,
            "issued": time.time(),
            "expires": time.time() + self.settings.refresh_token_lifetime,
            "revoked": False,
            "used": False,
        }

    def reinstate_initial_refresh_token(self):
        """Make the configured initial refresh token valid again (test baseline)."""
        with self.state.mutate() as data:
            data["refresh_tokens"][_hash(self.settings.initial_refresh_token)] = self._new_record(
                self.settings.client_id
            )

    # === DISCOVERY === #

    def known_tenant(self, tenant):
        return tenant.lower() in (
            self.settings.partner_tenant_id.lower(),
            PARTNER_DOMAIN,
            *TENANT_ALIASES,
        )

    def openid_configuration(self, tenant):
        base = f"{self._base_url()}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "jwks_uri": f"{self._base_url()}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": self.issuer(tenant),
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/openid/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nbf",
                "name",
                "oid",
                "tid",
                "preferred_username",
            ],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "simulator.local",
        }

    def issuer(self, tenant):
        return f"{self._base_url()}/{tenant}/v2.0"

    # === AUTHORIZATION CODE (interactive consent, answered at once) === #

    def authorize(self, tenant, query):
        """Consent screen stand-in: redirect straight back with a one-time code."""
        redirect_uri = query.get("redirect_uri")
        if query.get("client_id") != self.settings.client_id or not redirect_uri:
            raise TokenError(400, "invalid_request", "Unknown client or no redirect_uri.", 700016)
        code = "sim-code-" + secrets.token_urlsafe(24)
        with self._codes_lock:
            self._codes[code] = {
                "scope": query.get("scope", ""),
                "tenant": tenant,
                "expires": time.time() + AUTH_CODE_LIFETIME,
                "redirect_uri": redirect_uri,
            }
        answer = {"code": code, "session_state": str(uuid.uuid4())}
        if query.get("state"):
            answer["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{separator}{urlencode(answer)}"

    # === TOKEN ENDPOINT === #

    def token(self, tenant, form, basic_auth=None):
        """Answer ``POST /{tenant}/oauth2/v2.0/token``; raises TokenError."""
        if not self.known_tenant(tenant):
            raise TokenError(400, "invalid_request", f"Tenant '{tenant}' not found.", 90002)
        client_id, client_secret = basic_auth or (form.get("client_id"), form.get("client_secret"))
        if client_id != self.settings.client_id:
            raise TokenError(
                400,
                "unauthorized_client",
                f"Application with identifier '{client_id}' was not found.",
                700016,
            )
        if not hmac.compare_digest(str(client_secret or ""), self.settings.client_secret):
            raise TokenError(401, "invalid_client", "Invalid client secret provided.", 7000215)
        grant_type = form.get("grant_type")
        resource, scope = self._resource_for(form.get("scope", ""), grant_type)
        if grant_type == "client_credentials":
            return self._token_answer(resource, scope, KIND_APP, tenant)
        if grant_type == "refresh_token":
            self._redeem_refresh_token(form.get("refresh_token") or "")
        elif grant_type == "authorization_code":
            self._redeem_code(form.get("code") or "", form.get("redirect_uri"))
        else:
            raise TokenError(
                400,
                "unsupported_grant_type",
                f"The grant type '{grant_type}' is not supported.",
                70003,
            )
        answer = self._token_answer(resource, scope, KIND_USER, tenant)
        answer["refresh_token"] = self.issue_refresh_token()
        if "openid" in form.get("scope", "").split():
            answer["id_token"] = self._id_token(tenant)
            answer["client_info"] = _b64(
                json.dumps(
                    {"uid": ADMIN_USER_OID, "utid": self.settings.partner_tenant_id}
                ).encode()
            )
        return answer

    def _resource_for(self, scope_text, grant_type):
        resource_scopes = [scope for scope in scope_text.split() if scope not in OIDC_SCOPES]
        if not resource_scopes and grant_type != "client_credentials":
            return API_RESOURCE, f"{API_RESOURCE}/user_impersonation"
        if len(resource_scopes) == 1:
            scope = resource_scopes[0]
            for resource in RESOURCES:
                if scope.lower().startswith(resource + "/"):
                    return resource, scope
        raise TokenError(
            400,
            "invalid_scope",
            f"The provided value for scope '{scope_text}' is not valid: ask for "
            "exactly one of the Partner Center resources' /.default scopes.",
            70011,
        )

    def _token_answer(self, resource, scope, kind, tenant):
        lifetime = int(self.settings.access_token_lifetime)
        return {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self._access_token(resource, kind, lifetime),
        }

    def _access_token(self, resource, kind, lifetime):
        claims = {
            "aud": resource,
            "kind": kind,
            "tid": self.settings.partner_tenant_id,
            "appid": self.settings.client_id,
            "iat": int(time.time()),
            "exp": int(time.time()) + lifetime,
            "gen": self.state.data["token_generation"],
            "jti": secrets.token_hex(8),
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
        return f"simat.{body}.{signature}"

    def _id_token(self, tenant):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "none", "kid": "simulator"}
        claims = {
            "aud": self.settings.client_id,
            "iss": self.issuer(tenant),
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": "Simulated CSP admin",
            "oid": ADMIN_USER_OID,
            "preferred_username": ADMIN_USERNAME,
            "sub": ADMIN_USER_OID,
            "tid": self.settings.partner_tenant_id,
            "ver": "2.0",
        }
        return ".".join(_b64(json.dumps(part).encode()) for part in (header, claims)) + "."

    # === REFRESH TOKENS === #

    def issue_refresh_token(self, client_id=None):
        token = "0.SIM." + secrets.token_urlsafe(48)
        with self.state.mutate() as data:
            data["refresh_tokens"][_hash(token)] = self._new_record(
                client_id or self.settings.client_id
            )
        return token

    def revoke_refresh_tokens(self, token=None):
        """Revoke one refresh token, or all of them; returns how many were revoked."""
        with self.state.mutate() as data:
            records = data["refresh_tokens"]
            targets = [_hash(token)] if token else list(records)
            count = 0
            for key in targets:
                if key in records and not records[key]["revoked"]:
                    records[key]["revoked"] = True
                    count += 1
        return count

    def _redeem_refresh_token(self, token):
        with self.state.mutate() as data:
            record = data["refresh_tokens"].get(_hash(token))
            if (
                record is None
                or record["revoked"]
                or record["expires"] < time.time()
                or (self.settings.single_use_refresh_tokens and record["used"])
            ):
                raise TokenError(
                    400,
                    "invalid_grant",
                    "The refresh token has expired or is invalid due to sign-in frequency "
                    "checks by conditional access, or was revoked. The user must consent again.",
                    700082,
                )
            record["used"] = True

    def _redeem_code(self, code, redirect_uri):
        with self._codes_lock:
            record = self._codes.pop(code, None)
        if (
            record is None
            or record["expires"] < time.time()
            or (redirect_uri and redirect_uri != record["redirect_uri"])
        ):
            raise TokenError(
                400,
                "invalid_grant",
                "The provided authorization code is invalid or has expired.",
                70008,
            )

    # === ACCESS TOKEN CHECK (API side) === #

    def expire_access_tokens(self):
        """Make every access token issued so far invalid (tests the client's 401 handling)."""
        with self.state.mutate() as data:
            data["token_generation"] += 1

    def verify(self, authorization, resource, user_only=False):
        """Return the claims of a valid bearer token for ``resource``; raise a 401 SimError."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("No bearer token was sent.")
        claims = self._decode(token.strip())
        if claims is None:
            raise _unauthorized("The access token is not valid.")
        if claims["exp"] < time.time() or claims["gen"] != self.state.data["token_generation"]:
            raise _unauthorized("The access token has expired.")
        if claims["aud"] != resource:
            raise _unauthorized(f"The access token's audience is not {resource}.")
        if user_only and claims["kind"] != KIND_USER:
            raise _unauthorized("This call needs an App+User token; App-only is not accepted.")
        return claims

    def _decode(self, token):
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "simat":
            return None
        expected = _b64(hmac.new(self._key, parts[1].encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return None
        try:
            return json.loads(_unb64(parts[1]))
        except ValueError:
            return None


def _unauthorized(description):
    return SimError(
        401,
        CODE_UNAUTHORIZED,
        description,
        headers={"WWW-Authenticate": 'Bearer realm="PartnerCenter"'},
    )
