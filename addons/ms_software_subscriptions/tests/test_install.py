from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_menu_opens_subscriptions_under_the_suite_menu(self):
        menu = self.env.ref("ms_software_subscriptions.menu_ms_software_subscriptions")
        self.assertEqual(menu.parent_id, self.env.ref("ms_csp_base.menu_ms_csp_root"))
        self.assertEqual(menu.action.res_model, "sale.subscription")

    def test_csp_user_can_read_subscriptions(self):
        user = self.env["res.users"].create({
            "name": "CSP user", "login": "csp.user@example.com",
            "groups_id": [(6, 0, [self.env.ref("ms_csp_base.group_ms_csp_user").id])],
        })
        subscriptions = self.env["sale.subscription"].with_user(user)
        self.assertTrue(subscriptions.has_access("read"))
        self.assertFalse(subscriptions.has_access("unlink"))
