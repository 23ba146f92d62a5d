"""Fixtures of the client tests: clients wired to the shared simulator (``tests/conftest.py``)."""

from __future__ import annotations

import time

import pytest
import requests

from partner_center.client import PartnerCenterClient
from partner_center.config import AUTH_APP_USER, ClientConfig

# Small waits so retry paths run in milliseconds.
FAST = {
    "backoff_base": 0.01,
    "backoff_max": 0.05,
    "conflict_wait_seconds": 0.05,
    "poll_interval": 0.05,
    "order_visibility_timeout": 1.0,
    "connect_timeout": 2.0,
    "read_timeout": 5.0,
    "deadline_seconds": 10.0,
    "max_retries": 4,
}


class RecordingSleep:
    """A ``sleep`` that records the waits asked for and waits only a little."""

    def __init__(self, cap: float = 0.01):
        self.waits: list[float] = []
        self.cap = cap

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(min(seconds, self.cap))


class ClientFactory:
    """Builds clients for the simulator and remembers what they saw (rotated tokens, headers)."""

    def __init__(self, simulator):
        self.simulator = simulator
        self.rotated_tokens: list[str] = []
        self.authorization_headers: list[str] = []
        self.clients: list[PartnerCenterClient] = []

    def config(self, **overrides) -> ClientConfig:
        sim = self.simulator
        settings = {
            "tenant": sim.partner_tenant_id,
            "authority": sim.authority,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "refresh_token": sim.initial_refresh_token,
            "auth_mode": AUTH_APP_USER,
            **FAST,
            **overrides,
        }
        return ClientConfig.for_simulator(sim.base_url, sim.ca_file, **settings)

    def __call__(self, sleep=None, session=None, **overrides) -> PartnerCenterClient:
        session = session or requests.Session()
        session.trust_env = False
        session.hooks["response"].append(self._record_authorization)
        client = PartnerCenterClient(
            self.config(**overrides),
            on_refresh_token=self.rotated_tokens.append,
            session=session,
            sleep=sleep or time.sleep,
        )
        self.clients.append(client)
        return client

    def _record_authorization(self, response, *args, **kwargs):
        header = response.request.headers.get("Authorization")
        if header:
            self.authorization_headers.append(header)

    def close(self):
        for client in self.clients:
            client.close()


@pytest.fixture
def make_client(sim):
    factory = ClientFactory(sim)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def customer(sim):
    """The US demo customer."""
    return next(record for record in sim.customers if record["country"] == "US")
