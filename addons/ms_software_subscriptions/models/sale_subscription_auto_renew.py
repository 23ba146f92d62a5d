"""Pushing auto-renew changed in Odoo to Partner Center.

A manager's change of ``ms_auto_renew`` marks the subscription (``ms_auto_renew_push_at``); the
refresh job of ``sale_subscription_refresh.py`` claims it and, in a second pass after its read,
calls ``set_auto_renew`` in job mode (a GET, then a PATCH of that full object with the flag: a
partial body would turn auto-renew off). Outcomes:

- done: the value Partner Center answers is kept, the mark cleared;
- retryable (409 while the subscription renews, throttling, outages) or not readable yet (404):
  pushed again later (``retry_after``), nothing shown, until ``PUSH_MAX_ATTEMPTS``;
- Partner Center refused the change (a 4xx answer about it): the error is shown on the
  subscription (field + chatter) and the Odoo value reverts to what Partner Center keeps;
- anything else (credentials, an unexpected answer): the error is shown, the Odoo value kept,
  and a manager may push again.
"""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from partner_center.errors import (
    AuthenticationError,
    NotFoundError,
    PartnerCenterError,
    PermissionDeniedError,
    RetryableError,
)

from ..const import MANAGER_GROUP, NO_AUTO_RENEW_PUSH, REFRESH_CRON_XMLID

_logger = logging.getLogger(__name__)

PUSH_BACKOFF_BASE = 60  # seconds, doubled per attempt
PUSH_BACKOFF_MAX = 3600
PUSH_MAX_ATTEMPTS = 20


# split by role from sale_subscription.py: this file pushes auto-renew to Partner Center
class SaleSubscription(models.Model):
    _name = "sale.subscription"
    _inherit = ["sale.subscription"]

    ms_auto_renew_push_at = fields.Datetime(
        string="Auto-renew push due",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Auto-renew was changed in Odoo and is sent to Partner Center at this time (once "
        "the Partner Center subscription id is known).",
    )
    ms_auto_renew_push_attempts = fields.Integer(readonly=True, copy=False)
    ms_auto_renew_error = fields.Text(
        string="Auto-renew push error",
        readonly=True,
        copy=False,
        help="Why the last auto-renew change could not be applied in Partner Center.",
    )

    # === MARKING === #

    def write(self, vals):
        self._ms_check_may_change(vals)
        if "ms_auto_renew" not in vals or self.env.context.get(NO_AUTO_RENEW_PUSH):
            return super().write(vals)
        changed = self.filtered(
            lambda subscription: subscription.ms_is_microsoft
            and subscription.ms_auto_renew != bool(vals["ms_auto_renew"])
        )
        result = super().write(vals)
        changed._ms_mark_auto_renew_push()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_microsoft_for_non_managers(self):
        if self.filtered("ms_is_microsoft") and not self._ms_is_manager():
            raise AccessError(
                self.env._(
                    "Only Microsoft CSP managers can delete a Microsoft subscription: its "
                    "Microsoft ids would be lost."
                )
            )

    def _ms_is_manager(self):
        return self.env.su or self.env.user.has_group(MANAGER_GROUP)

    def _ms_check_may_change(self, vals):
        """What ties a Microsoft subscription to Partner Center and to its customers is changed
        by the suite (as superuser) or by Microsoft CSP managers only: subscription_oca lets
        every salesperson write subscriptions."""
        protected = [name for name in vals if name.startswith("ms_") or name == "partner_id"]
        if protected and self.filtered("ms_is_microsoft") and not self._ms_is_manager():
            raise AccessError(
                self.env._(
                    "Only Microsoft CSP managers can change %s of a Microsoft subscription: it is "
                    "what links it to Partner Center and its customers.",
                    ", ".join(
                        self._fields[name].string for name in protected if name in self._fields
                    ),
                )
            )

    def _ms_mark_auto_renew_push(self):
        if not self:
            return
        self.write(
            {
                "ms_auto_renew_push_at": fields.Datetime.now(),
                "ms_auto_renew_error": False,
                "ms_auto_renew_push_attempts": 0,
            }
        )
        self.env.ref(REFRESH_CRON_XMLID).sudo()._trigger()

    def action_ms_push_auto_renew(self):
        """Send the auto-renew value to Partner Center again (after an error shown)."""
        self._ms_check_manager()
        subscriptions = self.filtered("ms_is_microsoft")
        if not subscriptions:
            raise UserError(self.env._("Only Microsoft subscriptions have auto-renew to send."))
        subscriptions.sudo()._ms_mark_auto_renew_push()

    # === THE BACKGROUND JOB: A SECOND PASS (see sale_subscription_refresh.py) === #

    def _ms_job_due_sql(self):
        return SQL("(%s) OR (%s)", super()._ms_job_due_sql(), self._ms_auto_renew_due_sql())

    def _ms_auto_renew_due_sql(self):
        return SQL(
            "ms_auto_renew_push_at <= %s AND ms_subscription_id IS NOT NULL", fields.Datetime.now()
        )

    def _ms_job_order_sql(self):
        return SQL("LEAST(ms_refresh_at, ms_auto_renew_push_at), id")

    def _ms_job_run(self, clients, commit):
        now = fields.Datetime.now()
        result = None
        if self.ms_refresh_at and self.ms_refresh_at <= now:
            result = super()._ms_job_run(clients, commit)  # may learn the Partner Center id
        if (
            self.ms_auto_renew_push_at
            and self.ms_auto_renew_push_at <= now
            and self.ms_subscription_id
        ):
            self._ms_push_auto_renew_step(clients)
        return result

    def _ms_values_from_subscription(self, subscription):
        """Partner Center's auto-renew is the truth (it may be changed there, or have been set
        before Odoo knew the subscription), unless a change made in Odoo is on its way or could
        not be sent (shown as an error until sent again)."""
        values = super()._ms_values_from_subscription(subscription)
        answered = subscription.auto_renew_enabled
        if (
            answered is not None
            and answered != self.ms_auto_renew
            and not self.ms_auto_renew_push_at
            and not self.ms_auto_renew_error  # a change Odoo could not send is still Odoo's
        ):
            values["ms_auto_renew"] = answered
        return values

    # === ONE PUSH === #

    def _ms_push_auto_renew_step(self, clients):
        self.ensure_one()
        instance = self.ms_instance_id
        enabled = self.ms_auto_renew
        try:
            with self.env.cr.savepoint():
                subscription = self._ms_job_client(clients, instance).set_auto_renew(
                    self.ms_provisioning_id.customer_tenant_id, self.ms_subscription_id, enabled
                )
        except (RetryableError, NotFoundError) as error:
            # 409 while Partner Center renews the subscription, throttling, an outage, or the
            # subscription not readable yet: the same push later, nothing to show
            self._ms_push_auto_renew_later(error)
        except PartnerCenterError as error:
            if isinstance(error, AuthenticationError):
                instance._ms_record_connection_error(error)
            self._ms_auto_renew_push_failed(
                instance._ms_error_message(error), refused=_is_refusal(error)
            )
        except Exception as error:  # pylint: disable=broad-except
            _logger.exception("Subscription %s: pushing auto-renew failed", self.id)
            self._ms_auto_renew_push_failed(str(error), refused=False)
        else:
            self._ms_auto_renew_pushed(enabled, subscription.auto_renew_enabled)

    def _ms_auto_renew_pushed(self, enabled, answered):
        values = {
            "ms_auto_renew_push_at": False,
            "ms_auto_renew_push_attempts": 0,
            "ms_auto_renew_error": False,
        }
        if answered is not None and answered != enabled:
            values["ms_auto_renew"] = answered  # Partner Center has the last word
        self.with_context(**{NO_AUTO_RENEW_PUSH: True}).write(values)
        self.message_post(
            body=self.env._(
                "Auto-renew is %s in Partner Center.",
                self.env._("on") if self.ms_auto_renew else self.env._("off"),
            )
        )

    def _ms_push_auto_renew_later(self, error):
        attempts = self.ms_auto_renew_push_attempts + 1
        if attempts >= PUSH_MAX_ATTEMPTS:
            self._ms_auto_renew_push_failed(
                self.env._(
                    "Partner Center did not accept the change after %(attempts)s attempts (last "
                    "answer: %(error)s). A Microsoft CSP manager can send it again later.",
                    attempts=attempts,
                    error=error,
                ),
                refused=False,
            )
            return
        delay = max(
            error.retry_after or 0.0, min(PUSH_BACKOFF_MAX, PUSH_BACKOFF_BASE * 2**attempts)
        )
        when = fields.Datetime.now() + timedelta(seconds=delay)
        self.write({"ms_auto_renew_push_at": when, "ms_auto_renew_push_attempts": attempts})
        self.env.ref(REFRESH_CRON_XMLID).sudo()._trigger(at=when)
        _logger.info("Subscription %s: auto-renew pushed again in %ss (%s)", self.id, delay, error)

    def _ms_auto_renew_push_failed(self, message, refused):
        """Show the error; when Partner Center refused the change, go back to its value."""
        values = {
            "ms_auto_renew_push_at": False,
            "ms_auto_renew_push_attempts": 0,
            "ms_auto_renew_error": message,
        }
        if refused:
            values["ms_auto_renew"] = not self.ms_auto_renew
            body = self.env._(
                "Partner Center refused to turn auto-renew %(state)s: %(error)s. Auto-renew is "
                "back to %(previous)s, as in Partner Center.",
                state=self.env._("on") if self.ms_auto_renew else self.env._("off"),
                error=message,
                previous=self.env._("off") if self.ms_auto_renew else self.env._("on"),
            )
        else:
            body = self.env._(
                "Auto-renew could not be sent to Partner Center: %s. The value in Odoo is kept; "
                'a Microsoft CSP manager can send it again ("Send auto-renew").',
                message,
            )
        self.with_context(**{NO_AUTO_RENEW_PUSH: True}).write(values)
        self.message_post(body=body)


def _is_refusal(error):
    """Partner Center answered and refused this change (not the credentials, not a lookup)."""
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return False
    return error.status is not None and 400 <= error.status < 500
