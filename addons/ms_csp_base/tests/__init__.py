from . import test_install
from . import test_credentials_security
from . import test_customers
from . import test_provisioning
