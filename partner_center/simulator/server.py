"""The simulator's HTTP(S) server: request parsing, faults, auth, idempotency, routing.

Every request passes through ``_Handler._serve``; handlers return a ``Reply`` or raise
``SimError`` / ``TokenError``. Admin routes (``/admin/...``) skip faults and auth but are only
answered to loopback clients.
"""

import contextlib
import io
import json
import logging
import re
import socket
import ssl
import struct
import threading
import time
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import CODE_INVALID_REQUEST, CODE_ORDER_IN_PROGRESS, SimError, invalid
from .tokens import API_RESOURCE, PRICESHEET_RESOURCE, TokenError

_logger = logging.getLogger(__name__)

MUTATING_METHODS = ("POST", "PUT", "PATCH", "DELETE")
LOOPBACK_PREFIXES = ("127.", "::1", "::ffff:127.")
REQUEST_LOG_SIZE = 2000


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: object
    body: bytes
    client_host: str
    params: dict = field(default_factory=dict)
    fault: object = None

    def arg(self, name, default=None):
        """Query parameter, matched case-insensitively as Partner Center does."""
        return self.query.get(name.lower(), default)

    def json(self):
        if not self.body:
            return {}
        try:
            return json.loads(self.body.decode("utf-8-sig"))
        except ValueError as error:
            raise invalid(f"The request body is not valid JSON: {error}") from None

    def form(self):
        pairs = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[0] for key, values in pairs.items()}

    @property
    def locale(self):
        return self.headers.get("X-Locale")

    @property
    def request_id(self):
        return self.headers.get("MS-RequestId")


@dataclass
class Reply:
    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)
    chunks: object = None  # iterator of bytes, sent chunked (price sheets)
    content_type: str = "application/json; charset=utf-8"


class Route:
    def __init__(self, method, pattern, handler, auth=None):
        self.method = method
        self.regex = re.compile(pattern, re.IGNORECASE)
        self.handler = handler
        self.auth = auth


class Router:
    def __init__(self):
        self.routes = []

    def add(self, method, pattern, handler, auth=None):
        self.routes.append(Route(method, pattern, handler, auth))

    def resolve(self, method, path):
        """Return (route, params); raise 404/405 SimErrors when nothing fits."""
        path_known = False
        for route in self.routes:
            found = route.regex.match(path)
            if not found:
                continue
            path_known = True
            if route.method == method:
                return route, found.groupdict()
        if path_known:
            raise SimError(405, CODE_INVALID_REQUEST, f"{method} is not allowed on {path}.")
        raise SimError(404, 404, f"No resource at {path}.")


class _Abort(Exception):
    """Close the connection without answering (faults ``reset`` / ``drop_after_commit``)."""

    def __init__(self, reset):
        super().__init__("connection aborted on purpose")
        self.reset = reset


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, simulator, ssl_context=None):
        self.simulator = simulator
        self.ssl_context = ssl_context
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self):
        sock, address = super().get_request()
        if self.ssl_context is not None:
            # Handshake later, in the handler thread, so one slow client can't block accept().
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        with self._connections_lock:
            self._connections.add(sock)
        return sock, address

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        """Drop kept-alive client connections, so a stopped simulator answers nobody."""
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        _logger.debug("connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "PartnerCenterSimulator/1.0"
    timeout = 120

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def handle(self):
        try:
            super().handle()
        except (TimeoutError, ssl.SSLError, OSError):
            self.close_connection = True

    def log_message(self, format, *args):  # the stdlib signature names it "format"
        _logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_DELETE(self):
        self._serve("DELETE")

    # === REQUEST FLOW === #

    def _serve(self, method):
        simulator = self.server.simulator
        request = self._read_request(method)
        correlation_id = self.headers.get("MS-CorrelationId") or str(uuid.uuid4())
        entry = {
            "at": time.time(),
            "method": method,
            "path": request.path,
            "query": request.query,
            "request_id": request.request_id,
            "correlation_id": correlation_id,
            "status": None,
            "fault": None,
        }
        try:
            reply = simulator._dispatch(request, entry)
        except _Abort as abort:
            entry["status"] = "aborted"
            simulator._log_request(entry)
            self._abort(abort.reset)
            return
        except SimError as error:
            reply = Reply(error.status, error.payload(), dict(error.headers))
        except TokenError as error:
            reply = Reply(error.status, error.payload())
        except Exception:  # a simulator bug must still answer like a server would
            _logger.exception("simulator handler failed on %s %s", method, request.path)
            reply = Reply(
                500,
                {
                    "code": 500,
                    "description": "Internal simulator error.",
                    "data": [],
                    "source": "PartnerCenter",
                },
            )
        entry["status"] = reply.status
        simulator._log_request(entry)
        reply.headers.setdefault("MS-CorrelationId", correlation_id)
        if request.request_id:
            reply.headers.setdefault("MS-RequestId", request.request_id)
        self._write(reply)

    def _read_request(self, method):
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = {
            key.lower(): values[0]
            for key, values in parse_qs(split.query, keep_blank_values=True).items()
        }
        return Request(
            method=method,
            path=unquote(split.path),
            query=query,
            headers=self.headers,
            body=body,
            client_host=self.client_address[0],
        )

    def _write(self, reply):
        if reply.chunks is not None:
            self._write_chunked(reply)
            return
        if reply.body is None:
            payload = b""
        elif isinstance(reply.body, bytes):
            payload = reply.body
        elif isinstance(reply.body, str):  # a text body, e.g. a fault's hand-made price sheet
            payload = reply.body.encode("utf-8")
        else:
            payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self.send_response(reply.status)
        if payload:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(payload)

    def _write_chunked(self, reply):
        encoding = self.headers.get("Accept-Encoding", "")
        deflate = "deflate" in [part.split(";")[0].strip().lower() for part in encoding.split(",")]
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        if deflate:
            self.send_header("Content-Encoding", "deflate")
        for name, value in reply.headers.items():
            self.send_header(name, str(value))
        self.end_headers()
        compressor = zlib.compressobj() if deflate else None
        for chunk in reply.chunks:
            data = compressor.compress(chunk) if compressor else chunk
            self._send_chunk(data)
        if compressor:
            self._send_chunk(compressor.flush())
        self.wfile.write(b"0\r\n\r\n")

    def _send_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _abort(self, reset):
        """Close the socket with no answer: an RST for ``reset``, a plain close otherwise."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
        self.wfile = io.BytesIO()


class Dispatcher:
    """Fault, auth and idempotency handling around the routes (mixed into Simulator)."""

    def _dispatch(self, request, entry):
        if request.path.lower().startswith("/admin"):
            if not request.client_host.startswith(LOOPBACK_PREFIXES):
                raise SimError(403, 403, "Admin endpoints answer loopback clients only.")
            route, params = self._admin_router.resolve(request.method, request.path)
            request.params = params
            return route.handler(request)
        route, params = self._router.resolve(request.method, request.path)
        request.params = params
        rule = self.faults.match(request.method, request.path)
        if rule is not None:
            entry["fault"] = rule.kind
            self._apply_fault_before(rule)
            request.fault = rule
        if route.auth:
            self._check_auth(request, route.auth)
        reply = self._idempotent(request, route)
        if rule is not None and rule.kind == "drop_after_commit":
            raise _Abort(reset=False)
        return reply

    def _apply_fault_before(self, rule):
        if rule.kind == "reset":
            raise _Abort(reset=True)
        if rule.kind == "slow":
            time.sleep(float(rule.delay))
        if rule.kind == "status":
            headers = {}
            if rule.retry_after is not None:
                headers["Retry-After"] = (
                    str(int(rule.retry_after))
                    if float(rule.retry_after).is_integer()
                    else str(rule.retry_after)
                )
            description = {
                429: "Rate limit is exceeded. Try again later.",
                503: "The service is temporarily unavailable.",
            }.get(rule.status, f"Injected failure {rule.status}.")
            raise SimError(
                int(rule.status),
                rule.code or int(rule.status),
                description,
                headers=headers,
                body=rule.body,
            )

    def _check_auth(self, request, audience):
        authorization = request.headers.get("Authorization")
        if audience == "pricesheet":
            self.tokens.verify(authorization, PRICESHEET_RESOURCE, user_only=True)
        else:
            self.tokens.verify(authorization, API_RESOURCE)

    def _idempotent(self, request, route):
        """Replay the stored answer of an earlier request with the same MS-RequestId."""
        if request.method not in MUTATING_METHODS or not request.request_id:
            return route.handler(request)
        key = f"{request.request_id}|{request.method}|{request.path.lower()}"
        with self.state.lock:
            stored = self.state.data["idempotency"].get(key)
            if stored is not None:
                return Reply(stored["status"], stored["body"], dict(stored["headers"]))
            if key in self._in_flight:
                raise SimError(
                    409,
                    CODE_ORDER_IN_PROGRESS,
                    "A request with this MS-RequestId is still being processed.",
                )
            self._in_flight.add(key)
        try:
            reply = route.handler(request)
            if 200 <= reply.status < 300 and reply.chunks is None:
                with self.state.mutate() as data:
                    data["idempotency"][key] = {
                        "at": self.state.now(),
                        "status": reply.status,
                        "body": reply.body,
                        "headers": reply.headers,
                    }
            return reply
        finally:
            with self.state.lock:
                self._in_flight.discard(key)

    def _log_request(self, entry):
        if not entry["path"].lower().startswith("/admin"):
            self._requests.append(entry)


def make_request_log():
    return deque(maxlen=REQUEST_LOG_SIZE)


def serve_in_thread(server):
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.2},
        name="partner-center-simulator",
        daemon=True,
    )
    thread.start()
    return thread
