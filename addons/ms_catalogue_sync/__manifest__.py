# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Microsoft CSP: Partner Center Catalogue",
    "summary": "Microsoft product types, catalogue and price sync from Partner Center",
    "version": "18.0.1.0.0",
    "category": "Sales/Microsoft CSP",
    "website": "https://github.com/ms-csp-odoo/ms-csp-suite",
    "author": "Microsoft CSP suite contributors",
    "license": "AGPL-3",
    "depends": ["ms_csp_base"],
    "external_dependencies": {"python": ["msal", "requests", "ms-csp-partner-center"]},
    "data": [
        "security/ms_csp_security.xml",
        "security/ir.model.access.csv",
        "data/ms_csp_product_data.xml",
        "data/ir_cron.xml",
        "views/ms_csp_instance_views.xml",
        "views/ms_csp_catalogue_views.xml",
        "views/product_views.xml",
        "views/res_config_settings_views.xml",
        "views/ms_csp_menus.xml",
    ],
    "installable": True,
}
