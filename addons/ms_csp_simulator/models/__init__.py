from . import ms_csp_instance
