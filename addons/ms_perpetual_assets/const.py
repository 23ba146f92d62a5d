"""Constants of the perpetual license assets."""

from datetime import timedelta

KIND_PERPETUAL = "ms_perpetual"  # the product's service_tracking (ms_catalogue_sync)
TERM_PLAN_ONE_TIME = "one_time"

# Microsoft documents a 30-day cancellation window for perpetual software; Partner Center's own
# cancellationAllowedUntilDate wins when it is known.
CANCELLATION_WINDOW = timedelta(days=30)

MANAGER_GROUP = "ms_csp_base.group_ms_csp_manager"
REFRESH_CRON_XMLID = "ms_perpetual_assets.cron_ms_perpetual_asset_refresh"

# Reconciliation: a Microsoft order matches an asset when SKU and quantity are equal and the
# order was created this close to the asset's purchase (an order placed by hand after a failure
# comes a little later).
RECONCILIATION_DATE_TOLERANCE = timedelta(days=3)
ONE_TIME_BILLING = "one_time"  # partner_center's normalized billingCycle of perpetual orders
