# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Microsoft CSP: Software Subscriptions",
    "summary": "Microsoft software subscriptions sold in Odoo and provisioned in Partner Center",
    "version": "18.0.1.0.0",
    "category": "Sales/Microsoft CSP",
    "website": "https://github.com/ms-csp-odoo/ms-csp-suite",
    "author": "Microsoft CSP suite contributors",
    "license": "AGPL-3",
    "depends": ["ms_catalogue_sync", "subscription_oca", "sale_management", "portal"],
    "external_dependencies": {"python": ["msal", "requests", "ms-csp-partner-center"]},
    "data": [
        "security/ir.model.access.csv",
        "security/ms_software_subscription_security.xml",
        "data/sale_subscription_template_data.xml",
        "data/ir_cron.xml",
        "views/sale_subscription_views.xml",
        "views/res_partner_views.xml",
        "views/ms_software_subscription_menus.xml",
        "data/ir_actions_server.xml",
    ],
    "post_init_hook": "post_init_hook",
    "installable": True,
}
