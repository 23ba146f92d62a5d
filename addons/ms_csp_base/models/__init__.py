from . import ms_csp_credential
from . import ms_csp_instance
from . import res_config_settings
