"""The provisioning engine against the Partner Center simulator, over real HTTPS.

The "consumer" is the test itself: it creates provisioning records with lines for SKUs the
simulator sells to its US demo customer, then runs the cron step by step (``commit=False``: each
step in a savepoint of the test's transaction). Time passing is played by moving the records'
``next_attempt_at`` to now between runs.
"""

import threading
import uuid
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.base.tests.test_ir_cron import CronMixinCase

from partner_center import PartnerCenterClient
from partner_center.client import order_marker

from .common import MsCspSimulatorCase

# the Partner Center failures these tests provoke are logged there, and expected
INSTANCE_LOGGER = "odoo.addons.ms_csp_base.models.ms_csp_instance"

US_TENANT = "0c5a0001-5e1c-4a11-9000-00000000c001"
CRON = "ms_csp_base.cron_ms_csp_provisioning"
FINAL_STATES = ("fulfilled", "failed")


class SimulatedCrash(BaseException):
    """The worker dies: not an ``Exception``, so the engine does not turn it into a failure."""


class ProvisioningCase(CronMixinCase, MsCspSimulatorCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        catalogue = cls.simulator.catalogue
        skus = catalogue.skus_for("US", purchasable_only=True)
        cls.subscription_sku = next(
            sku for sku in skus if sku.kind == "subscription" and sku.has_term("P1Y", "annual")
        )
        cls.perpetual_sku = next(
            sku for sku in skus if sku.kind == "perpetual" and sku.has_term(None, "one_time")
        )
        cls.sku_not_in_us = next(
            sku
            for sku in catalogue.all_skus()
            if "US" not in sku.countries
            and sku.purchasable(catalogue.month)
            and sku.has_term("P1Y", "annual")
        )
        cls.Provisioning = cls.env["ms.csp.provisioning"]
        cls.customer = cls.env["res.partner"].create({"name": "Contoso Ltd", "is_company": True})

    # === HELPERS === #

    def _line(self, sku, quantity=2, availability=True):
        catalogue = self.simulator.catalogue
        subscription = sku.kind == "subscription"
        return Command.create(
            {
                "catalog_item_id": catalogue.catalog_item_id(sku.product_id, sku.id)
                if availability
                else sku.code,
                "quantity": quantity,
                "billing_cycle": "annual" if subscription else "one_time",
                "term_duration": "P1Y" if subscription else False,
                "friendly_name": sku.title,
            }
        )

    def _provisioning(self, *skus, **values):
        return self.Provisioning._ms_create_provisionings(
            [
                {
                    "instance_id": self.instance.id,
                    "partner_id": self.customer.id,
                    "customer_tenant_id": US_TENANT,
                    "country_code": "US",
                    "res_model": "res.partner",
                    "res_id": self.customer.id,
                    "line_ids": [self._line(sku) for sku in skus or (self.subscription_sku,)],
                    **values,
                }
            ]
        )

    def _run_cron(self):
        """One cron run, as the cron user (superuser)."""
        return self.Provisioning.sudo()._ms_cron_process(commit=False)

    def _run_until_final(self, provisionings, max_runs=40):
        """Run the cron, letting every postponement elapse, until the records are final."""
        for _run in range(max_runs):
            self._run_cron()
            if all(state in FINAL_STATES for state in provisionings.mapped("state")):
                return
            self._elapse(provisionings)
        self.fail(f"Still not final after {max_runs} runs: {provisionings.mapped('state')}")

    def _elapse(self, provisionings):
        """Time passes: what was postponed is due now."""
        provisionings.filtered("next_attempt_at").sudo().write(
            {"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)}
        )

    def _crash_once_after(self, method, provisioning):
        """Run the cron until ``method`` has been called through once, then kill the worker:
        the step's savepoint rolls back. Returns what the call answered."""
        original = getattr(PartnerCenterClient, method)
        answers = []

        def call_then_crash(client, *args, **kwargs):
            answer = original(client, *args, **kwargs)
            if not answers:
                answers.append(answer)
                raise SimulatedCrash
            return answer

        with patch.object(PartnerCenterClient, method, autospec=True, side_effect=call_then_crash):
            for _run in range(10):
                try:
                    self._run_cron()
                except SimulatedCrash:
                    break
                self._elapse(provisioning)
            else:
                self.fail(f"{method} was never called")
        return answers

    def _orders_of(self, provisioning):
        """The Microsoft orders placed for the record's key (the admin view: no listing lag)."""
        marker = order_marker(provisioning.idempotency_key)
        return [
            order
            for order in self.simulator.all_orders(provisioning.customer_tenant_id)
            if any(marker in (line.get("friendlyName") or "") for line in order["lineItems"])
        ]

    def assertOneOrderStored(self, provisioning):
        orders = self._orders_of(provisioning)
        self.assertEqual(len(orders), 1, "exactly one Microsoft order for the record")
        self.assertEqual(provisioning.ms_order_id, orders[0]["id"])
        self.assertEqual(provisioning.ms_order_alias, orders[0]["alternateId"])
        self.assertEqual(
            provisioning.line_ids.mapped("ms_offer_id"),
            [line["offerId"] for line in orders[0]["lineItems"]],
        )
        return orders[0]


@tagged("post_install", "-at_install")
class TestProvisioning(ProvisioningCase):
    def test_creation_calls_nothing_and_triggers_the_cron(self):
        with self.capture_triggers(CRON) as capture:
            provisioning = self._provisioning()
        self.assertFalse(self.simulator.requests_log(), "no Partner Center call on creation")
        self.assertEqual(len(capture.records), 1)
        self.assertLessEqual(capture.records.call_at, fields.Datetime.now())
        self.assertEqual(provisioning.state, "pending")
        self.assertTrue(provisioning.name.startswith("MSP/"))
        self.assertEqual(len(provisioning.idempotency_key), 36)
        self.assertEqual(provisioning.source_display, self.customer.display_name)

    def test_rolled_back_creation_schedules_nothing(self):
        with self.capture_triggers(CRON) as capture, self.env.cr.savepoint() as savepoint:
            self._provisioning()
            savepoint.close(rollback=True)  # the confirming transaction rolls back
        self.assertFalse(capture.records)

    def test_happy_path_subscription_and_perpetual(self):
        subscription = self._provisioning(self.subscription_sku)
        perpetual = self._provisioning(self.perpetual_sku)
        self._run_until_final(subscription | perpetual, max_runs=1)
        for provisioning in subscription | perpetual:
            self.assertEqual(provisioning.state, "fulfilled")
            self.assertOneOrderStored(provisioning)
            self.assertEqual(provisioning.line_ids.ms_status, "fulfilled")
        self.assertTrue(subscription.line_ids.ms_subscription_id)
        self.assertFalse(perpetual.line_ids.ms_subscription_id)
        self.assertEqual(
            subscription.step_ids.sorted("id").mapped("step"),
            ["create", "search", "cart", "checkout", "poll"],
        )

    def test_availability_read_for_a_line_without_one(self):
        provisioning = self._provisioning()
        provisioning.line_ids.catalog_item_id = self.subscription_sku.code
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertOneOrderStored(provisioning)

    def test_stale_availability_is_read_again(self):
        catalogue = self.simulator.catalogue
        sku = next(
            sku
            for sku in catalogue.skus_for("US", purchasable_only=True)
            if sku.has_term("P1Y", "annual") and sku.purchasable(1) and sku.present(1)
        )
        provisioning = self._provisioning(sku)
        stale = provisioning.line_ids.catalog_item_id
        self.simulator.update_settings(month=1)  # every availability id changes
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        order = self.assertOneOrderStored(provisioning)
        self.assertNotIn(stale.split(":")[2], order["lineItems"][0]["offerId"])

    def test_lines_of_one_record_share_a_billing_cycle(self):
        with self.assertRaises(ValidationError):
            self._provisioning(self.subscription_sku, self.perpetual_sku)

    def test_lost_checkout_answer_orders_once(self):
        self.simulator.set_faults(["checkout:drop_after_commit::1"])
        self.simulator.update_settings(order_list_lag=900)  # a search would not see the order
        provisioning = self._provisioning()
        with self.capture_triggers(CRON) as capture:
            self._run_cron()
        self.assertEqual(provisioning.state, "submitted")
        self.assertTrue(provisioning.is_postponed)
        self.assertIn(provisioning.next_attempt_at, capture.records.mapped("call_at"))
        self.assertEqual(len(self._orders_of(provisioning)), 1, "the order exists already")
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertOneOrderStored(provisioning)

    def test_throttling_storm_reschedules_after_retry_after(self):
        self.simulator.set_faults(["orders:429/30::3", "carts:429/45::1", "checkout:429/20::1"])
        provisioning = self._provisioning()
        # a second ahead: Odoo's clock has whole seconds, tokens already issued stay valid
        now = fields.Datetime.now() + timedelta(seconds=1)
        with self.capture_triggers(CRON) as capture, freeze_time(now):
            self._run_cron()
        self.assertEqual(provisioning.state, "pending")
        self.assertEqual(provisioning.attempt_count, 1)
        self.assertEqual(provisioning.last_error_code, "429")
        self.assertEqual(
            provisioning.next_attempt_at, now + timedelta(seconds=30), "postponed by Retry-After"
        )
        self.assertEqual(capture.records.call_at, provisioning.next_attempt_at)
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertOneOrderStored(provisioning)
        postponed = provisioning.step_ids.filtered(lambda step: step.outcome == "postponed")
        self.assertEqual(len(postponed), 5)

    def test_conflicts_are_retried_with_the_same_cart(self):
        self.simulator.set_faults(
            [
                "checkout:409::1",
                {
                    "kind": "status",
                    "method": "POST",
                    "path_regex": "/checkout$",
                    "status": 409,
                    "code": 800064,
                    "count": 1,
                },
            ]
        )
        self.simulator.update_settings(order_list_lag=900)
        provisioning = self._provisioning()
        self._run_cron()
        self.assertEqual(provisioning.state, "submitted")
        cart_id = provisioning.cart_id
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertEqual(provisioning.cart_id, cart_id)
        self.assertOneOrderStored(provisioning)

    def test_cart_checked_out_elsewhere_waits_for_the_order_listing(self):
        self.simulator.set_faults(["checkout:429/10::1"])
        provisioning = self._provisioning()
        self._run_cron()
        self.assertEqual(provisioning.state, "cart", "a throttled checkout did not submit")
        with self.instance._ms_client() as client:  # another process, another request id
            client.checkout(US_TENANT, provisioning.cart_id, request_id=str(uuid.uuid4()))
        self.simulator.update_settings(order_list_lag=900)
        self._elapse(provisioning)
        with self.capture_triggers(CRON) as capture:
            self._run_cron()
        self.assertEqual(provisioning.state, "submitted")
        self.assertEqual(capture.records.call_at, provisioning.next_attempt_at)
        self.simulator.update_settings(order_list_lag=0)  # the order is listed now
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertOneOrderStored(provisioning)

    def test_connection_resets(self):
        self.simulator.set_faults(["token:reset::1", "api:reset:0.4"])
        provisionings = self._provisioning() | self._provisioning(self.perpetual_sku)
        self._run_until_final(provisionings, max_runs=80)
        resets = [entry for entry in self.simulator.requests_log() if entry.get("fault")]
        self.assertGreater(len(resets), 3)
        for provisioning in provisionings:
            self.assertEqual(provisioning.state, "fulfilled")
            self.assertOneOrderStored(provisioning)

    def test_crash_after_each_step_orders_once(self):
        for method in (
            "find_orders",
            "create_tagged_cart",
            "checkout_for_key",
            "order_provisioning_status",
            "get_order",
        ):
            with self.subTest(crash_after=method):
                self.simulator.update_settings(order_list_lag=900)
                provisioning = self._provisioning()
                answers = self._crash_once_after(method, provisioning)
                self._run_until_final(provisioning)
                self.assertEqual(provisioning.state, "fulfilled")
                order = self.assertOneOrderStored(provisioning)
                if method == "create_tagged_cart":
                    self.assertEqual(provisioning.cart_id, answers[0], "the same cart again")
                if method == "checkout_for_key":
                    self.assertEqual(answers[0].orders[0].id, order["id"])


@tagged("post_install", "-at_install")
class TestProvisioningFailures(ProvisioningCase):
    def test_definitive_error_fails_with_code_and_activity(self):
        user = self.make_user("provisioning.owner", "ms_csp_base.group_ms_csp_user")
        provisioning = self._provisioning(self.sku_not_in_us, user_id=user.id)
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "failed")
        self.assertEqual(provisioning.failed_step, "pending")
        self.assertEqual(provisioning.failure_kind, "refused")
        self.assertEqual(provisioning.last_error_code, "800070")
        self.assertIn("not sold in US", provisioning.last_error_message)
        self.assertNotIn(self.simulator.client_secret, provisioning.last_error_message)
        activity = provisioning.activity_ids
        self.assertEqual(activity.summary, "Microsoft provisioning failed")
        self.assertEqual(activity.user_id, user)
        self.assertFalse(self._orders_of(provisioning))

    @mute_logger(INSTANCE_LOGGER)
    def test_revoked_consent_fails_and_flags_the_instance(self):
        self.simulator.revoke_refresh_tokens()
        provisioning = self._provisioning()
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "failed")
        self.assertIn("consent again", provisioning.last_error_message)
        self.assertEqual(self.instance.connection_state, "error")
        self.assertNotIn(self.simulator.initial_refresh_token, provisioning.last_error_message)

    def test_retry_links_an_order_placed_meanwhile(self):
        self.simulator.set_faults(["checkout:400::1"])
        provisioning = self._provisioning()
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "failed")
        self.assertEqual(provisioning.failed_step, "cart")
        # Meanwhile, another process orders for the same key.
        with self.instance._ms_client() as client:
            placed = client.place_order(
                US_TENANT,
                [line._ms_cart_line_item() for line in provisioning.line_ids],
                provisioning.idempotency_key,
            )
        with self.capture_triggers(CRON) as capture:
            provisioning.action_retry()
        self.assertTrue(capture.records)
        self.assertEqual(provisioning.state, "pending")
        self.assertFalse(provisioning.cart_id, "a refused cart is dropped")
        self.assertFalse(provisioning.activity_ids, "the failure activity is done")
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        order = self.assertOneOrderStored(provisioning)
        self.assertEqual(order["id"], placed.orders[0].id)
        self.assertEqual(
            provisioning.step_ids.sorted("id")[-3:].mapped("step"),
            ["retry", "search", "poll"],
            "linked by the search, nothing ordered",
        )

    @mute_logger("odoo.addons.ms_csp_base.models.ms_csp_provisioning")
    def test_a_failing_hook_keeps_the_order_on_record(self):
        user = self.make_user("provisioning.hook.owner", "ms_csp_base.group_ms_csp_user")
        provisioning = self._provisioning(user_id=user.id)
        with patch.object(
            type(self.Provisioning),
            "_ms_on_ordered",
            autospec=True,
            side_effect=KeyError("consumer bug"),
        ):
            self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertOneOrderStored(provisioning)
        failed_hook = provisioning.step_ids.filtered(lambda step: step.outcome == "failed")
        self.assertIn(provisioning.ms_order_alias, failed_hook.message)
        self.assertEqual(provisioning.activity_ids.user_id, user)

    def test_an_unreadable_checkout_answer_keeps_the_cart_for_retry(self):
        self.simulator.set_faults(
            [
                {
                    "method": "POST",
                    "path_regex": r"/checkout$",
                    "kind": "status",
                    "status": 200,
                    "body": "<html>",
                    "count": 1,
                }
            ]
        )
        provisioning = self._provisioning()
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "failed")
        self.assertEqual((provisioning.failed_step, provisioning.failure_kind), ("cart", "error"))
        cart_id = provisioning.cart_id
        provisioning.action_retry()
        self.assertEqual((provisioning.state, provisioning.cart_id), ("submitted", cart_id))
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertOneOrderStored(provisioning)

    def test_a_cart_sent_once_is_never_dropped(self):
        """A crash after the checkout, then a refusal of the repeated checkout: Retry keeps
        the cart (its first checkout placed the order) and links that order."""
        provisioning = self._provisioning()
        answers = self._crash_once_after("checkout_for_key", provisioning)
        self.assertEqual((provisioning.state, provisioning.checkout_count), ("cart", 1))
        self.simulator.set_faults(["checkout:400::1"])
        self._run_until_final(provisioning)
        self.assertEqual((provisioning.failed_step, provisioning.failure_kind), ("cart", "refused"))
        self.assertEqual(provisioning.checkout_count, 2)
        cart_id = provisioning.cart_id
        provisioning.action_retry()
        self.assertEqual((provisioning.state, provisioning.cart_id), ("submitted", cart_id))
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertEqual(self.assertOneOrderStored(provisioning)["id"], answers[0].orders[0].id)

    def test_retry_is_for_managers_only(self):
        self.simulator.set_faults(["orders:400::1"])
        provisioning = self._provisioning()
        self._run_until_final(provisioning)
        self.assertEqual(provisioning.state, "failed")
        user = self.make_user("provisioning.reader", "ms_csp_base.group_ms_csp_user")
        with self.assertRaises(AccessError):
            provisioning.with_user(user).action_retry()
        self.assertEqual(provisioning.state, "failed")
        action = self.env.ref("ms_csp_base.action_ms_csp_provisioning_retry")
        self.assertEqual(action.groups_id, self.env.ref("ms_csp_base.group_ms_csp_manager"))
        # A manager (the administrator) retries from the list's action menu.
        result = action.with_context(
            active_model=provisioning._name, active_ids=provisioning.ids
        ).run()
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(provisioning.state, "pending")

    def test_a_failing_record_does_not_block_the_queue(self):
        failing = self._provisioning(self.sku_not_in_us)
        working = self._provisioning()
        self._run_until_final(failing | working)
        self.assertEqual((failing.state, working.state), ("failed", "fulfilled"))


@tagged("post_install", "-at_install")
class TestProvisioningClaim(TransactionCase):
    """Claims between real transactions: the rows are committed, then removed."""

    def test_two_cursors_never_claim_the_same_record(self):
        ids = self._commit_provisionings(3)
        with (
            self.registry.cursor() as cr1,
            self.registry.cursor() as cr2,
            self.registry.cursor() as cr3,
        ):
            claims = [
                api.Environment(cr, SUPERUSER_ID, {})["ms.csp.provisioning"]._ms_job_claim_next().id
                for cr in (cr1, cr2, cr3)
            ]
            self.assertEqual(sorted(claims), sorted(ids), "three workers, three records")
            cr2.rollback()  # worker 2 ends its step: its record may be claimed again
            again = api.Environment(cr3, SUPERUSER_ID, {})["ms.csp.provisioning"]
            self.assertIn(again._ms_job_claim_next().id, (claims[1], claims[2]))
            cr1.rollback()
            cr3.rollback()

    def _commit_provisionings(self, count):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            last_trigger = env["ir.cron.trigger"].search([], order="id desc", limit=1).id
            instance = env["ms.csp.instance"].create(
                {
                    "name": "Claim test",
                    "partner_tenant_id": "5e1c0a7e-0000-4c5a-9e00-00000000c5b0",
                }
            )
            provisionings = env["ms.csp.provisioning"].create(
                [
                    {
                        "instance_id": instance.id,
                        "customer_tenant_id": US_TENANT,
                        "line_ids": [
                            Command.create(
                                {
                                    "catalog_item_id": "P:S:A",
                                    "quantity": 1,
                                    "billing_cycle": "annual",
                                    "term_duration": "P1Y",
                                }
                            )
                        ],
                    }
                    for _index in range(count)
                ]
            )
            cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(
            _remove_committed, self.registry, instance.id, provisionings.ids, last_trigger
        )
        return provisionings.ids


@tagged("post_install", "-at_install")
class TestProvisioningWorkers(ProvisioningCase):
    """Two cron workers, each with its own cursor, committing after every step (as ir.cron
    does), on committed records: each record is ordered once."""

    def test_two_workers_commit_each_step_and_order_once(self):
        self.simulator.set_faults(["api:reset:0.2"])
        ids = self._commit_provisionings(6)
        # Rotated refresh tokens are saved on a cursor of their own, whose Environment would
        # wait for the registry lock the test runner holds: keep them in memory here (the
        # simulator keeps redeemed tokens valid, as Entra ID does).
        self.startPatcher(
            patch.object(type(self.instance), "_ms_store_refresh_token", autospec=True)
        )
        for round_number in range(30):
            steps, errors = self._run_workers(2)
            self.assertFalse(errors)
            if round_number == 0:
                self.assertTrue(all(steps), f"both workers ran steps ({steps})")
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                provisionings = env["ms.csp.provisioning"].browse(ids)
                if all(state == "fulfilled" for state in provisionings.mapped("state")):
                    for provisioning in provisionings:
                        self.assertOneOrderStored(provisioning)
                        self.assertEqual(provisioning.step_ids.mapped("step").count("cart"), 1)
                    return
                self._elapse(provisionings)
                cr.commit()  # pylint: disable=invalid-commit
        self.fail("the workers did not finish")

    def _run_workers(self, count):
        errors, steps = [], [0] * count

        def work(index):
            # The test runner holds the registry lock, which a new Environment on a fresh
            # cursor takes: hand the registry over.
            try:
                with self.registry.cursor() as cr:
                    cr.transaction = api.Transaction(self.registry)
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    steps[index] = env["ms.csp.provisioning"]._ms_cron_process(commit=True)
                    cr.commit()  # pylint: disable=invalid-commit
            except Exception as error:  # pylint: disable=broad-except
                errors.append(error)

        workers = [threading.Thread(target=work, args=(index,)) for index in range(count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        self.assertFalse(any(worker.is_alive() for worker in workers), "a worker hangs")
        return steps, errors

    def _commit_provisionings(self, count):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            last_trigger = env["ir.cron.trigger"].search([], order="id desc", limit=1).id
            instance = env["ms.csp.instance"].create(
                {**self._instance_values(), "name": f"Workers test {uuid.uuid4()}"}
            )
            catalogue = self.simulator.catalogue
            sku = self.subscription_sku
            provisionings = env["ms.csp.provisioning"].create(
                [
                    {
                        "instance_id": instance.id,
                        "customer_tenant_id": US_TENANT,
                        "country_code": "US",
                        "line_ids": [
                            Command.create(
                                {
                                    "catalog_item_id": catalogue.catalog_item_id(
                                        sku.product_id, sku.id
                                    ),
                                    "quantity": 1 + index,
                                    "billing_cycle": "annual",
                                    "term_duration": "P1Y",
                                    "friendly_name": sku.title,
                                }
                            )
                        ],
                    }
                    for index in range(count)
                ]
            )
            cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(
            _remove_committed, self.registry, instance.id, provisionings.ids, last_trigger
        )
        return provisionings.ids


def _remove_committed(registry, instance_id, ids, last_trigger):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["ms.csp.provisioning"].browse(ids).unlink()
        env["ms.csp.instance"].browse(instance_id).unlink()
        env["ir.cron.trigger"].search(
            [("id", ">", last_trigger), ("cron_id", "=", env.ref(CRON).id)]
        ).unlink()
        cr.commit()  # pylint: disable=invalid-commit
