"""Partner Center error answers raised inside the simulator's handlers."""

# Codes documented by Microsoft (see docs/partner-center.md) ...
CODE_STALE_AVAILABILITY = 400019
CODE_NOT_SOLD_IN_COUNTRY = 800070
CODE_ORDER_IN_PROGRESS = 800060
CODE_CART_IN_PROGRESS = 800064
CODE_CART_ALREADY_SUBMITTED = 800065
CODE_CANCELLATION_WINDOW_PASSED = 900117
CODE_TENANT_NOT_GUID = 2000
# ... and the simulator's own choices where Microsoft documents none.
CODE_INVALID_REQUEST = 400001
CODE_UNAUTHORIZED = 401
CODE_CUSTOMER_NOT_FOUND = 600002
CODE_DOMAIN_EXISTS = 600011  # a new customer's domain is taken (answered with 409)
CODE_NOT_FOUND = 404
CODE_THROTTLED = 429
CODE_SERVICE_UNAVAILABLE = 503


class SimError(Exception):
    """An answer with Partner Center's error body ``{code, description, data, source}``."""

    def __init__(self, status, code, description, headers=None, body=None):
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.headers = headers or {}
        self.body = body

    def payload(self):
        if self.body is not None:
            return self.body
        return {
            "code": self.code,
            "description": self.description,
            "data": [],
            "source": "PartnerCenter",
        }


def not_found(description, code=CODE_NOT_FOUND):
    return SimError(404, code, description)


def invalid(description, code=CODE_INVALID_REQUEST):
    return SimError(400, code, description)
