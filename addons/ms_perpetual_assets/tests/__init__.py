from . import test_install
from . import test_perpetual_asset
from . import test_portal
from . import test_reconciliation
from . import test_backend_tour
