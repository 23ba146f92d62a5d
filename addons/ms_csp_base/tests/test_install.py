from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_groups_exist_and_manager_implies_user(self):
        user_group = self.env.ref("ms_csp_base.group_ms_csp_user")
        manager_group = self.env.ref("ms_csp_base.group_ms_csp_manager")
        self.assertEqual(user_group.category_id.name, "Microsoft CSP")
        self.assertIn(user_group, manager_group.implied_ids)

    def test_administrator_is_manager(self):
        self.assertTrue(
            self.env.ref("base.user_admin").has_group("ms_csp_base.group_ms_csp_manager")
        )

    def test_top_menu_is_for_csp_users_only(self):
        root = self.env.ref("ms_csp_base.menu_ms_csp_root")
        self.assertFalse(root.parent_id)
        self.assertEqual(root.groups_id, self.env.ref("ms_csp_base.group_ms_csp_user"))
        salesman = self.env["res.users"].create(
            {
                "name": "Plain salesman",
                "login": "plain.salesman@example.com",
                "groups_id": [(6, 0, [self.env.ref("sales_team.group_sale_salesman").id])],
            }
        )
        visible = self.env["ir.ui.menu"].with_user(salesman)._visible_menu_ids()
        self.assertNotIn(root.id, visible)
