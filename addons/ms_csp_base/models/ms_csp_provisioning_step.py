from odoo import fields, models

from .ms_csp_provisioning import STATES

STEPS = [
    ("create", "Created"),
    ("search", "Search for an existing order"),
    ("cart", "Create the cart"),
    ("checkout", "Check the cart out"),
    ("poll", "Follow the order"),
    ("retry", "Retry"),
]


class MsCspProvisioningStep(models.Model):
    """The history of a provisioning: one row per step the cron ran (and per retry)."""

    _name = "ms.csp.provisioning.step"
    _description = "Microsoft Provisioning Step"
    _order = "id desc"

    provisioning_id = fields.Many2one(
        "ms.csp.provisioning", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="provisioning_id.company_id", store=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    step = fields.Selection(STEPS, required=True, readonly=True)
    outcome = fields.Selection(
        [("success", "Done"), ("postponed", "Postponed"), ("failed", "Failed"), ("info", "Note")],
        required=True,
        readonly=True,
    )
    state = fields.Selection(STATES, string="State after", readonly=True)
    message = fields.Text(readonly=True)
