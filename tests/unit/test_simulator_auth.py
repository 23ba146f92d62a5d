"""The simulator's token service, driven by the real msal library, and the API's token checks."""

import time

import msal
import pytest

API_SCOPE = "https://api.partnercenter.microsoft.com/.default"
PRICESHEET_SCOPE = "https://api.partner.microsoft.com/.default"


@pytest.fixture
def msal_app(sim, sim_http):
    return msal.ConfidentialClientApplication(
        sim.client_id,
        client_credential=sim.client_secret,
        authority=sim.authority,
        instance_discovery=False,
        http_client=sim_http,
    )


def _products(sim, sim_http, token):
    return sim_http.get(
        f"{sim.api_url}/products",
        params={"country": "US", "targetView": "Software"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_discovery_document_has_what_msal_reads(sim, sim_http):
    answer = sim_http.get(f"{sim.authority}/v2.0/.well-known/openid-configuration", timeout=10)
    document = answer.json()
    assert answer.status_code == 200
    assert document["token_endpoint"] == f"{sim.authority}/oauth2/v2.0/token"
    assert document["authorization_endpoint"] == f"{sim.authority}/oauth2/v2.0/authorize"
    assert document["issuer"] == f"{sim.authority}/v2.0"


def test_msal_client_credentials_token_opens_the_api(sim, sim_http, msal_app):
    result = msal_app.acquire_token_for_client(scopes=[API_SCOPE])
    assert "access_token" in result, result
    assert 3000 < result["expires_in"] <= 3600
    assert "refresh_token" not in result
    assert _products(sim, sim_http, result["access_token"]).status_code == 200


def test_msal_refresh_token_grant_rotates_the_refresh_token(sim, sim_http, msal_app):
    first = msal_app.acquire_token_by_refresh_token(sim.initial_refresh_token, [API_SCOPE])
    assert "access_token" in first, first
    assert first["refresh_token"] != sim.initial_refresh_token
    second = msal_app.acquire_token_by_refresh_token(first["refresh_token"], [API_SCOPE])
    assert second["refresh_token"] not in (first["refresh_token"], sim.initial_refresh_token)
    assert _products(sim, sim_http, second["access_token"]).status_code == 200


def test_price_sheet_scope_gives_a_price_sheet_audience_token(sim, sim_http, msal_app):
    result = msal_app.acquire_token_by_refresh_token(sim.initial_refresh_token, [PRICESHEET_SCOPE])
    assert "access_token" in result, result
    # the API refuses a token of the other audience
    assert _products(sim, sim_http, result["access_token"]).status_code == 401


def test_revoked_refresh_token_answers_invalid_grant(sim, msal_app):
    fresh = msal_app.acquire_token_by_refresh_token(sim.initial_refresh_token, [API_SCOPE])
    assert sim.revoke_refresh_tokens() >= 2
    for token in (sim.initial_refresh_token, fresh["refresh_token"]):
        result = msal_app.acquire_token_by_refresh_token(token, [API_SCOPE])
        assert result.get("error") == "invalid_grant"


def test_unknown_refresh_token_answers_invalid_grant(msal_app):
    result = msal_app.acquire_token_by_refresh_token("0.SIM.made-up", [API_SCOPE])
    assert result.get("error") == "invalid_grant"


def test_new_consent_issues_a_working_refresh_token_after_revocation(sim, sim_http, msal_app):
    sim.revoke_refresh_tokens()
    answer = sim_http.post(f"{sim.base_url}/admin/refresh-tokens", timeout=10)
    result = msal_app.acquire_token_by_refresh_token(answer.json()["refresh_token"], [API_SCOPE])
    assert "access_token" in result, result


def test_single_use_mode_rejects_a_redeemed_refresh_token(sim, msal_app):
    sim.update_settings(single_use_refresh_tokens=True)
    first = msal_app.acquire_token_by_refresh_token(sim.initial_refresh_token, [API_SCOPE])
    again = msal_app.acquire_token_by_refresh_token(sim.initial_refresh_token, [API_SCOPE])
    assert "access_token" in first
    assert again.get("error") == "invalid_grant"


def test_wrong_client_secret_is_refused(sim, sim_http):
    app = msal.ConfidentialClientApplication(
        sim.client_id,
        client_credential="wrong",
        authority=sim.authority,
        instance_discovery=False,
        http_client=sim_http,
    )
    assert app.acquire_token_for_client(scopes=[API_SCOPE]).get("error") == "invalid_client"


def test_api_without_token_answers_401_with_partner_center_body(sim, sim_http):
    answer = sim_http.get(
        f"{sim.api_url}/customers/{sim.customers[0]['tenant_id']}",
        headers={"MS-CorrelationId": "corr-1"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert set(answer.json()) == {"code", "description", "data", "source"}
    assert answer.headers["MS-CorrelationId"] == "corr-1"


def test_expired_access_tokens_are_refused(sim, sim_http, msal_app):
    token = msal_app.acquire_token_for_client(scopes=[API_SCOPE])["access_token"]
    sim.expire_access_tokens()
    assert _products(sim, sim_http, token).status_code == 401


def test_access_token_lifetime_follows_the_setting(sim, sim_http):
    sim.update_settings(access_token_lifetime=1)
    answer = sim_http.post(
        f"{sim.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "scope": API_SCOPE,
        },
        timeout=10,
    )
    assert answer.json()["expires_in"] == 1
    time.sleep(1.2)
    assert _products(sim, sim_http, answer.json()["access_token"]).status_code == 401


def test_app_only_token_is_refused_by_price_sheets(sim, sim_http):
    answer = sim_http.post(
        f"{sim.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "scope": PRICESHEET_SCOPE,
        },
        timeout=10,
    )
    token = answer.json()["access_token"]
    sheet = sim_http.get(
        f"{sim.pricesheet_url}/pricesheets(Market='US',PricesheetView='software')/$value",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert sheet.status_code == 401


def test_authorization_code_consent_round_trip(sim, sim_http):
    answer = sim_http.get(
        f"{sim.authority}/oauth2/v2.0/authorize",
        params={
            "client_id": sim.client_id,
            "redirect_uri": "https://odoo.local/callback",
            "response_type": "code",
            "scope": f"{API_SCOPE} offline_access",
            "state": "s1",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("https://odoo.local/callback?") and "state=s1" in location
    code = location.split("code=")[1].split("&")[0]
    token = sim_http.post(
        f"{sim.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "redirect_uri": "https://odoo.local/callback",
            "scope": f"{API_SCOPE} offline_access",
        },
        timeout=10,
    )
    assert token.status_code == 200
    assert token.json()["refresh_token"].startswith("0.SIM.")
