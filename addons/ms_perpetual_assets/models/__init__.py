from . import ms_perpetual_asset
from . import ms_perpetual_asset_refresh
from . import ms_csp_provisioning
from . import sale_order
from . import res_partner
from . import ms_perpetual_reconciliation
from . import ms_perpetual_reconciliation_line
