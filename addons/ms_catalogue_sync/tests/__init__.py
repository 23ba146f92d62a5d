from . import test_catalogue_sync
from . import test_sync_errors
from . import test_access_and_prices
from . import test_sync_language_and_resume
from . import test_sync_background
from . import test_sale_order
from . import test_price_properties
from . import test_sync_checkpoint
