# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Microsoft CSP: Perpetual Licenses",
    "summary": "Microsoft perpetual license assets sold in Odoo and provisioned in Partner Center",
    "version": "18.0.1.0.0",
    "category": "Sales/Microsoft CSP",
    "website": "https://github.com/ms-csp-odoo/ms-csp-suite",
    "author": "Microsoft CSP suite contributors",
    "license": "AGPL-3",
    "development_status": "Beta",
    "depends": ["ms_catalogue_sync", "sale_management", "portal"],
    "external_dependencies": {"python": ["ms-csp-partner-center"]},
    "data": [
        "security/ms_perpetual_assets_security.xml",
        "security/ir.model.access.csv",
        "data/ms_perpetual_asset_data.xml",
        "views/ms_perpetual_asset_views.xml",
        "views/ms_perpetual_reconciliation_views.xml",
        "views/res_partner_views.xml",
        "views/ms_perpetual_asset_menus.xml",
        "templates/portal_templates.xml",
    ],
    "assets": {
        "web.assets_tests": ["ms_perpetual_assets/static/tests/tours/*.js"],
    },
    "installable": True,
}
