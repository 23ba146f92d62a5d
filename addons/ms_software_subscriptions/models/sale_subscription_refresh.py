"""Reading a Microsoft subscription back from Partner Center: Software ID, expiration, status.

Partner Center places the order at once, but the subscription becomes readable, and its
expiration date known, only minutes later. Once the engine reports the order fulfilled, the
subscription is due for a read (``ms_refresh_at``); the cron of this addon reads due
subscriptions one at a time (claimed with ``FOR NO KEY UPDATE SKIP LOCKED``, one read each,
committed per record) and comes back with a growing delay while the values are missing. The
provisioning engine is not reused for this: its record is a whole order, finished once
fulfilled, and these reads concern each subscription.

A manager's "Refresh from Microsoft" does the same read on demand.
"""

import logging
from datetime import date, datetime, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from partner_center.errors import NotFoundError, PartnerCenterError, RetryableError

from ..const import NO_AUTO_RENEW_PUSH, REFRESH_CRON_XMLID, STATUS_BY_PARTNER_CENTER_STATUS

_logger = logging.getLogger(__name__)

REFRESH_BACKOFF_BASE = 60  # seconds, doubled per attempt
REFRESH_BACKOFF_MAX = 3600
# After this many reads without the values (about a day with the backoff above), stop
# polling and say so: a manager can still refresh by hand.
REFRESH_MAX_ATTEMPTS = 30


# split by role from sale_subscription.py: this file talks to Partner Center
class SaleSubscription(models.Model):
    _name = "sale.subscription"
    _inherit = ["sale.subscription", "ms.csp.background.job"]

    # === SCHEDULING === #

    def _ms_schedule_refresh(self, delay=0.0):
        when = fields.Datetime.now() + timedelta(seconds=delay)
        self.write({"ms_refresh_at": when})
        self.env.ref(REFRESH_CRON_XMLID).sudo()._trigger(at=when)

    # === THE BACKGROUND JOB (ms.csp.background.job) === #

    @api.model
    def _ms_cron_refresh(self, commit=True, **budget):
        """The cron: read due subscriptions from Partner Center, one at a time."""
        return self._ms_job_process(commit=commit, **budget)

    def _ms_job_due_sql(self):
        return SQL("ms_refresh_at <= %s", fields.Datetime.now())

    def _ms_job_order_sql(self):
        return SQL("ms_refresh_at, id")

    def _ms_job_cron(self):
        return self.env.ref(REFRESH_CRON_XMLID)

    def _ms_job_run(self, clients, commit):
        self._ms_refresh_step(clients)

    def _ms_refresh_step(self, clients):
        """One read; a missing value or a retryable error brings the subscription back later."""
        self.ensure_one()
        instance = self.ms_instance_id
        try:
            with self.env.cr.savepoint():
                complete = self._ms_read_from_partner_center(self._ms_job_client(clients, instance))
        except RetryableError as error:
            self._ms_refresh_later(error.retry_after)
        except NotFoundError:
            self._ms_refresh_later()  # not readable yet
        except PartnerCenterError as error:
            self._ms_refresh_later(message=instance._ms_error_message(error))
        except Exception as error:  # pylint: disable=broad-except
            # an unexpected answer must not block the other subscriptions
            _logger.exception("Subscription %s: reading Partner Center failed", self.id)
            self._ms_refresh_later(message=str(error))
        else:
            if complete:
                self.write({"ms_refresh_at": False, "ms_refresh_attempts": 0})
            else:
                self._ms_refresh_later()

    def _ms_refresh_later(self, wait=None, message=None):
        attempts = self.ms_refresh_attempts + 1
        if attempts >= REFRESH_MAX_ATTEMPTS:
            self.write({"ms_refresh_at": False, "ms_refresh_attempts": 0})
            self.message_post(
                body=self.env._(
                    "Partner Center did not return the Software ID and expiration date after %s "
                    "reads; automatic reading stopped. A Microsoft CSP manager can use "
                    '"Refresh from Microsoft" later.',
                    attempts,
                )
            )
            return
        delay = max(wait or 0.0, min(REFRESH_BACKOFF_MAX, REFRESH_BACKOFF_BASE * 2**attempts))
        self.ms_refresh_attempts = attempts
        self._ms_schedule_refresh(delay)
        if message:
            _logger.warning("Subscription %s: %s", self.id, message)

    # === ONE READ === #

    def _ms_read_from_partner_center(self, client):
        """Read the subscription (or, while its id is unknown, its order) and store what came.

        :return: whether the Software ID and the expiration date are both known now
        """
        self.ensure_one()
        tenant = self.ms_provisioning_id.customer_tenant_id
        if not (tenant and self.ms_order_id):
            raise UserError(
                self.env._(
                    "%s has no Microsoft order yet: nothing to read from Partner Center.",
                    self.display_name,
                )
            )
        if not self.ms_subscription_id:
            order = client.get_order(tenant, self.ms_order_id)
            number = self.ms_provisioning_line_id.line_item_number
            item = next(
                (
                    item
                    for item in order.line_items
                    if item.line_item_number == number and item.subscription_id
                ),
                None,
            )
            if item:
                self.ms_subscription_id = item.subscription_id
            return False
        subscription = client.get_subscription(tenant, self.ms_subscription_id)
        self.with_context(**{NO_AUTO_RENEW_PUSH: True}).write(
            self._ms_values_from_subscription(subscription)
        )
        return bool(self.ms_software_id and self.ms_software_expiration_date)

    def _ms_values_from_subscription(self, subscription):
        """Our fields from Partner Center's subscription (only those it knows)."""
        values = {"ms_software_id": subscription.id}
        expiration = _to_date(subscription.commitment_end_date)
        if expiration:
            values["ms_software_expiration_date"] = expiration
        status = STATUS_BY_PARTNER_CENTER_STATUS.get(subscription.status or "")
        if status:
            values["ms_status"] = status
        return {name: value for name, value in values.items() if self[name] != value}

    # === ACTIONS === #

    def action_ms_refresh(self):
        """Read these subscriptions from Partner Center now (managers): one read each."""
        self._ms_check_manager()
        subscriptions = self.filtered("ms_order_id").sudo()
        if not subscriptions:
            raise UserError(
                self.env._(
                    "Partner Center has no order for these subscriptions yet: nothing to read."
                )
            )
        for instance in subscriptions.ms_instance_id:
            with instance._ms_client() as client:
                for subscription in subscriptions.filtered(
                    lambda record, instance=instance: record.ms_instance_id == instance
                ):
                    subscription._ms_refresh_interactive(client)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Read from Microsoft"),
                "message": self.env._(
                    "%s subscription(s) read from Partner Center.", len(subscriptions)
                ),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _ms_refresh_interactive(self, client):
        try:
            complete = self._ms_read_from_partner_center(client)
        except NotFoundError as error:
            raise UserError(
                self.env._(
                    "Partner Center does not show the subscription of %(name)s yet (%(error)s): "
                    "it often takes some minutes after the order. Try again later.",
                    name=self.display_name,
                    error=error,
                )
            ) from error
        except PartnerCenterError as error:
            raise UserError(self.ms_instance_id._ms_error_message(error)) from error
        if complete:
            self.write({"ms_refresh_at": False, "ms_refresh_attempts": 0})


def _to_date(value):
    """A date from Partner Center's timestamp (a datetime, or a text it could not parse)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None
