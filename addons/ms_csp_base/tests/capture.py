"""A local TCP listener that counts who connects: where a leaked request would land."""

import socket
import socketserver
import threading

from odoo import Command
from odoo.tests import HttpCase


class CaptureServer:
    """Accepts connections on 127.0.0.1 and closes them; ``connections`` counts them."""

    def __init__(self):
        self.connections = 0
        capture = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                capture.connections += 1
                self.request.shutdown(socket.SHUT_RDWR)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self):
        host, port = self._server.server_address
        return f"https://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def crafted_context(self):
        """What an attacker would put in the context to send the credentials here."""
        overrides = {key: self.url for key in ("api_base_url", "pricesheet_base_url", "authority")}
        return {"ms_csp_client_overrides": overrides, "ms_csp_client_config": overrides}


class CaptureRpcCase(HttpCase):
    """JSON-RPC calls by chosen users, with a capture server where a leak would land."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.capture = CaptureServer().start()
        cls.addClassCleanup(cls.capture.stop)

    @classmethod
    def _user(cls, login, *groups):
        """An internal user with these groups, whose password is ``<login>-pass-1234``."""
        return cls.env["res.users"].create(
            {
                "name": login,
                "login": login,
                "password": f"{login}-pass-1234",
                "groups_id": [Command.set([cls.env.ref(xmlid).id for xmlid in groups])],
            }
        )

    def _rpc(self, user, method, args, kwargs=None, context=None):
        """``ms.csp.instance.<method>`` over JSON-RPC, logged in as ``user``."""
        self.authenticate(user.login, f"{user.login}-pass-1234")
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {
                "model": "ms.csp.instance",
                "method": method,
                "args": args,
                "kwargs": {**(kwargs or {}), "context": context or {}},
            },
        )
