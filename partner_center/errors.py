"""Typed exceptions raised by the Partner Center client and the pure parsers.

Every exception carries what Partner Center said (``code``, ``description``, HTTP ``status``) and
the ids that let Microsoft support find the call (``correlation_id``, ``request_id``). Texts are
built from those fields only: no token, secret or refresh token ever reaches a message.
"""

from __future__ import annotations

# Partner Center error codes the suite reacts to (developer/error-codes.md).
CODE_CUSTOMER_AGREEMENT_MISSING = 13605
CODE_STALE_AVAILABILITY = 400019
CODE_ORDER_IN_PROGRESS = 800060
CODE_CART_IN_PROGRESS = 800064
CODE_CART_ALREADY_SUBMITTED = 800065
CODE_NOT_SOLD_IN_COUNTRY = 800070
CODE_CANCELLATION_WINDOW_PASSED = 900117
# Microsoft documents no code for "the domain of a new customer is taken": this is the one the
# simulator sends. A taken domain is recognised by this code whatever the HTTP status (400/409).
CODE_DOMAIN_EXISTS = 600011


class PartnerCenterError(Exception):
    """Base of every error of this package.

    :param description: what happened, in words a reseller's admin can act on
    :param code: Partner Center's numeric error code, when it sent one
    :param status: the HTTP status of the answer, when there was an answer
    :param correlation_id: the ``MS-CorrelationId`` of the failing attempt
    :param request_id: the ``MS-RequestId`` (idempotency key) of the logical call
    """

    default_description = "Partner Center reported an error."
    # Set by ``place_order`` when the failure happened after a cart was created: retry with it.
    cart_id: str | None = None
    # Seconds to wait before repeating the call; ``None``: repeating it unchanged will not help.
    # Only :class:`RetryableError` and its subclasses set it.
    retry_after: float | None = None

    def __init__(
        self,
        description: str | None = None,
        *,
        code: int | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
        request_id: str | None = None,
    ):
        self.description = description or self.default_description
        self.code = code
        self.status = status
        self.correlation_id = correlation_id
        self.request_id = request_id
        super().__init__(self._message())

    def _message(self) -> str:
        facts = []
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.code is not None:
            facts.append(f"code {self.code}")
        if self.correlation_id:
            facts.append(f"correlation id {self.correlation_id}")
        if self.request_id:
            facts.append(f"request id {self.request_id}")
        return f"{self.description} ({', '.join(facts)})" if facts else self.description

    def __reduce__(self):
        # Keep the keyword-only fields when the error crosses a process boundary (queue jobs).
        return (_rebuild_error, (type(self), self.description, dict(self.__dict__)))


def _rebuild_error(cls, description, state):
    error = cls.__new__(cls)
    Exception.__init__(error, description)
    error.__dict__.update(state)
    error.args = (error._message(),)
    return error


class AuthenticationError(PartnerCenterError):
    """The credentials were refused (wrong client id or secret, unknown tenant, 401 answers)."""

    default_description = (
        "Partner Center refused the application's credentials: check the tenant, client id "
        "and client secret of the connection."
    )


class ReconsentRequired(AuthenticationError):
    """The stored refresh token expired or was revoked (``invalid_grant``)."""

    default_description = (
        "The Partner Center refresh token has expired or was revoked. A Partner Center admin must "
        "consent to the application again (secure application model) and store the new refresh "
        "token in the connection settings."
    )


class PermissionDeniedError(PartnerCenterError):
    """HTTP 403: the signed-in account lacks the Partner Center role for this call."""

    default_description = (
        "Partner Center denied the call: the consenting account needs the Admin Agent or Sales "
        "Agent role for this operation."
    )


class RetryableError(PartnerCenterError):
    """A failure that the same call may overcome later: wait ``retry_after`` seconds, then repeat
    it with the same idempotency key (and cart id).

    A background job catches this one type and reschedules itself instead of sleeping.

    :param retry_after: seconds to wait (``Retry-After``, a documented wait, or a backoff step)
    """

    def __init__(self, description: str | None = None, *, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(description, **kw)


class ThrottledError(RetryableError):
    """HTTP 429 still answered when the retry budget or deadline ran out (or in job mode)."""

    default_description = "Partner Center is throttling this partner's calls: try again later."


class TransientError(RetryableError):
    """No definitive answer: 5xx, connection errors or timeouts after the retries, or deadline.

    The same logical call may be repeated later with the same ``request_id``.
    """

    default_description = (
        "Partner Center did not give a definitive answer in time (server error, timeout or lost "
        "connection). Try again later: the operation is safe to repeat."
    )


class NotFoundError(PartnerCenterError):
    """HTTP 404 on a resource read."""

    default_description = "Partner Center does not know this resource."


class StaleAvailability(NotFoundError):
    """The availability id used in a cart is no longer valid (404 or code 400019).

    Availability ids change over time: read them again and retry once.
    """

    default_description = (
        "The catalogue availability used for this order is no longer valid: read the SKU's "
        "availabilities again and retry."
    )


class ConflictError(RetryableError):
    """HTTP 409: the resource is busy (for example a subscription renewing)."""

    default_description = (
        "Partner Center reports a conflicting operation on this resource (it may be renewing): "
        "try again in a few minutes."
    )


class CartInProgress(ConflictError):
    """409 with code 800064: the cart is being processed (a concurrent or repeated checkout)."""

    default_description = "Partner Center is still processing this cart: try again shortly."


class CartAlreadySubmitted(PartnerCenterError):
    """400 with code 800065: this cart was checked out already; the order exists."""

    default_description = "This cart was already submitted: its order exists in Partner Center."


class OrderNotVisibleYet(RetryableError):
    """A cart was submitted but its order is not listed yet (listing may lag up to 15 minutes).

    Retry the same logical checkout later with the same idempotency key and cart id: a second
    cart must not be created.
    """

    default_description = (
        "The order was submitted but Partner Center does not list it yet: check again in a few "
        "minutes (no new order will be placed)."
    )


class DomainNotAvailable(PartnerCenterError):
    """A new customer's domain is taken (by another tenant, or by an earlier creation whose
    answer was lost and which was repeated with another request id: look it up first)."""

    default_description = (
        "This domain is already used by another Microsoft tenant: choose another domain prefix, "
        "or link the existing customer if it is this one."
    )


class MalformedDataError(PartnerCenterError):
    """A payload or a CSV row that cannot be read.

    :param row: the 1-based line number in the file (header is line 1), when known
    :param column: the column or field that is wrong, when known
    """

    default_description = "Partner Center sent data that cannot be read."

    def __init__(
        self,
        description: str | None = None,
        *,
        row: int | None = None,
        column: str | None = None,
        **kw,
    ):
        self.row = row
        self.column = column
        super().__init__(description, **kw)

    def _message(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        base = super()._message()
        return f"{', '.join(where)}: {base}" if where else base


class MissingRateError(PartnerCenterError):
    """No conversion rate for a currency Microsoft does not price in."""

    def __init__(self, currency: str, target: str | None = None):
        self.currency = currency
        self.target = target
        into = f" into {target}" if target else ""
        super().__init__(
            f"No conversion rate from {currency}{into}: set the currency rate before computing "
            "this price."
        )
