# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Microsoft CSP: Base",
    "summary": "Partner Center instances and credentials, customer tenants, provisioning engine",
    "version": "18.0.1.0.0",
    "category": "Sales/Microsoft CSP",
    "website": "https://github.com/ms-csp-odoo/ms-csp-suite",
    "author": "Microsoft CSP suite contributors",
    "license": "AGPL-3",
    "depends": ["sale", "mail"],
    "external_dependencies": {"python": ["msal", "requests", "ms-csp-partner-center"]},
    "data": [
        "security/ms_csp_security.xml",
        "security/ir.model.access.csv",
        "views/ms_csp_instance_views.xml",
        "views/res_config_settings_views.xml",
        "views/ms_csp_menus.xml",
    ],
    "application": True,
    "installable": True,
}
