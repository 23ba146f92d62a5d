from odoo.addons.ms_catalogue_sync.const import KIND_SOFTWARE_SUBSCRIPTION


def post_init_hook(env):
    """Products synced before this addon was installed become subscribable too."""
    env["product.template"].with_context(active_test=False).search(
        [
            ("service_tracking", "=", KIND_SOFTWARE_SUBSCRIPTION),
            ("subscribable", "=", False),
        ]
    ).write({"subscribable": True})
