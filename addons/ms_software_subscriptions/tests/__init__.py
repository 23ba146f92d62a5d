from . import test_install
from . import test_refusals
from . import test_subscription_flow
