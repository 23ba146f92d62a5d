# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Microsoft CSP: Perpetual Licences",
    "summary": "Microsoft perpetual licence assets sold in Odoo and provisioned in Partner Center",
    "version": "18.0.1.0.0",
    "category": "Sales/Microsoft CSP",
    "website": "https://github.com/ms-csp-odoo/ms-csp-suite",
    "author": "Microsoft CSP suite contributors",
    "license": "AGPL-3",
    "depends": ["ms_catalogue_sync", "sale_management", "portal"],
    "external_dependencies": {"python": ["msal", "requests", "ms-csp-partner-center"]},
    "data": [
        "views/ms_perpetual_asset_menus.xml",
    ],
    "installable": True,
}
