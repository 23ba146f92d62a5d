from . import ms_csp_customer_link
