"""The provisioning engine: the cron that moves ``ms.csp.provisioning`` records through their steps.

One step is one Partner Center call (a client step method of ``partner_center``), and the cron
commits after each, so what Partner Center did is on record before the next side effect:

- pending, cart or submitted, not searched since the (re)start: ``find_orders(tenant,
  order_marker(key))``; an order found is linked (ordered), else the search is recorded;
- pending, searched: ``create_tagged_cart`` (request id derived from the key and the lines: the
  same cart after a crash), cart id stored, state cart;
- cart: ``checkout_for_key`` (request id derived from the key and the cart): ordered; an unsure
  outcome (no answer, 409, order not listed yet) makes it submitted; 429 keeps it in cart;
- submitted: ``checkout_for_key`` again, same cart and request id: Partner Center replays its
  answer, or answers "already submitted" and the client finds the order by its marker;
- ordered: ``order_provisioning_status`` until every line is fulfilled, then one ``get_order``
  (a read) for the subscription ids: fulfilled.

Retryable errors (429, 409, transient, order not listed yet) postpone the record; Partner
Center's definitive answers fail it. The client runs in job mode: it never sleeps in a worker.
"""

import logging
import random
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from partner_center.client import order_marker
from partner_center.errors import (
    PartnerCenterError,
    RetryableError,
    ThrottledError,
)
from partner_center.resources import split_catalog_item_id

from .ms_csp_provisioning import ACTIVE_STATES, CRON_XMLID

_logger = logging.getLogger(__name__)

BACKOFF_BASE = 10  # seconds; doubled per attempt, with jitter
BACKOFF_MAX = 3600
CHECKOUT_LEASE = timedelta(minutes=5)  # other workers wait this long on a checkout under way
# Before anything may have been ordered, give up after this long and ask a person.
RETRY_WINDOW = timedelta(days=3)


class MsCspProvisioning(models.Model):
    _inherit = "ms.csp.provisioning"

    # === THE BACKGROUND JOB (ms.csp.background.job) === #

    @api.model
    def _ms_cron_process(self, commit=True, **budget):
        """The cron: run due steps, one record at a time (see ``ms.csp.background.job``)."""
        return self._ms_job_process(commit=commit, **budget)

    def _ms_job_due_sql(self):
        # the current time comes from Python, like ``next_attempt_at``
        return SQL(
            "state IN %s AND (next_attempt_at IS NULL OR next_attempt_at <= %s)",
            ACTIVE_STATES,
            fields.Datetime.now(),
        )

    def _ms_job_order_sql(self):
        return SQL("next_attempt_at NULLS FIRST, id")

    def _ms_job_cron(self):
        return self.env.ref(CRON_XMLID)

    def _ms_job_run(self, clients, commit):
        self._ms_run_step(clients, commit)

    # === ONE STEP === #

    def _ms_next_step(self):
        """``(step name, method)`` of the step to run in the current state."""
        self.ensure_one()
        if self.state in ("pending", "cart", "submitted") and not self.order_search_done:
            return "search", self._ms_step_search
        return {
            "pending": ("cart", self._ms_step_create_cart),
            "cart": ("checkout", self._ms_step_checkout),
            "submitted": ("checkout", self._ms_step_checkout),
            "ordered": ("poll", self._ms_step_poll),
        }[self.state]

    def _ms_run_step(self, clients, commit=False):
        """Run the next step in a savepoint; turn its errors into a postponement or a failure.

        Anything but an ``Exception`` (a killed worker) rolls the step back and propagates: the
        record is then claimed again as it was.

        :param commit: commit what must be on record before the call (a checkout about to be
            sent); the caller commits the step's outcome
        """
        self.ensure_one()
        step, method = self._ms_next_step()
        if step == "checkout":
            self._ms_mark_checkout_sent(commit)
        try:
            with self.env.cr.savepoint():
                method(self._ms_job_client(clients, self.instance_id))
        except RetryableError as error:
            self._ms_postpone_after_error(step, error)
        except (PartnerCenterError, ValueError) as error:
            self._ms_set_failed(step, error, kind=_failure_kind(error))
        except Exception as error:  # pylint: disable=broad-except
            # A bug or an unexpected answer must not block the queue: fail this record only.
            _logger.exception("Provisioning %s: step %s failed unexpectedly", self.name, step)
            self._ms_set_failed(
                step,
                self.env._(
                    "Unexpected error during the step (%(type)s: %(error)s). The step may have "
                    "taken effect in Partner Center: Retry checks before ordering.",
                    type=type(error).__name__,
                    error=error,
                ),
                kind="error",
            )

    def _ms_mark_checkout_sent(self, commit):
        """Put on record, before the call, that a checkout of the cart may reach Partner Center.

        Whatever happens next (a crash, a lost answer, a refusal of a repeated checkout), a
        cart once sent is never dropped: Retry checks it out again with the same request id.
        The short lease keeps other workers off the record while the call runs, since the
        commit releases this worker's row lock.
        """
        self.write(
            {
                "checkout_count": self.checkout_count + 1,
                "next_attempt_at": fields.Datetime.now() + CHECKOUT_LEASE,
            }
        )
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _ms_postpone_after_error(self, step, error):
        """Come back after the error's wait or the backoff, whichever is longer; give up after
        ``RETRY_WINDOW`` while nothing can have been ordered yet."""
        if (
            self.state in ("pending", "cart")
            and fields.Datetime.now() - self.last_state_change > RETRY_WINDOW
        ):
            self._ms_set_failed(step, error, kind="error")
            return
        delay = max(error.retry_after or 0.0, self._ms_backoff())
        self._ms_postpone(
            step,
            delay,
            self.env._(
                "%(error)s Next attempt in %(delay)s seconds.",
                error=self.instance_id._ms_error_message(error),
                delay=round(delay),
            ),
            error=error,
        )

    def _ms_backoff(self):
        ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2**self.attempt_count)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    # === STEPS (one Partner Center call each) === #

    def _ms_step_search(self, client):
        """Link an order already placed for the reference; only then may anything be ordered."""
        orders = client.find_orders(self.customer_tenant_id, order_marker(self.idempotency_key))
        if len(orders) > 1:  # only when lines of several billing cycles were ordered at once
            _logger.warning(
                "Provisioning %s: %s orders carry its marker: %s",
                self.name,
                len(orders),
                ", ".join(order.id for order in orders),
            )
        if orders:
            self._ms_set_ordered(
                "search",
                orders[0],
                self.env._("Order %s of this reference found in Partner Center.", orders[0].alias),
            )
            return
        self.order_search_done = True
        self._ms_log_step(
            "search", "success", self.env._("No order of this reference in Partner Center.")
        )

    def _ms_step_create_cart(self, client):
        """Create the tagged cart. Repeated after a crash, the request id (derived from the key
        and the lines) is the same: Partner Center answers the same cart."""
        lines = [line._ms_cart_line_item() for line in self.line_ids]
        if not lines:
            raise ValueError(self.env._("Provisioning %s has no line to order.", self.name))
        country = (self.country_code or "").upper() or None
        if any(not split_catalog_item_id(line.catalog_item_id)[2] for line in lines):
            if not country:
                raise ValueError(
                    self.env._(
                        "A line has no availability id and the customer's country is unknown."
                    )
                )
            lines = client.refresh_line_items(lines, country)
        cart_id = client.create_tagged_cart(
            self.customer_tenant_id, lines, self.idempotency_key, country=country
        )
        self._ms_set_cart("cart", cart_id)

    def _ms_step_checkout(self, client):
        """Check the cart out with the request id derived from the key and the cart.

        After an unsure outcome the record is ``submitted`` and the same checkout is repeated:
        Partner Center replays its answer, or says "already submitted" and the client finds the
        order by its marker. A second cart is never created.
        """
        try:
            result = client.checkout_for_key(
                self.customer_tenant_id, self.cart_id, self.idempotency_key
            )
        except ThrottledError:
            raise  # refused before processing: the cart was not submitted
        except RetryableError as error:
            if self.state == "cart":
                self._ms_set_submitted(
                    "checkout",
                    self.env._("The checkout was sent but its outcome is not known yet."),
                )
            self._ms_postpone_after_error("checkout", error)
            return
        if not result.orders:
            first = result.order_errors[0] if result.order_errors else None
            raise PartnerCenterError(
                first.description if first else self.env._("The checkout placed no order."),
                code=first.code if first else None,
            )
        order = result.orders[0]
        self._ms_set_ordered("checkout", order, self.env._("Order %s placed.", order.alias))

    def _ms_step_poll(self, client):
        """Follow the order until every line is fulfilled, then read the subscription ids."""
        tenant = self.customer_tenant_id
        statuses = client.order_provisioning_status(tenant, self.ms_order_id)
        self.line_ids._ms_store_provisioning_status(statuses)
        if not statuses or not all(status.is_fulfilled for status in statuses):
            self._ms_postpone(
                "poll",
                self._ms_backoff(),
                self.env._("Partner Center is still provisioning order %s.", self.ms_order_alias),
            )
            return
        order = client.get_order(tenant, self.ms_order_id)  # a read: subscription ids
        self.line_ids._ms_store_order_lines(order.line_items)
        self._ms_set_fulfilled("poll", self.env._("Order %s fulfilled.", self.ms_order_alias))


def _failure_kind(error):
    """``refused`` when Partner Center definitively said no (a 4xx answer, or our own check
    before any call); ``error`` when the call may have taken effect."""
    if isinstance(error, ValueError):
        return "refused"
    status = getattr(error, "status", None) or 0
    return "refused" if 400 <= status < 500 and status not in (408, 409, 429) else "error"
