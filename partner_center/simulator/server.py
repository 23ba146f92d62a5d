"""The simulator's HTTP(S) side: a WSGI app on werkzeug's server; faults, auth, idempotency.

Every request passes through ``Dispatcher._wsgi``; handlers return a ``Reply`` or raise
``SimError`` / ``TokenError``. Admin routes (``/admin/...``) skip faults and auth but are only
answered to loopback clients.
"""

import contextlib
import json
import logging
import re
import socket
import struct
import threading
import time
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field
from importlib import metadata
from urllib.parse import parse_qs

from werkzeug import wrappers
from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

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


class _Abort(ConnectionAbortedError):
    """Close the connection without answering (faults ``reset`` / ``drop_after_commit``, a
    request body cut short).

    A ``ConnectionError``: werkzeug's server takes it for a connection gone and writes no more.
    """

    def __init__(self, reset):
        super().__init__("connection aborted on purpose")
        self.reset = reset

    def close(self, sock):
        """An RST for ``reset`` (no lingering), a plain close otherwise."""
        with contextlib.suppress(OSError):
            if self.reset:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_RDWR)
        sock.close()  # the handler's files hold the socket: it really closes (RST) with them


def _werkzeug_release():
    """werkzeug's major and minor version numbers, e.g. ``(2, 2)``."""
    return tuple(int(number) for number in metadata.version("werkzeug").split(".")[:2])


class _Connection(WSGIRequestHandler):
    """werkzeug's request handler, keeping connections alive between answers (see keeps_alive)."""

    protocol_version = "HTTP/1.1"  # chunked price sheets, kept-alive connections
    server_version = "PartnerCenterSimulator/1.0"
    disable_nagle_algorithm = True  # werkzeug writes a chunk's size, data and end apart
    timeout = 120  # seconds an idle connection is kept
    ends_connection = False  # set by an error answered before any app sees the request
    # werkzeug 2.3 and later read whatever follows an answer, to drain a body left unread: on a
    # kept-alive connection that would be the client's next request. Each answer closes there.
    keeps_alive = _werkzeug_release() < (2, 3)

    def send_error(self, code, message=None, explain=None):
        """A request the HTTP layer refuses (request line or headers malformed or too long)
        ends its connection: the bytes after it on the connection are no request to read."""
        self.ends_connection = True
        super().send_error(code, message, explain)
        self.close_connection = True

    def send_header(self, keyword, value):
        # werkzeug sends "Connection: close" with every answer, as an application may leave a
        # body unread; the simulator reads every body whole, so the connection can serve on.
        if keyword.lower() == "connection" and self.keeps_alive and not self.ends_connection:
            return
        super().send_header(keyword, value)

    def connection_dropped(self, error, environ=None):
        """A connection gone, or aborted by a fault, serves no further request."""
        self.close_connection = True

    def log(self, level, message, *args):  # werkzeug passes (type, message, *args) by position
        """Answered requests at debug level: the simulator keeps its own request log. What
        werkzeug reports as errors (a request refused, a TLS handshake failed or cut short by
        the client) at info: the client's doing, not the simulator's, and Odoo's test runs
        fail on any warning."""
        _logger.log(
            logging.INFO if level == "error" else logging.DEBUG,
            "%s - %s",
            self.address_string(),
            message % args,
        )


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, knowing its open connections so that a stop can end them.

    A connection is known from its accept, on the accepting thread, until its handler is done:
    one accepted just before a stop is known to the stop too.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connections = set()
        self.connections_lock = threading.Lock()

    def get_request(self):
        connection, address = super().get_request()
        with self.connections_lock:
            self.connections.add(connection)
        return connection, address

    def shutdown_request(self, request):
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        """Shut every open connection down: its handler reads an end and stops."""
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class Dispatcher:
    """Fault, auth and idempotency handling around the routes (mixed into Simulator)."""

    def _wsgi(self, environ, start_response):
        """The WSGI app: read the request whole, dispatch it, log it, answer it."""
        http = wrappers.Request(environ)
        query = {key.lower(): value for key, value in http.args.items()}
        request_id = http.headers.get("MS-RequestId")
        correlation_id = http.headers.get("MS-CorrelationId") or str(uuid.uuid4())
        entry = {
            "at": time.time(),
            "method": http.method,
            "path": http.path,
            "query": query,
            "request_id": request_id,
            "correlation_id": correlation_id,
            "status": None,
            "fault": None,
        }
        try:
            request = Request(
                method=http.method,
                path=http.path,
                query=query,
                headers=http.headers,
                body=_body(http),
                client_host=http.remote_addr,
            )
            reply = self._dispatch(request, entry)
        except _Abort as abort:
            entry["status"] = "aborted"
            self._log_request(entry)
            abort.close(environ["werkzeug.socket"])
            raise
        except SimError as error:
            reply = Reply(error.status, error.payload(), dict(error.headers))
        except TokenError as error:
            reply = Reply(error.status, error.payload())
        except Exception:  # a simulator bug must still answer like a server would
            _logger.exception("simulator handler failed on %s %s", http.method, http.path)
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
        self._log_request(entry)
        reply.headers.setdefault("MS-CorrelationId", correlation_id)
        if request_id:
            reply.headers.setdefault("MS-RequestId", request_id)
        return _response(reply, http.accept_encodings)(environ, start_response)

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


def _body(http):
    """The request's body, read whole; a client gone before its end aborts the connection.

    werkzeug raises ``ClientDisconnected`` for a body shorter than its Content-Length (the
    client closed, or timed out), an ``OSError`` for a chunked body cut short or malformed.
    """
    try:
        return http.get_data()
    except (ClientDisconnected, OSError) as error:
        _logger.debug("%s %s: body not read whole (%s)", http.method, http.path, error)
        raise _Abort(reset=False) from None


def make_request_log():
    return deque(maxlen=REQUEST_LOG_SIZE)


def _response(reply, accepted_encodings):
    """The werkzeug response of a reply: sent whole, or streamed (chunked) when it has chunks."""
    headers = {name: str(value) for name, value in reply.headers.items()}
    if reply.chunks is not None:
        body = reply.chunks
        if accepted_encodings.quality("deflate"):
            body = _deflated(body)
            headers["Content-Encoding"] = "deflate"
        return wrappers.Response(body, reply.status, headers, content_type=reply.content_type)
    if reply.body is None:
        payload = b""
    elif isinstance(reply.body, bytes):
        payload = reply.body
    elif isinstance(reply.body, str):  # a text body, e.g. a fault's hand-made price sheet
        payload = reply.body.encode("utf-8")
    else:
        payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
    response = wrappers.Response(payload, reply.status, headers, content_type=reply.content_type)
    if not payload:
        del response.headers["Content-Type"]
    return response


def _deflated(chunks):
    compressor = zlib.compressobj()
    for chunk in chunks:
        yield compressor.compress(chunk)
    yield compressor.flush()


def start_server(app, host, port, ssl_context=None):
    """Serve ``app`` with werkzeug's threaded server, from a daemon thread.

    :return: the server, for :func:`stop_server`
    """
    server = _Server(host, port, app, handler=_Connection, ssl_context=ssl_context)
    if ssl_context is not None:
        # Each connection's TLS handshake then happens on its first read, in its own thread:
        # a client that connects and says nothing cannot hold up accept().
        server.socket.do_handshake_on_connect = False
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.2},
        name="partner-center-simulator",
        daemon=True,
    )
    thread.start()
    return server


def stop_server(server):
    """Stop serving, and drop kept-alive connections so a stopped simulator answers nobody."""
    server.shutdown()
    server.server_close()
    server.close_connections()
