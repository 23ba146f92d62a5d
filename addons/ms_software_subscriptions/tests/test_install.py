from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_menu_opens_subscriptions_under_the_suite_menu(self):
        menu = self.env.ref("ms_software_subscriptions.menu_ms_software_subscriptions")
        self.assertEqual(menu.parent_id, self.env.ref("ms_csp_base.menu_ms_csp_root"))
        self.assertEqual(menu.action.res_model, "sale.subscription")

    def test_csp_user_can_read_subscriptions(self):
        user = self.env["res.users"].create(
            {
                "name": "CSP user",
                "login": "csp.user@example.com",
                "groups_id": [(6, 0, [self.env.ref("ms_csp_base.group_ms_csp_user").id])],
            }
        )
        subscriptions = self.env["sale.subscription"].with_user(user)
        self.assertTrue(subscriptions.has_access("read"))
        self.assertFalse(subscriptions.has_access("unlink"))

    def test_csp_user_opens_the_list_and_the_form(self):
        user = self.env["res.users"].create(
            {
                "name": "CSP viewer",
                "login": "csp.viewer@example.com",
                "groups_id": [(6, 0, [self.env.ref("ms_csp_base.group_ms_csp_user").id])],
            }
        )
        action = self.env.ref("ms_software_subscriptions.action_ms_software_subscriptions")
        views = (
            self.env["sale.subscription"]
            .with_user(user)
            .get_views(
                [(view.view_id.id, view.view_mode) for view in action.view_ids]
                + [(action.search_view_id.id, "search")]
            )
        )
        self.assertIn("ms_sync_state", views["views"]["list"]["arch"])
        self.assertIn("ms_software_id", views["views"]["form"]["arch"])
        self.assertIn("expiring_30_days", views["views"]["search"]["arch"])
        self.assertNotIn("action_ms_retry", views["views"]["form"]["arch"], "managers only")

    def test_subscriptions_of_another_company_are_hidden(self):
        other = self.env["res.company"].create({"name": "Other CSP company"})
        template = self.env.ref("ms_software_subscriptions.subscription_template_ms_annual")
        partner = self.env["res.partner"].create({"name": "Other customer"})
        pricelist = self.env["product.pricelist"].create({"name": "Other", "company_id": other.id})
        hidden = self.env["sale.subscription"].create(
            {
                "partner_id": partner.id,
                "template_id": template.id,
                "pricelist_id": pricelist.id,
                "company_id": other.id,
            }
        )
        user = self.env["res.users"].create(
            {
                "name": "CSP user A",
                "login": "csp.user.a@example.com",
                "groups_id": [(6, 0, [self.env.ref("ms_csp_base.group_ms_csp_user").id])],
            }
        )
        visible = self.env["sale.subscription"].with_user(user).search([("id", "=", hidden.id)])
        self.assertFalse(visible)
