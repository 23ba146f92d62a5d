"""State file across restarts, certificate reuse, and the command line."""

import json
import os
import pathlib
import signal
import ssl
import stat
import subprocess
import sys
import threading
import uuid

import pytest
import requests
import trustme

from partner_center.simulator import Simulator, SimulatorSettings, certs
from partner_center.simulator.errors import SimError
from partner_center.simulator.server import Request

US = "0c5a0001-5e1c-4a11-9000-00000000c001"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
API_SCOPE = "https://api.partnercenter.microsoft.com/.default"


def session_for(sim):
    http = requests.Session()
    http.verify = sim.ca_file
    http.trust_env = False
    return http


def token(sim, http, **form):
    form.update(client_id=sim.client_id, client_secret=sim.client_secret, scope=API_SCOPE)
    return http.post(f"{sim.authority}/oauth2/v2.0/token", data=form, timeout=10)


def place_order(sim, http, headers):
    sku = sim.catalogue.skus_for("US", "SoftwareSubscriptions", purchasable_only=True)[0]
    term, billing = sku.terms[0]
    line = {
        "id": 0,
        "quantity": 2,
        "billingCycle": billing,
        "termDuration": term,
        "friendlyName": "persisted",
        "catalogItemId": sim.catalogue.catalog_item_id(sku.product_id, sku.id),
    }
    base = f"{sim.api_url}/customers/{US}"
    cart = http.post(f"{base}/carts", json={"lineItems": [line]}, headers=headers, timeout=10)
    checkout = http.post(
        f"{base}/carts/{cart.json()['id']}/checkout",
        headers=dict(headers, **{"MS-RequestId": str(uuid.uuid4())}),
        timeout=10,
    )
    assert checkout.status_code == 201
    return cart.json()["id"], checkout.json()["orders"][0]


def test_state_file_survives_a_restart(tmp_path):
    state_file = str(tmp_path / "sim-state.json")
    settings = SimulatorSettings(
        sku_count=40, order_complete_delay=0, fulfilment_delay=0, state_file=state_file
    )
    with Simulator(settings.replace()) as first, session_for(first) as http:
        headers = {
            "Authorization": "Bearer "
            + token(first, http, grant_type="client_credentials").json()["access_token"]
        }
        cart_id, order = place_order(first, http, headers)
        rotated = token(
            first, http, grant_type="refresh_token", refresh_token=first.initial_refresh_token
        ).json()["refresh_token"]
        customer = first.add_customer("Proseware Inc", "GB")
        ca_before = pathlib.Path(first.ca_file).read_bytes()
    stored = json.loads(pathlib.Path(state_file).read_text(encoding="utf-8"))
    assert rotated not in json.dumps(stored)  # refresh tokens are kept by hash only

    with Simulator(settings.replace()) as second, session_for(second) as http:
        assert pathlib.Path(second.ca_file).read_bytes() == ca_before
        access = token(second, http, grant_type="refresh_token", refresh_token=rotated)
        assert access.status_code == 200
        headers = {"Authorization": "Bearer " + access.json()["access_token"]}
        base = f"{second.api_url}/customers/{US}"
        read = http.get(f"{base}/orders/{order['id']}", headers=headers, timeout=10).json()
        assert read["lineItems"][0]["friendlyName"] == "persisted"
        subscription_id = read["lineItems"][0]["subscriptionId"]
        assert (
            http.get(f"{base}/subscriptions/{subscription_id}", headers=headers, timeout=10).json()[
                "quantity"
            ]
            == 2
        )
        again = http.post(
            f"{base}/carts/{cart_id}/checkout",
            headers=dict(headers, **{"MS-RequestId": str(uuid.uuid4())}),
            timeout=10,
        )
        assert again.json()["code"] == 800065
        assert customer["tenant_id"] in {c["tenant_id"] for c in second.customers}


def test_revocation_survives_a_restart(tmp_path):
    settings = SimulatorSettings(sku_count=20, state_file=str(tmp_path / "state.json"))
    with Simulator(settings.replace()) as first:
        first.revoke_refresh_tokens()
    with Simulator(settings.replace()) as second, session_for(second) as http:
        answer = token(
            second, http, grant_type="refresh_token", refresh_token=second.initial_refresh_token
        )
        assert answer.json()["error"] == "invalid_grant"


def test_a_ca_near_its_end_or_unreadable_is_replaced(tmp_path, monkeypatch):
    settings = SimulatorSettings(sku_count=20, cert_dir=str(tmp_path))
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not a certificate")
    with Simulator(settings.replace()) as first:
        fresh = ca_file.read_bytes()
    assert b"BEGIN CERTIFICATE" in fresh
    monkeypatch.setattr(certs, "RENEW_BEFORE", 1000 * 365 * 24 * 3600)
    with Simulator(settings.replace()) as second, session_for(second) as http:
        assert ca_file.read_bytes() != fresh
        assert http.get(f"{second.base_url}/admin/health", timeout=10).status_code == 200
    assert first.ca_file == second.ca_file == str(ca_file)


def test_a_ca_whose_key_is_not_its_own_is_replaced(tmp_path):
    ca_file, key_file = tmp_path / "ca.pem", tmp_path / "ca-key.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    trustme.CA().private_key_pem.write_to_path(str(key_file))
    mismatched = ca_file.read_bytes()
    settings = SimulatorSettings(sku_count=20, cert_dir=str(tmp_path))
    with Simulator(settings) as sim, session_for(sim) as http:
        assert http.get(f"{sim.base_url}/admin/health", timeout=10).status_code == 200
    assert ca_file.read_bytes() != mismatched
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(ca_file, key_file)  # a pair again
    assert [path.name for path in tmp_path.iterdir() if path.suffix == ".tmp"] == []


def test_the_ca_key_is_readable_by_its_owner_only(tmp_path):
    ca_file, key_file = tmp_path / "ca.pem", tmp_path / "ca-key.pem"
    certs.server_context(str(tmp_path), ["127.0.0.1"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    kept = ca_file.read_bytes()
    key_file.chmod(0o644)
    certs.server_context(str(tmp_path), ["127.0.0.1"])
    assert ca_file.read_bytes() == kept
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_simulators_starting_together_on_one_directory_make_one_ca(tmp_path, monkeypatch):
    written = []
    replace_file = certs._replace_file

    def counted_replace_file(path, content, mode):
        written.append(os.path.basename(path))
        replace_file(path, content, mode)

    monkeypatch.setattr(certs, "_replace_file", counted_replace_file)
    starts = [
        threading.Thread(target=certs.server_context, args=(str(tmp_path), ["127.0.0.1"]))
        for _ in range(4)
    ]
    for start in starts:
        start.start()
    for start in starts:
        start.join(30)
    assert written == ["ca-key.pem", "ca.pem"]


def test_state_file_is_written_atomically(tmp_path):
    state_file = tmp_path / "state.json"
    with Simulator(SimulatorSettings(sku_count=20, state_file=str(state_file))) as sim:
        sim.add_customer("Trey Research", "DE")
        assert json.loads(state_file.read_text(encoding="utf-8"))["customers"]
    assert [path.name for path in tmp_path.iterdir() if path.suffix == ".tmp"] == []


def test_admin_endpoints_refuse_non_loopback_clients(simulator):
    request = Request(
        method="GET", path="/admin/health", query={}, headers={}, body=b"", client_host="192.0.2.7"
    )
    with pytest.raises(SimError) as raised:
        simulator._dispatch(request, {})
    assert raised.value.status == 403


def test_command_line_starts_prints_and_stops_on_sigterm(tmp_path):
    command = [
        sys.executable,
        "-m",
        "partner_center.simulator",
        "--port",
        "0",
        "--sku-count",
        "30",
        "--cert-dir",
        str(tmp_path / "certs"),
        "--state",
        str(tmp_path / "state.json"),
        "--fault",
        "token:503::1",
    ]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    ) as process:
        try:
            lines = []
            while not any(line.strip().startswith("Client secret") for line in lines):
                line = process.stdout.readline()
                assert line, process.stderr.read()
                lines.append(line)
            base_url = lines[0].rsplit(" ", 1)[1].strip()
            ca_file = next(line for line in lines if "CA file" in line).split(":", 1)[1].strip()
            assert ca_file == str(tmp_path / "certs" / "ca.pem")
            with requests.Session() as http:
                http.trust_env = False
                health = http.get(f"{base_url}/admin/health", verify=ca_file, timeout=10)
            assert health.json()["status"] == "ok" and health.json()["faults"] == 1
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
            assert "stopped" in process.stdout.read()
        finally:
            if process.poll() is None:
                process.kill()
