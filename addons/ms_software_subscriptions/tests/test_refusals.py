from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import MsSoftwareSubscriptionCase


@tagged("post_install", "-at_install")
class TestSoftwareSubscriptionRefusals(MsSoftwareSubscriptionCase):
    """What Partner Center cannot do with a software subscription is refused, in the backend and
    through RPC (``write``), with a message that says what to do instead."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sale_order = cls.order()
        cls.sale_order.action_confirm()
        cls.subscription = cls.env["sale.subscription"].search(
            [("sale_order_id", "=", cls.sale_order.id)]
        )
        all_documents = cls.env.ref("sales_team.group_sale_salesman_all_leads")
        cls.salesman = cls.env["res.users"].create(
            {
                "name": "Salesman",
                "login": "salesman.refusals",
                "groups_id": [Command.set(all_documents.ids)],
            }
        )

    def test_quantity_of_a_confirmed_order_line_cannot_change(self):
        line = self.sale_order.order_line.with_user(self.salesman)
        with self.assertRaisesRegex(UserError, "no upgrade, downgrade or quantity change"):
            line.write({"product_uom_qty": 3})
        line.write({"product_uom_qty": 2})  # the same quantity is no change

    def test_product_of_a_confirmed_order_line_cannot_change(self):
        with self.assertRaisesRegex(UserError, "new quotation"):
            self.sale_order.order_line.write({"product_id": self.triennial.id})

    def test_microsoft_line_cannot_be_added_to_a_confirmed_order(self):
        with self.assertRaisesRegex(UserError, "Put it on a new quotation"):
            self.sale_order.write(
                {
                    "order_line": [
                        Command.create({"product_id": self.triennial.id, "product_uom_qty": 1})
                    ]
                }
            )

    def test_draft_order_lines_can_change(self):
        order = self.order()
        order.order_line.write({"product_uom_qty": 5, "product_id": self.triennial.id})
        self.assertEqual(order.order_line.product_uom_qty, 5)

    def test_quantity_of_a_subscription_line_cannot_change(self):
        line = self.subscription.sale_subscription_line_ids.with_user(self.salesman)
        with self.assertRaisesRegex(UserError, "no upgrade, downgrade or quantity change"):
            line.write({"product_uom_qty": 10})

    def test_product_of_a_subscription_line_cannot_change(self):
        with self.assertRaisesRegex(UserError, "no upgrade, downgrade"):
            self.subscription.write(
                {
                    "sale_subscription_line_ids": [
                        Command.update(
                            self.subscription.sale_subscription_line_ids.id,
                            {"product_id": self.triennial.id},
                        )
                    ]
                }
            )

    def test_non_microsoft_product_cannot_be_added_to_a_microsoft_subscription(self):
        with self.assertRaisesRegex(UserError, "no add-ons"):
            self.subscription.with_user(self.salesman).write(
                {
                    "sale_subscription_line_ids": [
                        Command.create({"product_id": self.service.id, "product_uom_qty": 1})
                    ]
                }
            )

    def test_another_plan_cannot_be_added_to_a_microsoft_subscription(self):
        with self.assertRaisesRegex(UserError, "exactly one plan"):
            self.subscription.write(
                {
                    "sale_subscription_line_ids": [
                        Command.create({"product_id": self.triennial.id, "product_uom_qty": 1})
                    ]
                }
            )

    def test_other_subscriptions_are_not_restricted(self):
        template = self.env.ref("ms_software_subscriptions.subscription_template_ms_annual")
        subscription = self.env["sale.subscription"].create(
            {
                "partner_id": self.reseller.id,
                "template_id": template.id,
                "pricelist_id": self.pricelists["USD"].id,
                "sale_subscription_line_ids": [Command.create({"product_id": self.service.id})],
            }
        )
        subscription.sale_subscription_line_ids.product_uom_qty = 4
        self.assertFalse(subscription.ms_is_microsoft)
        self.assertFalse(subscription.ms_sync_state)

    def test_a_salesperson_cannot_relink_or_delete_a_microsoft_subscription(self):
        subscription = self.subscription.with_user(self.salesman)
        for values in (
            {"ms_auto_renew": not self.subscription.ms_auto_renew},
            {"partner_id": self.env["res.partner"].create({"name": "Other"}).id},
            {"ms_order_id": "elsewhere"},
            {"ms_end_customer_id": False},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                subscription.write(values)
        with self.assertRaises(AccessError):
            subscription.unlink()
        self.assertTrue(self.subscription.exists())

    def test_confirming_again_makes_no_second_subscription(self):
        lines = self.sale_order.order_line
        before = self.env["sale.subscription"].search_count([("ms_sale_line_id", "in", lines.ids)])
        self.sale_order._ms_create_software_subscriptions(lines)
        self.assertEqual(
            self.env["sale.subscription"].search_count([("ms_sale_line_id", "in", lines.ids)]),
            before,
        )
