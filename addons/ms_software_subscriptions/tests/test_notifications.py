from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from odoo.addons.mail.tests.common import MailCase

from ..const import PARAM_NOTIFY_EXPIRY_REMINDER, PARAM_NOTIFY_PROVISIONING_FAILURE
from .common import MsSoftwareSubscriptionCase


@tagged("post_install", "-at_install")
class TestNotifications(MsSoftwareSubscriptionCase, MailCase):
    """The provisioning-failure alert and the expiry reminder, each switchable."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reseller.email = "billing@reseller.example.com"
        cls.salesman = cls.env["res.users"].create(
            {
                "name": "Sally Salesman",
                "login": "sally.ms",
                "email": "sally@example.com",
                "groups_id": [(6, 0, [cls.env.ref("sales_team.group_sale_salesman").id])],
            }
        )
        cls.manager = cls.env["res.users"].create(
            {
                "name": "Max Manager",
                "login": "max.ms",
                "email": "max@example.com",
                "groups_id": [(6, 0, [cls.env.ref("ms_csp_base.group_ms_csp_manager").id])],
            }
        )

    def switch(self, parameter, enabled):
        settings = self.env["res.config.settings"].create({})
        field = {
            PARAM_NOTIFY_PROVISIONING_FAILURE: "ms_notify_provisioning_failure",
            PARAM_NOTIFY_EXPIRY_REMINDER: "ms_notify_expiry_reminder",
        }[parameter]
        settings[field] = enabled
        settings.execute()

    def mails_with_subject(self, text):
        """Mails about subscriptions (the engine's activity on the provisioning mails too)."""
        return self._new_mails.filtered(
            lambda mail: mail.model == "sale.subscription" and text in (mail.subject or "")
        )

    # === PROVISIONING FAILURE === #

    def failed_subscription(self):
        self.simulator.set_faults(["checkout:400"])
        subscription = self.subscriptions_of(self.confirmed(user_id=self.salesman.id))
        self.run_engine_until_final(subscription.ms_provisioning_id)
        self.assertEqual(subscription.ms_sync_state, "failed")
        return subscription

    def test_a_failed_provisioning_alerts_the_salesperson_and_managers(self):
        self.assertTrue(
            self.env["sale.subscription"]._ms_notification_enabled(
                PARAM_NOTIFY_PROVISIONING_FAILURE
            ),
            "on by default",
        )
        with self.mock_mail_gateway():
            subscription = self.failed_subscription()
        alerts = self.mails_with_subject("Microsoft provisioning failed")
        self.assertEqual(len(alerts), 1)
        self.assertEqual(alerts.state, "outgoing")
        self.assertIn(self.manager.partner_id, alerts.recipient_ids)
        # the salesperson is the provisioning's responsible: one mail, the activity's
        activity = subscription.ms_provisioning_id.activity_ids
        self.assertEqual(activity.user_id, self.salesman)
        self.assertNotIn(self.salesman.partner_id, alerts.recipient_ids)
        to_salesman = self._new_mails.filtered(
            lambda mail: self.salesman.partner_id in mail.recipient_ids
            and mail.model != "sale.order"
        )  # Odoo tells of the order assigned to her
        self.assertEqual(len(to_salesman), 1, "one mail per person and failure")
        self.assertEqual(to_salesman.model, "ms.csp.provisioning")
        self.assertIn("Microsoft provisioning failed", to_salesman.body_html)
        self.assertNotIn(self.reseller, alerts.recipient_ids, "internal only")
        self.assertIn(subscription.name, alerts.subject)
        self.assertIn("HTTP 400", alerts.body_html)

    def test_no_failure_alert_when_switched_off(self):
        self.switch(PARAM_NOTIFY_PROVISIONING_FAILURE, False)
        with self.mock_mail_gateway():
            self.failed_subscription()
        self.assertFalse(self.mails_with_subject("Microsoft provisioning failed"))

    # === EXPIRY REMINDER === #

    def expiring_subscription(self, days=30, auto_renew=False):
        subscription = self.subscriptions_of(self.confirmed())
        self.run_engine()
        self.run_refresh()
        subscription.with_context(ms_auto_renew_no_push=True).write(
            {
                "ms_auto_renew": auto_renew,
                "ms_software_expiration_date": fields.Date.today() + timedelta(days=days),
            }
        )
        return subscription

    def run_reminders(self):
        return self.env["sale.subscription"]._ms_cron_expiry_reminders()

    def test_customer_is_reminded_once_30_days_before_expiry_when_auto_renew_is_off(self):
        subscription = self.expiring_subscription(days=30)
        with self.mock_mail_gateway():
            self.assertEqual(self.run_reminders(), 1)
        self.assertMailMail(self.reseller, "outgoing")
        reminder = self._new_mails
        self.assertEqual(len(reminder), 1)
        self.assertIn(
            f"Your Microsoft subscription {subscription.name} expires on", reminder.subject
        )
        self.assertIn(subscription.ms_order_id, reminder.body_html)
        self.assertIn(subscription.access_url, reminder.body_html)
        self.assertEqual(
            subscription.ms_expiry_reminder_date, subscription.ms_software_expiration_date
        )
        with self.mock_mail_gateway():
            self.assertEqual(self.run_reminders(), 0, "each reminder is sent once")
        self.assertFalse(self._new_mails)

    def test_no_reminder_when_auto_renew_is_on_or_expiry_is_far(self):
        self.expiring_subscription(days=20, auto_renew=True)
        self.expiring_subscription(days=45)
        with self.mock_mail_gateway():
            self.assertEqual(self.run_reminders(), 0)
        self.assertFalse(self._new_mails)

    def test_the_reminder_falls_due_30_days_before_the_expiration_date(self):
        subscription = self.expiring_subscription()
        subscription.with_context(
            ms_auto_renew_no_push=True
        ).ms_software_expiration_date = "2031-12-31"
        with self.mock_mail_gateway():
            with freeze_time("2031-11-30"):  # 31 days before
                self.assertEqual(self.run_reminders(), 0)
            with freeze_time("2031-12-01"):  # 30 days before
                self.assertEqual(self.run_reminders(), 1)
            with freeze_time("2032-01-01"):  # expired: nothing more to remind
                self.assertEqual(self.run_reminders(), 0)
        self.assertEqual(len(self._new_mails), 1)

    def test_no_reminder_when_switched_off(self):
        self.switch(PARAM_NOTIFY_EXPIRY_REMINDER, False)
        self.expiring_subscription(days=10)
        with self.mock_mail_gateway():
            self.assertEqual(self.run_reminders(), 0)
        self.assertFalse(self._new_mails)

    def test_settings_show_both_switches(self):
        view = self.env["res.config.settings"].get_views([(False, "form")])["views"]["form"]
        self.assertIn("ms_notify_provisioning_failure", view["arch"])
        self.assertIn("ms_notify_expiry_reminder", view["arch"])
