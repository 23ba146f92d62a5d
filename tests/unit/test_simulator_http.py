"""The simulator's connections: kept alive, price sheets chunked, faults felt at the TCP level."""

import http.client
import logging
import socket
import ssl
import threading

import pytest

from partner_center.simulator import Simulator, SimulatorSettings, server

SHEET = "/v1.0/sales/pricesheets(Market='US',PricesheetView='software')/$value"
keeps_alive = pytest.mark.skipif(
    not server._Connection.keeps_alive, reason="this werkzeug closes every connection"
)


@pytest.fixture
def plain_sim():
    """A simulator over plain HTTP, where a TCP reset reaches the client as such."""
    with Simulator(SimulatorSettings(sku_count=20, tls=False)) as sim:
        yield sim


def tls_connection(sim):
    context = ssl.create_default_context(cafile=sim.ca_file)
    return http.client.HTTPSConnection("127.0.0.1", sim.port, context=context, timeout=10)


def discovery_request(sim):
    path = f"/{sim.partner_tenant_id}/v2.0/.well-known/openid-configuration"
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


@keeps_alive
def test_one_connection_serves_answers_whole_and_chunked(sim, pricesheet_headers):
    connection = tls_connection(sim)
    try:
        connection.request("GET", "/admin/health")
        health = connection.getresponse()
        health.read()
        kept = connection.sock
        connection.request("GET", SHEET, headers=pricesheet_headers)
        sheet = connection.getresponse()
        assert sheet.getheader("Transfer-Encoding") == "chunked"
        assert sheet.getheader("Content-Length") is None
        assert sheet.read().startswith(b'"ProductTitle"')
        connection.request("GET", "/admin/health")
        assert connection.getresponse().status == 200
        assert connection.sock is kept
        assert health.getheader("Connection") is None
    finally:
        connection.close()


def test_reset_fault_resets_the_connection_and_drop_closes_it(plain_sim):
    plain_sim.set_faults(["discovery:reset::1", "discovery:drop_after_commit::1"])
    with socket.create_connection(("127.0.0.1", plain_sim.port), timeout=10) as reset:
        reset.sendall(discovery_request(plain_sim))
        with pytest.raises(ConnectionResetError):
            reset.recv(1024)
    with socket.create_connection(("127.0.0.1", plain_sim.port), timeout=10) as dropped:
        dropped.sendall(discovery_request(plain_sim))
        assert dropped.recv(1024) == b""


@keeps_alive
def test_a_stopped_simulator_closes_kept_alive_connections(plain_sim):
    connection = http.client.HTTPConnection("127.0.0.1", plain_sim.port, timeout=10)
    try:
        connection.request("GET", "/admin/health")
        connection.getresponse().read()
        plain_sim.stop()
        assert connection.sock.recv(1024) == b""
    finally:
        connection.close()


def test_a_silent_client_does_not_hold_up_the_others(sim):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10):
        connection = tls_connection(sim)
        try:
            connection.request("GET", "/admin/health")
            assert connection.getresponse().status == 200
        finally:
            connection.close()


def received_until_closed(connection):
    answer = b""
    while chunk := connection.recv(4096):
        answer += chunk
    return answer


def test_a_connection_accepted_just_before_a_stop_is_closed_by_it(plain_sim, monkeypatch):
    """Even when its handler has not started yet: the stop knows it from its accept."""
    accepted, released = threading.Event(), threading.Event()
    setup = server._Connection.setup

    def late_setup(handler):
        accepted.set()
        released.wait(10)
        setup(handler)

    monkeypatch.setattr(server._Connection, "setup", late_setup)
    with socket.create_connection(("127.0.0.1", plain_sim.port), timeout=10) as connection:
        try:
            assert accepted.wait(10)
            plain_sim.stop()
            assert connection.recv(1024) == b""
        finally:
            released.set()


def test_a_malformed_request_line_is_refused_and_ends_the_connection(plain_sim):
    health = b"GET /admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    malformed = b"GET /admin/health now HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", plain_sim.port), timeout=10) as connection:
        connection.sendall(malformed + health)
        answer = received_until_closed(connection)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"\r\nConnection: close" in head
    assert f"\r\nContent-Length: {len(body)}".encode() in head  # and nothing after it


def test_a_client_gone_mid_body_gets_no_answer_and_logs_no_warning(plain_sim, caplog):
    head = b"POST /admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
    with socket.create_connection(("127.0.0.1", plain_sim.port), timeout=10) as connection:
        connection.sendall(head + b'{"cut": ')
        connection.shutdown(socket.SHUT_WR)
        assert received_until_closed(connection) == b""
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


def test_a_refused_request_is_logged_at_info_level(plain_sim, caplog):
    caplog.set_level(logging.DEBUG, logger="partner_center.simulator.server")
    with socket.create_connection(("127.0.0.1", plain_sim.port), timeout=10) as connection:
        connection.sendall(b"GET /admin/health now HTTP/1.1\r\n\r\n")
        received_until_closed(connection)
    levels = {record.levelno for record in caplog.records if "code 400" in record.getMessage()}
    assert levels == {logging.INFO}
