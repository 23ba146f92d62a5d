from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CONTOSO, MsSoftwareSubscriptionCase


@tagged("post_install", "-at_install")
class TestAutoRenewPush(MsSoftwareSubscriptionCase):
    """Auto-renew changed in Odoo reaches Partner Center through the refresh job."""

    def synced_subscription(self):
        subscription = self.subscriptions_of(self.confirmed())
        self.run_engine()
        self.run_refresh()
        self.assertTrue(subscription.ms_software_id)
        self.assertTrue(subscription.ms_auto_renew)
        self.assertTrue(self.simulator_state(subscription)["autoRenewEnabled"])
        self.simulator.requests_log(clear=True)
        return subscription

    def simulator_state(self, subscription):
        return self.simulator.commerce.get_subscription(CONTOSO, subscription.ms_subscription_id)

    def patches(self):
        return [entry for entry in self.api_calls() if entry["method"] == "PATCH"]

    def test_turning_auto_renew_off_is_pushed_as_a_full_object_patch(self):
        subscription = self.synced_subscription()
        subscription.ms_auto_renew = False
        self.assertTrue(subscription.ms_auto_renew_push_at, "marked to push")
        self.assertFalse(self.api_calls(), "nothing sent in the user's transaction")
        self.run_refresh()
        self.assertEqual(len(self.patches()), 1)
        self.assertEqual(
            [entry["method"] for entry in self.api_calls()],
            ["GET", "PATCH"],
            "the full object is read just before the PATCH",
        )
        state = self.simulator_state(subscription)
        self.assertIs(state["autoRenewEnabled"], False)
        self.assertEqual(state["id"], subscription.ms_subscription_id)
        self.assertEqual(state["status"], "active", "the rest of the object is kept")
        self.assertFalse(subscription.ms_auto_renew)
        self.assertFalse(subscription.ms_auto_renew_push_at)
        self.assertFalse(subscription.ms_auto_renew_error)
        self.assertIn(
            "Auto-renew is off in Partner Center", " ".join(subscription.message_ids.mapped("body"))
        )
        # and back on
        subscription.ms_auto_renew = True
        self.run_refresh()
        self.assertIs(self.simulator_state(subscription)["autoRenewEnabled"], True)

    def test_auto_renew_changed_in_partner_center_is_read_back_without_a_push(self):
        subscription = self.synced_subscription()
        with self.instance._ms_client() as client:  # the change made in Partner Center itself
            client.set_auto_renew(CONTOSO, subscription.ms_subscription_id, False)
        self.simulator.requests_log(clear=True)
        subscription.sudo()._ms_schedule_refresh()
        self.run_refresh()
        self.assertFalse(subscription.ms_auto_renew, "Odoo shows Partner Center's value")
        self.assertFalse(subscription.ms_auto_renew_push_at, "and sends nothing back")
        self.assertEqual([entry["method"] for entry in self.api_calls()], ["GET"])
        self.assertIs(self.simulator_state(subscription)["autoRenewEnabled"], False)
        tracked = subscription.message_ids.tracking_value_ids.filtered(
            lambda value: value.field_id.name == "ms_auto_renew"
        )
        self.assertTrue(tracked, "the change is in the chatter")

    def test_a_conflict_during_renewal_is_retried_later_without_error(self):
        subscription = self.synced_subscription()
        self.simulator.set_faults(["PATCH /v1/customers/[^/]+/subscriptions/[^/]+$:409/120::1"])
        subscription.ms_auto_renew = False
        # a second ahead: Odoo's clock has whole seconds, tokens already issued stay valid
        now = fields.Datetime.now() + timedelta(seconds=1)
        with freeze_time(now):
            self.run_refresh()
        self.assertEqual(len(self.patches()), 1)
        self.assertTrue(self.simulator_state(subscription)["autoRenewEnabled"])
        self.assertFalse(subscription.ms_auto_renew, "Odoo keeps the value asked for")
        self.assertFalse(subscription.ms_auto_renew_error, "a renewal is no error")
        self.assertEqual(
            subscription.ms_auto_renew_push_at,
            now + timedelta(seconds=120),
            "retried after Retry-After",
        )
        self.assertEqual(self.run_refresh(), 0, "not due before its retry time")
        self.elapse(subscription, "ms_auto_renew_push_at")
        self.run_refresh()
        self.assertIs(self.simulator_state(subscription)["autoRenewEnabled"], False)
        self.assertFalse(subscription.ms_auto_renew_push_at)
        self.assertFalse(subscription.ms_auto_renew_error)

    def test_a_refused_change_is_shown_and_reverted(self):
        subscription = self.synced_subscription()
        self.simulator.set_faults(["subscription-patch:400::1"])
        subscription.ms_auto_renew = False
        self.run_refresh()
        self.assertTrue(subscription.ms_auto_renew, "back to Partner Center's value")
        self.assertTrue(self.simulator_state(subscription)["autoRenewEnabled"])
        self.assertIn("HTTP 400", subscription.ms_auto_renew_error)
        self.assertFalse(subscription.ms_auto_renew_push_at)
        self.assertIn(
            "refused to turn auto-renew off", " ".join(subscription.message_ids.mapped("body"))
        )
        self.assertFalse(subscription.ms_auto_renew_push_at, "the revert is not pushed")

    def test_a_push_that_fails_otherwise_keeps_the_value_and_can_be_sent_again(self):
        subscription = self.synced_subscription()
        self.simulator.set_faults(["subscription-patch:403::1"])
        subscription.ms_auto_renew = False
        self.run_refresh()
        self.assertFalse(subscription.ms_auto_renew, "not refused by Partner Center: kept")
        self.assertTrue(subscription.ms_auto_renew_error)
        subscription.action_ms_push_auto_renew()
        self.run_refresh()
        self.assertFalse(subscription.ms_auto_renew_error)
        self.assertIs(self.simulator_state(subscription)["autoRenewEnabled"], False)

    def test_before_the_subscription_id_is_known_the_push_waits(self):
        self.simulator.update_settings(fulfilment_delay=600)
        subscription = self.subscriptions_of(self.confirmed())
        self.run_engine()
        subscription.ms_auto_renew = False
        self.assertEqual(self.run_refresh(), 0, "no Partner Center subscription to change yet")
        self.assertTrue(subscription.ms_auto_renew_push_at)

    def test_only_managers_change_auto_renew(self):
        subscription = self.synced_subscription()
        user = self.make_user(
            "csp.user.autorenew", "sales_team.group_sale_manager", "ms_csp_base.group_ms_csp_user"
        )
        with self.assertRaises(AccessError):
            subscription.with_user(user).ms_auto_renew = False
        manager = self.make_user(
            "csp.manager.autorenew",
            "sales_team.group_sale_manager",
            "ms_csp_base.group_ms_csp_manager",
        )
        subscription.with_user(manager).ms_auto_renew = False
        self.assertTrue(subscription.ms_auto_renew_push_at)
