from odoo import fields, models

from ..const import PARAM_NOTIFY_EXPIRY_REMINDER, PARAM_NOTIFY_PROVISIONING_FAILURE


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    ms_notify_provisioning_failure = fields.Boolean(
        string="Alert on provisioning failures",
        config_parameter=PARAM_NOTIFY_PROVISIONING_FAILURE,
        help="Mail the salesperson and the Microsoft CSP managers when Partner Center refuses "
        "a software subscription's order.",
    )
    ms_notify_expiry_reminder = fields.Boolean(
        string="Remind customers before expiry",
        config_parameter=PARAM_NOTIFY_EXPIRY_REMINDER,
        help="Mail the customer 30 days before the Software Expiration Date of a subscription "
        "whose auto-renew is off (once per expiration date).",
    )
