import logging
import re
import threading

from psycopg2 import errors

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from partner_center import ClientConfig, PartnerCenterClient
from partner_center.errors import PartnerCenterError, ReconsentRequired

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "ms_csp_base.group_ms_csp_manager"
RECONSENT_ACTIVITY_SUMMARY = "Partner Center: consent again"
TOKEN_SAVE_ATTEMPTS = 3
# A person waits: give up in seconds rather than hold the request for minutes.
INTERACTIVE_SETTINGS = {
    "deadline_seconds": 20.0,
    "max_retries": 1,
    "backoff_max": 2.0,
    "conflict_wait_seconds": 0.0,
    "read_timeout": 15.0,
}
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class MsCspInstance(models.Model):
    """A connection to Microsoft Partner Center ("Microsoft Cloud Services settings").

    Where requests go is decided by code and by fields only Settings administrators can read or
    write: Microsoft's endpoints are constants of ``partner_center``; another environment (the
    demo addon's simulator) adds its own administrator-only settings.
    """

    _name = "ms.csp.instance"
    _description = "Partner Center Instance"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "sequence, id"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        tracking=True,
        help="The company whose Partner Center account this is; its branches use it too.",
    )
    environment = fields.Selection(
        [("microsoft", "Microsoft Partner Center")],
        required=True,
        default="microsoft",
        tracking=True,
        groups="base.group_system",
        help="Where this instance sends its requests.",
    )
    partner_tenant_id = fields.Char(
        string="Partner tenant ID",
        required=True,
        tracking=True,
        groups="base.group_system",
        help="The Microsoft Entra tenant of your Partner Center account.",
    )
    auth_mode = fields.Selection(
        [("app_user", "App + User (refresh token)"), ("app_only", "App only (client credentials)")],
        string="Authentication",
        required=True,
        default="app_user",
        tracking=True,
        groups="base.group_system",
        help="App + User is needed for price sheets and most reseller operations.",
    )
    client_id = fields.Char(string="Application (client) ID", groups="base.group_system")
    client_secret = fields.Char(string="Client secret", groups="base.group_system")
    refresh_token = fields.Char(
        compute="_compute_refresh_token",
        inverse="_inverse_refresh_token",
        groups="base.group_system",
        help="Refresh token of the consenting admin (App + User). Partner Center returns a new one "
        "on every use: Odoo keeps the latest.",
    )
    credential_ids = fields.One2many("ms.csp.credential", "instance_id", groups="base.group_system")
    country_ids = fields.Many2many(
        "res.country",
        string="Countries",
        tracking=True,
        help="The countries you sell in: the catalog is the superset of their SKUs and the "
        "default prices the highest over their price sheets.",
    )
    connection_state = fields.Selection(
        [("not_tested", "Not tested"), ("connected", "Connected"), ("error", "Error")],
        default="not_tested",
        readonly=True,
        copy=False,
        tracking=True,
    )
    connection_message = fields.Text(readonly=True, copy=False)

    _sql_constraints = [
        (
            "name_company_unique",
            "unique(name, company_id)",
            "An instance of this name already exists in this company.",
        ),
    ]

    # === COMPUTES AND CONSTRAINTS === #

    def _compute_refresh_token(self):
        for instance in self:
            instance.refresh_token = instance.sudo().credential_ids[:1].refresh_token

    def _inverse_refresh_token(self):
        for instance in self:
            instance.sudo()._ms_credential(instance.env).write(
                {"refresh_token": instance.refresh_token, "rotated": False}
            )

    @api.constrains("partner_tenant_id")
    def _check_partner_tenant_id(self):
        for instance in self.sudo():
            if instance.partner_tenant_id and not GUID.match(instance.partner_tenant_id):
                raise ValidationError(
                    self.env._(
                        "The partner tenant ID of %s must be a GUID, e.g. "
                        "0c5a0001-5e1c-4a11-9000-00000000c001.",
                        instance.name,
                    )
                )

    # === PARTNER CENTER CLIENT === #

    def _ms_check_can_call(self):
        """Refuse, before anything is sent, a caller who may not use the credentials.

        The cron runs as superuser; a person must be a Microsoft CSP manager allowed to write
        this instance (its company's record rules).
        """
        if self.env.su:
            return
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only Microsoft CSP managers can make Odoo call Partner Center.")
            )
        self.check_access("write")

    def _ms_client_settings(self):
        """Credentials and authentication of this instance (secrets read as superuser)."""
        self.ensure_one()
        instance = self.sudo()
        return {
            "tenant": instance.partner_tenant_id,
            "client_id": instance.client_id or "",
            "client_secret": instance.client_secret or "",
            "refresh_token": instance.refresh_token or "",
            "auth_mode": instance.auth_mode,
        }  # English answers: the catalogue language is asked for where it is wanted

    def _ms_client_config(self):
        """The client configuration: Microsoft's endpoints, fixed in ``partner_center``.

        Another environment overrides this method (and only this one) to send elsewhere.
        """
        return ClientConfig(**self._ms_client_settings())

    def _ms_client(self, job_mode=False, interactive=False):
        """A Partner Center client whose rotated refresh tokens are saved on this instance.

        :param job_mode: for background steps: nothing waits in the worker, retryable failures
            are raised at once with their ``retry_after`` (see ``ClientConfig.for_job``)
        :param interactive: for a person waiting on a button: one short try, well within the
            HTTP request's time limit; the person tries again
        """
        self.ensure_one()
        self._ms_check_can_call()
        client_config = self._ms_client_config()
        if job_mode:
            client_config = client_config.for_job()
        elif interactive:
            client_config = client_config.replace(**INTERACTIVE_SETTINGS)
        return PartnerCenterClient(client_config, on_refresh_token=self._ms_store_refresh_token)

    def _ms_credential(self, env):
        """The credential row of this instance in ``env`` (created when missing)."""
        self.ensure_one()
        credentials = env["ms.csp.credential"].sudo()
        return credentials.search([("instance_id", "=", self.id)], limit=1) or credentials.create(
            {"instance_id": self.id}
        )

    def _ms_store_refresh_token(self, token):
        """Persist a rotated refresh token at once, in its own transaction.

        The token Partner Center returns replaces the one just used: it must survive even when the
        work that asked for it rolls back. The credential row is never written by that work, so its
        own transaction cannot wait on the caller's locks.
        """
        self.ensure_one()
        if not token:
            return
        if getattr(threading.current_thread(), "testing", False):
            # A test's records are not committed: another transaction could not see them.
            self._ms_credential(self.env).write({"refresh_token": token, "rotated": True})
        else:
            for attempt in range(TOKEN_SAVE_ATTEMPTS):
                try:
                    with self.env.registry.cursor() as cr:
                        self._ms_credential(self.env(cr=cr)).write(
                            {"refresh_token": token, "rotated": True}
                        )
                    break
                except errors.SerializationFailure:
                    # Another worker saved its own new token at the same moment: both are
                    # valid; ours is written again on a fresh transaction.
                    if attempt == TOKEN_SAVE_ATTEMPTS - 1:
                        raise
        self.invalidate_recordset(["refresh_token"])

    # === ACTIONS === #

    def action_test_connection(self):
        """Redeem the credentials and read the catalogue of the first country."""
        self.ensure_one()
        self._ms_check_can_call()
        if not self.country_ids:
            raise UserError(self.env._("Choose at least one country on %s first.", self.name))
        try:
            with self._ms_client(interactive=True) as client:
                products = client.products(self.country_ids[0].code, "SoftwareSubscriptions")
        except PartnerCenterError as error:
            self._ms_record_connection_error(error)
            return self._ms_notification(
                self.env._("Connection failed"), self.connection_message, "danger"
            )
        self.write(
            {
                "connection_state": "connected",
                "connection_message": self.env._(
                    "Connected: %(count)s software subscription products in %(country)s.",
                    count=len(products),
                    country=self.country_ids[0].name,
                ),
            }
        )
        return self._ms_notification(
            self.env._("Connection works"), self.connection_message, "success"
        )

    def _ms_action(self, xmlid, instance_field, **context):
        """The window action ``xmlid``, showing the records of this instance."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [(instance_field, "=", self.id)]
        if context:
            action["context"] = context
        return action

    @staticmethod
    def _ms_notification(title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": kind != "success",
            },
        }

    # === ERRORS === #

    def _ms_error_message(self, error):
        """What a user reads about a Partner Center error (never a secret: the client's texts
        carry none)."""
        if isinstance(error, ReconsentRequired):
            return self.env._(
                "Partner Center refused the refresh token of %(instance)s: it has expired or was "
                "revoked. An administrator must consent again (secure application model) and "
                "paste the new refresh token on the instance.",
                instance=self.name,
            )
        return self.env._("Partner Center answered: %s", error)

    def _ms_record_connection_error(self, error):
        """Put the instance in error, and ask the managers to act when consent is needed."""
        self.ensure_one()
        message = self._ms_error_message(error)
        _logger.warning("Partner Center instance %s: %s", self.id, message)
        self.write({"connection_state": "error", "connection_message": message})
        if isinstance(error, ReconsentRequired):
            self._ms_schedule_reconsent_activity(message)

    def _ms_schedule_reconsent_activity(self, message):
        managers = self.env.ref(MANAGER_GROUP).users.filtered(
            lambda user: not user.share
            and user.active
            and user._is_internal()
            and self.company_id in user.company_ids
        )
        open_for = self.activity_ids.filtered(
            lambda activity: activity.summary == RECONSENT_ACTIVITY_SUMMARY
        ).user_id
        for manager in managers - open_for:
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=RECONSENT_ACTIVITY_SUMMARY,
                note=message,
                user_id=manager.id,
            )
