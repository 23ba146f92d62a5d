"""Shared fixtures: one Partner Center simulator for the whole test session.

- ``simulator``: started once (60 SKUs, seed 1, month 0, no order/fulfilment delay, HTTPS
  with its own CA in ``simulator.ca_file``).
- ``sim``: the same simulator, reset before and after the test (no faults, initial settings,
  real clock, initial refresh token valid, empty request log). Use it whenever a test changes
  faults or settings.
- ``sim_http``: a ``requests.Session`` that trusts the simulator's CA and ignores
  ``REQUESTS_CA_BUNDLE``/proxies from the environment.
- ``api_headers`` / ``pricesheet_headers``: request headers with a fresh App-only API token /
  App+User price-sheet token (raw HTTP, no msal, so they don't depend on the client code).
"""

import pytest
import requests

from partner_center.simulator import Simulator, SimulatorSettings

TEST_SETTINGS = SimulatorSettings(
    seed=1,
    sku_count=60,
    month=0,
    order_complete_delay=0.0,
    fulfilment_delay=0.0,
    port=0,
    state_file=None,
    host="127.0.0.1",
)


@pytest.fixture(scope="session")
def simulator():
    sim = Simulator(TEST_SETTINGS.replace())
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim(simulator):
    simulator.reset()
    try:
        yield simulator
    finally:
        simulator.reset()


@pytest.fixture
def sim_http(simulator):
    session = requests.Session()
    session.verify = simulator.ca_file
    session.trust_env = False
    try:
        yield session
    finally:
        session.close()


def _token(simulator, session, **form):
    form.update(client_id=simulator.client_id, client_secret=simulator.client_secret)
    answer = session.post(f"{simulator.authority}/oauth2/v2.0/token", data=form, timeout=10)
    answer.raise_for_status()
    return answer.json()["access_token"]


def _headers(token):
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "MS-Contract-Version": "v1",
    }


@pytest.fixture
def api_headers(simulator, sim_http):
    """Headers with an App-only token for the Partner Center API audience."""
    token = _token(
        simulator,
        sim_http,
        grant_type="client_credentials",
        scope="https://api.partnercenter.microsoft.com/.default",
    )
    return _headers(token)


@pytest.fixture
def pricesheet_headers(simulator, sim_http):
    """Headers with an App+User token (initial refresh token) for the price-sheet audience."""
    token = _token(
        simulator,
        sim_http,
        grant_type="refresh_token",
        refresh_token=simulator.initial_refresh_token,
        scope="https://api.partner.microsoft.com/.default offline_access",
    )
    return _headers(token)
