from odoo import fields, models


class MsCspCredential(models.Model):
    """The refresh token of an instance, apart from the instance row.

    Partner Center rotates the refresh token on every use; the new one is saved in its own
    transaction while a sync may hold locks on the instance row: a separate row never waits on them.
    Only Settings administrators may read it.
    """

    _name = "ms.csp.credential"
    _description = "Partner Center Credential"
    _rec_name = "instance_id"

    instance_id = fields.Many2one("ms.csp.instance", required=True, ondelete="cascade", index=True)
    refresh_token = fields.Char()
    rotated = fields.Boolean(help="Set when the token was returned by Partner Center on a use.")

    _sql_constraints = [
        ("instance_unique", "unique(instance_id)", "An instance has one credential."),
    ]
