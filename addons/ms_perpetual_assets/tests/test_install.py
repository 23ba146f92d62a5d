from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_perpetual_licences_section_is_under_the_suite_menu(self):
        menu = self.env.ref("ms_perpetual_assets.menu_ms_perpetual_licences")
        self.assertEqual(menu.parent_id, self.env.ref("ms_csp_base.menu_ms_csp_root"))
        self.assertEqual(menu.groups_id, self.env.ref("ms_csp_base.group_ms_csp_user"))

    def test_installed_with_its_dependencies(self):
        modules = self.env["ir.module.module"].search(
            [
                ("name", "in", ["ms_catalogue_sync", "ms_perpetual_assets"]),
            ]
        )
        self.assertEqual(set(modules.mapped("state")), {"installed"})

    def test_scheduled_reconciliation_is_active(self):
        cron = self.env.ref("ms_perpetual_assets.cron_ms_perpetual_reconciliation")
        self.assertTrue(cron.active)
        self.assertEqual(cron.model_id.model, "ms.perpetual.reconciliation")
        self.assertIn("commit=True", cron.code)
