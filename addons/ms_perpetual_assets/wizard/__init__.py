from . import ms_perpetual_asset_retry
