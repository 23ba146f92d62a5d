"""Mails about Microsoft subscriptions (the reference product sends none).

- An internal alert to the subscription's salesperson and the Microsoft CSP managers when its
  provisioning fails (called by the engine's ``_ms_on_failed`` hook, ``ms_csp_provisioning.py``),
  except to whom the engine's failure activity already went: one mail per person and failure.
- A reminder to the customer ``EXPIRY_REMINDER_DAYS`` days before the Software Expiration Date
  when auto-renew is off (a daily cron); sent once per expiration date
  (``ms_expiry_reminder_date``), so a renewed subscription is reminded again before its next
  expiry.

Each is switched on or off in the settings (``res_config_settings.py``).
"""

from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.tools import str2bool

from ..const import (
    EXPIRY_REMINDER_DAYS,
    EXPIRY_REMINDER_TEMPLATE_XMLID,
    MANAGER_GROUP,
    PARAM_NOTIFY_EXPIRY_REMINDER,
    PARAM_NOTIFY_PROVISIONING_FAILURE,
    PROVISIONING_FAILURE_TEMPLATE_XMLID,
)


# split by role from sale_subscription.py: this file sends the mails
class SaleSubscription(models.Model):
    _name = "sale.subscription"
    _inherit = ["sale.subscription"]

    ms_expiry_reminder_date = fields.Date(
        string="Expiry reminder sent for",
        readonly=True,
        copy=False,
        help="The Software Expiration Date the customer was last reminded of.",
    )

    @api.model
    def _ms_notification_enabled(self, parameter):
        return str2bool(
            self.env["ir.config_parameter"].sudo().get_param(parameter) or "False", default=False
        )

    # === PROVISIONING FAILURE (internal) === #

    def _ms_send_provisioning_failure_alerts(self):
        """Queue an alert per subscription to its salesperson and the managers."""
        if not self or not self._ms_notification_enabled(PARAM_NOTIFY_PROVISIONING_FAILURE):
            return
        template = self.env.ref(PROVISIONING_FAILURE_TEMPLATE_XMLID, raise_if_not_found=False)
        if not template:
            return
        managers = (
            self.env.ref(MANAGER_GROUP)
            .sudo()
            .users.filtered(lambda user: user.active and not user.share)
            .partner_id
        )
        for subscription in self.sudo():
            # the engine's activity (with its mail) already told its assignee
            told = subscription.ms_provisioning_id.activity_ids.user_id.partner_id
            recipients = (subscription.user_id.partner_id | managers).filtered("email") - told
            if recipients:
                template.sudo().send_mail(
                    subscription.id, email_values={"recipient_ids": [Command.set(recipients.ids)]}
                )

    # === EXPIRY REMINDER (customer) === #

    @api.model
    def _ms_cron_expiry_reminders(self):
        """Remind customers of subscriptions that expire soon and will not renew."""
        if not self._ms_notification_enabled(PARAM_NOTIFY_EXPIRY_REMINDER):
            return 0
        template = self.env.ref(EXPIRY_REMINDER_TEMPLATE_XMLID)
        today = fields.Date.context_today(self)
        subscriptions = (
            self.sudo()
            .search(
                [
                    ("ms_is_microsoft", "=", True),
                    ("ms_status", "=", "active"),
                    ("ms_auto_renew", "=", False),
                    ("ms_software_expiration_date", ">=", today),
                    (
                        "ms_software_expiration_date",
                        "<=",
                        today + timedelta(days=EXPIRY_REMINDER_DAYS),
                    ),
                ]
            )
            .filtered(
                lambda subscription: subscription.ms_expiry_reminder_date
                != subscription.ms_software_expiration_date
            )
        )
        for subscription in subscriptions:
            template.send_mail(subscription.id)
            subscription.ms_expiry_reminder_date = subscription.ms_software_expiration_date
        return len(subscriptions)
