# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Microsoft CSP: Partner Center Simulator",
    "summary": "Demo and development only: instances that talk to the Partner Center simulator",
    "version": "18.0.1.0.0",
    "category": "Hidden",
    "website": "https://github.com/ms-csp-odoo/ms-csp-suite",
    "author": "Microsoft CSP suite contributors",
    "license": "AGPL-3",
    "development_status": "Beta",
    "depends": ["ms_csp_base", "ms_catalogue_sync"],
    "external_dependencies": {"python": ["ms-csp-partner-center", "trustme"]},
    "data": [
        "views/ms_csp_instance_views.xml",
    ],
    "demo": [
        "demo/ms_csp_simulator_demo.xml",
    ],
    "installable": True,
}
