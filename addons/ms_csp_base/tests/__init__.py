from . import test_install
from . import test_credentials_security
