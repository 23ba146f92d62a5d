"""Microsoft Partner Center for CSP resellers: API client, resource types, catalogue and prices.

Plain Python (no Odoo import): the Odoo addons call into it, never the other way round.
"""

__version__ = "18.0.1.0.0"

from .client import PartnerCenterClient, derive_request_id, order_marker  # noqa: E402
from .config import ClientConfig  # noqa: E402
from .errors import PartnerCenterError  # noqa: E402
from .pricesheet import PriceRow, iter_price_rows, select_effective  # noqa: E402

__all__ = [
    "ClientConfig",
    "PartnerCenterClient",
    "PartnerCenterError",
    "PriceRow",
    "__version__",
    "derive_request_id",
    "iter_price_rows",
    "order_marker",
    "select_effective",
]
