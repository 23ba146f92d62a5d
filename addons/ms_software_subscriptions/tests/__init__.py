from . import test_install
from . import test_refusals
from . import test_subscription_flow
from . import test_portal
from . import test_auto_renew_push
from . import test_notifications
from . import test_sale_tour
