from ast import literal_eval
from datetime import date

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import MsSoftwareSubscriptionCase


@tagged("post_install", "-at_install")
class TestSoftwareSubscriptionFlow(MsSoftwareSubscriptionCase):
    """Order -> subscriptions -> provisioning engine -> Partner Center ids, over real HTTPS."""

    def test_products_are_subscribable_with_the_template_of_their_term(self):
        self.assertTrue(self.annual.subscribable)
        annual = self.env.ref("ms_software_subscriptions.subscription_template_ms_annual")
        triennial = self.env.ref("ms_software_subscriptions.subscription_template_ms_triennial")
        self.assertEqual(self.annual.ms_subscription_template_id, annual)
        self.assertEqual(self.triennial.ms_subscription_template_id, triennial)
        self.assertEqual(
            (triennial.recurring_interval, triennial.recurring_rule_type), (3, "years")
        )

    def test_confirmation_creates_one_subscription_per_line_without_calling_partner_center(self):
        self.simulator.requests_log(clear=True)
        order = self.confirmed(self.annual, self.triennial, currency="ILS")
        self.assertFalse(self.simulator.requests_log(), "no Partner Center call on confirmation")
        subscriptions = self.subscriptions_of(order)
        self.assertEqual(len(subscriptions), 2)
        by_product = {sub.ms_product_id: sub for sub in subscriptions}
        for product, template, unit in (
            (self.annual, "subscription_template_ms_annual", "uom_annual"),
            (self.triennial, "subscription_template_ms_triennial", "uom_triennial"),
        ):
            subscription = by_product[product]
            line = subscription.sale_subscription_line_ids
            sale_line = order.order_line.filtered(
                lambda sol, product=product: sol.product_id == product
            )
            self.assertTrue(subscription.ms_is_microsoft)
            self.assertEqual(
                subscription.template_id, self.env.ref(f"ms_software_subscriptions.{template}")
            )
            self.assertEqual(subscription.pricelist_id, self.pricelists["ILS"])
            self.assertEqual(subscription.currency_id, self.ils)
            self.assertEqual(subscription.ms_end_customer_id, self.reseller)
            self.assertEqual(subscription.ms_sale_line_id, sale_line)
            self.assertEqual(
                subscription.name, product.with_context(display_default_code=False).display_name
            )
            self.assertEqual(subscription.stage_id.type, "in_progress")
            self.assertEqual(
                (subscription.ms_status, subscription.ms_sync_state), ("active", "pending")
            )
            self.assertTrue(subscription.ms_auto_renew)
            self.assertEqual(line.product_uom_id, self.env.ref(f"ms_catalogue_sync.{unit}"))
            self.assertEqual((line.product_uom_qty, line.price_unit), (2, sale_line.price_unit))
            self.assertEqual(
                line._prepare_account_move_line()["product_uom_id"], line.product_uom_id.id
            )
        provisionings = subscriptions.ms_provisioning_id
        self.assertEqual(len(provisionings), 2, "one order per billing cycle")
        self.assertEqual(set(provisionings.mapped("state")), {"pending"})

    def test_engine_synchronizes_order_id_alias_and_ids(self):
        order = self.confirmed()
        subscription = self.subscriptions_of(order)
        self.run_engine()
        provisioning = subscription.ms_provisioning_id
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertEqual(subscription.ms_sync_state, "synchronized")
        self.assertEqual(len(self.orders_of(provisioning)), 1)
        self.assertEqual(subscription.ms_order_id, self.orders_of(provisioning)[0]["id"])
        self.assertEqual(
            subscription.ms_order_alias, self.orders_of(provisioning)[0]["alternateId"]
        )
        self.assertEqual(subscription.ms_subscription_id, provisioning.line_ids.ms_subscription_id)
        self.assertTrue(subscription.ms_refresh_at, "the Software ID is read next")
        self.run_refresh()
        self.assertEqual(subscription.ms_software_id, subscription.ms_subscription_id)
        self.assertEqual(subscription.ms_software_expiration_date.year, date.today().year + 1)
        self.assertFalse(subscription.ms_refresh_at)
        tracked = subscription.message_ids.tracking_value_ids.field_id.mapped("name")
        self.assertIn("ms_order_alias", tracked)
        self.assertIn("ms_software_id", tracked)

    def test_software_id_and_expiry_arrive_later_through_polling(self):
        self.simulator.update_settings(fulfilment_delay=600)
        order = self.confirmed()
        subscription = self.subscriptions_of(order)
        provisioning = subscription.ms_provisioning_id
        self.run_engine()
        self.assertEqual(provisioning.state, "ordered")
        self.assertEqual(subscription.ms_sync_state, "synchronized")
        self.assertTrue(subscription.ms_order_id and subscription.ms_order_alias)
        self.assertFalse(subscription.ms_subscription_id or subscription.ms_software_id)
        self.assertFalse(subscription.ms_refresh_at, "nothing to read before fulfilment")
        self.simulator.advance_clock(601)
        self.elapse(provisioning)
        self.run_engine()
        self.assertEqual(provisioning.state, "fulfilled")
        self.assertTrue(subscription.ms_subscription_id)
        # Partner Center does not show the subscription yet: polled again later
        self.simulator.set_faults(["subscriptions:404::1"])
        self.run_refresh()
        self.assertFalse(subscription.ms_software_id)
        self.assertEqual(subscription.ms_refresh_attempts, 1)
        self.assertEqual(self.run_refresh(), 0, "not due before its next read")
        self.elapse(subscription, "ms_refresh_at")
        self.run_refresh()
        self.assertEqual(subscription.ms_software_id, subscription.ms_subscription_id)
        self.assertTrue(subscription.ms_software_expiration_date)
        self.assertFalse(subscription.ms_refresh_at)

    def test_dropped_checkout_answer_then_retry_orders_once(self):
        # the checkout's answer is lost after the order exists, then the next checkout is
        # refused: the provisioning fails
        self.simulator.set_faults(["checkout:drop_after_commit::1", "checkout:400::1"])
        order = self.confirmed()
        subscription = self.subscriptions_of(order)
        provisioning = subscription.ms_provisioning_id
        self.run_engine_until_final(provisioning)
        self.assertEqual(provisioning.state, "failed")
        self.assertEqual(subscription.ms_sync_state, "failed")
        self.assertTrue(subscription.ms_last_error)
        self.assertEqual(len(self.orders_of(provisioning)), 1, "the order exists already")
        salesman = self.make_user(
            "salesman.retry", "sales_team.group_sale_salesman", "ms_csp_base.group_ms_csp_user"
        )
        with self.assertRaises(AccessError):
            subscription.with_user(salesman).action_ms_retry()
        subscription.action_ms_retry()
        self.assertEqual(subscription.ms_sync_state, "pending")
        self.run_engine_until_final(provisioning)
        self.assertEqual(subscription.ms_sync_state, "synchronized")
        self.assertEqual(len(self.orders_of(provisioning)), 1, "linked, not ordered again")
        self.assertEqual(subscription.ms_order_id, self.orders_of(provisioning)[0]["id"])
        self.assertIn("already had order", " ".join(subscription.message_ids.mapped("body")))

    def test_dropped_checkout_answer_is_resolved_by_the_cron(self):
        self.simulator.set_faults(["checkout:drop_after_commit::1"])
        order = self.confirmed()
        subscription = self.subscriptions_of(order)
        provisioning = subscription.ms_provisioning_id
        self.run_engine_until_final(provisioning)
        self.assertEqual(subscription.ms_sync_state, "synchronized")
        self.assertEqual(len(self.orders_of(provisioning)), 1)

    def test_refresh_from_microsoft_reads_on_demand(self):
        order = self.confirmed()
        subscription = self.subscriptions_of(order)
        self.run_engine()
        self.simulator.requests_log(clear=True)
        subscription.action_ms_refresh()
        self.assertEqual(len(self.api_calls()), 1, "one read")
        self.assertTrue(subscription.ms_software_id and subscription.ms_software_expiration_date)
        user = self.make_user("csp.user.refresh", "ms_csp_base.group_ms_csp_user")
        with self.assertRaises(AccessError):
            subscription.with_user(user).action_ms_refresh()

    def test_an_order_invoicing_a_subscription_period_orders_nothing(self):
        subscription = self.subscriptions_of(self.confirmed())
        period = self.order(order_subscription_id=subscription.id)
        period.action_confirm()
        self.assertFalse(self.subscriptions_of(period))
        self.assertEqual(
            len(
                self.env["ms.csp.provisioning"].search(
                    [("res_model", "=", "sale.order"), ("res_id", "=", period.id)]
                )
            ),
            0,
        )

    def test_auto_renew_default_on_both_sides_of_the_cut_off(self):
        subscription = self.subscriptions_of(self.confirmed())
        self.assertTrue(subscription.ms_auto_renew)
        subscription.ms_purchase_date = date(2021, 10, 13)
        self.assertFalse(subscription.ms_auto_renew)
        subscription.ms_purchase_date = date(2021, 10, 14)
        self.assertTrue(subscription.ms_auto_renew)

    def test_menu_and_partner_button_show_microsoft_subscriptions_only(self):
        self.confirmed()
        self.confirmed(self.service)  # a plain order: no Microsoft subscription
        action = self.env.ref("ms_software_subscriptions.action_ms_software_subscriptions")
        self.assertIn(("ms_is_microsoft", "=", True), literal_eval(action.domain))
        self.assertEqual(self.reseller.ms_software_subscription_count, 1)
        opened = self.reseller.action_ms_open_software_subscriptions()
        self.assertEqual(self.env["sale.subscription"].search_count(opened["domain"]), 1)
