import logging
import threading

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import config

from odoo.addons.base.models.res_partner import _lang_get

from partner_center import ClientConfig, PartnerCenterClient
from partner_center.errors import PartnerCenterError, ReconsentRequired

_logger = logging.getLogger(__name__)

RECONSENT_ACTIVITY_SUMMARY = "Partner Center: consent again"


class MsCspInstance(models.Model):
    """A connection to Microsoft Partner Center ("Microsoft Cloud Services settings")."""

    _name = "ms.csp.instance"
    _description = "Partner Center Instance"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "sequence, id"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, tracking=True,
        help="The company whose Partner Center account this is; its branches use it too.",
    )
    environment = fields.Selection(
        [("microsoft", "Microsoft Partner Center"), ("simulator", "Partner Center simulator")],
        required=True, default="microsoft", tracking=True,
    )
    simulator_url = fields.Char(
        string="Simulator URL", help="Root URL of the Partner Center simulator, e.g. "
        "https://127.0.0.1:8770.",
    )
    simulator_ca_file = fields.Char(
        string="Simulator certificate", help="Path of the simulator's self-signed certificate "
        "on the Odoo server.",
    )
    partner_tenant_id = fields.Char(
        string="Partner tenant ID", required=True, tracking=True,
        help="The Microsoft Entra tenant of your Partner Center account.",
    )
    auth_mode = fields.Selection(
        [("app_user", "App + User (refresh token)"),
         ("app_only", "App only (client credentials)")],
        string="Authentication", required=True, default="app_user", tracking=True,
        help="App + User is needed for price sheets and most reseller operations.",
    )
    client_id = fields.Char(string="Application (client) ID", groups="base.group_system")
    client_secret = fields.Char(string="Client secret", groups="base.group_system")
    refresh_token = fields.Char(
        compute="_compute_refresh_token", inverse="_inverse_refresh_token",
        groups="base.group_system",
        help="Refresh token of the consenting admin (App + User). Partner Center returns a new one "
        "on every use: Odoo keeps the latest.",
    )
    credential_ids = fields.One2many("ms.csp.credential", "instance_id", groups="base.group_system")
    country_ids = fields.Many2many(
        "res.country", string="Countries", tracking=True,
        help="The countries you sell in: the catalogue is the superset of their SKUs and the "
        "default prices the highest over their price sheets.",
    )
    catalogue_lang = fields.Selection(
        _lang_get, string="Catalogue language", default="en_US", required=True,
        help="Descriptions come in this language where Microsoft translates them, in English "
        "otherwise.",
    )
    active_currency_ids = fields.Many2many(
        "res.currency", string="Active currencies", domain=[("active", "=", True)], tracking=True,
        help="The currencies the Microsoft products of this instance are sold in: each gets its "
        "cost and sell prices at every sync. Currencies Microsoft does not price in need a "
        "conversion rate.",
    )
    default_currency_id = fields.Many2one("res.currency", string="Default currency", tracking=True)
    connection_state = fields.Selection(
        [("not_tested", "Not tested"), ("connected", "Connected"), ("error", "Error")],
        default="not_tested", readonly=True, copy=False, tracking=True,
    )
    connection_message = fields.Text(readonly=True, copy=False)
    last_sync_date = fields.Datetime(readonly=True, copy=False)
    last_sync_state = fields.Selection(
        [("never", "Never run"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        default="never", readonly=True, copy=False,
    )
    last_sync_message = fields.Text(readonly=True, copy=False)
    sku_ids = fields.One2many("ms.csp.sku", "instance_id", string="SKUs")
    sku_count = fields.Integer(compute="_compute_counts")
    product_count = fields.Integer(compute="_compute_counts")
    sync_run_ids = fields.One2many("ms.csp.sync.run", "instance_id", string="Sync runs")
    pricelist_ids = fields.One2many("product.pricelist", "ms_instance_id", string="Pricelists")

    _sql_constraints = [
        ("name_company_unique", "unique(name, company_id)",
         "An instance of this name already exists in this company."),
    ]

    # === COMPUTES AND CONSTRAINTS === #

    def _compute_refresh_token(self):
        for instance in self:
            instance.refresh_token = instance.sudo().credential_ids[:1].refresh_token

    def _inverse_refresh_token(self):
        for instance in self:
            instance.sudo()._ms_credential(instance.env).write(
                {"refresh_token": instance.refresh_token, "rotated": False})

    def _compute_counts(self):
        skus = self.env["ms.csp.sku"]._read_group(
            [("instance_id", "in", self.ids)], ["instance_id"], ["__count"])
        sku_counts = {instance.id: count for instance, count in skus}
        products = self.env["product.template"].with_context(active_test=False)._read_group(
            [("ms_instance_id", "in", self.ids)], ["ms_instance_id"], ["__count"])
        product_counts = {instance.id: count for instance, count in products}
        for instance in self:
            instance.sku_count = sku_counts.get(instance.id, 0)
            instance.product_count = product_counts.get(instance.id, 0)

    @api.constrains("default_currency_id", "active_currency_ids")
    def _check_default_currency(self):
        for instance in self:
            if instance.default_currency_id and \
                    instance.default_currency_id not in instance.active_currency_ids:
                raise ValidationError(self.env._(
                    "The default currency %(currency)s of %(instance)s must be one of its active "
                    "currencies.", currency=instance.default_currency_id.name,
                    instance=instance.name))

    @api.constrains("environment", "simulator_url")
    def _check_simulator_url(self):
        for instance in self:
            if instance.environment == "simulator" and not instance.simulator_url:
                raise ValidationError(self.env._("Give the simulator's URL for %s.", instance.name))

    @api.onchange("active_currency_ids")
    def _onchange_active_currency_ids(self):
        if self.default_currency_id not in self.active_currency_ids._origin:
            self.default_currency_id = self.active_currency_ids[:1]

    # === PARTNER CENTER CLIENT === #

    def _ms_client_config(self):
        """The partner_center configuration of this instance (secrets read as superuser)."""
        self.ensure_one()
        instance = self.sudo()
        settings = {
            "tenant": instance.partner_tenant_id or "",
            "client_id": instance.client_id or "",
            "client_secret": instance.client_secret or "",
            "refresh_token": instance.refresh_token or "",
            "auth_mode": instance.auth_mode,
        }  # English answers: the catalogue language is asked for where it is wanted
        if instance.environment == "simulator":
            return ClientConfig.for_simulator(
                instance.simulator_url.rstrip("/"), instance.simulator_ca_file or None, **settings)
        return ClientConfig(**settings)

    def _ms_client(self, **overrides):
        """A Partner Center client whose rotated refresh tokens are saved on this instance."""
        self.ensure_one()
        client_config = self._ms_client_config()
        overrides = {**self.env.context.get("ms_csp_client_overrides", {}), **overrides}
        if overrides:
            client_config = client_config.replace(**overrides)
        return PartnerCenterClient(
            client_config, on_refresh_token=lambda token: self._ms_store_refresh_token(token))

    def _ms_credential(self, env):
        """The credential row of this instance in ``env`` (created when missing)."""
        self.ensure_one()
        credentials = env["ms.csp.credential"].sudo()
        return credentials.search([("instance_id", "=", self.id)], limit=1) or \
            credentials.create({"instance_id": self.id})

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
            with self.env.registry.cursor() as cr:
                self._ms_credential(self.env(cr=cr)).write(
                    {"refresh_token": token, "rotated": True})
        self.invalidate_recordset(["refresh_token"])

    # === ACTIONS === #

    def action_test_connection(self):
        """Redeem the credentials and read the catalogue of the first country."""
        self.ensure_one()
        if not self.country_ids:
            raise UserError(self.env._("Choose at least one country on %s first.", self.name))
        try:
            with self._ms_client() as client:
                products = client.products(self.country_ids[0].code, "SoftwareSubscriptions")
        except PartnerCenterError as error:
            self._ms_record_connection_error(error)
            return self._ms_notification(
                self.env._("Connection failed"), self.connection_message, "danger")
        self.write({
            "connection_state": "connected",
            "connection_message": self.env._(
                "Connected: %(count)s software subscription products in %(country)s.",
                count=len(products), country=self.country_ids[0].name),
        })
        return self._ms_notification(
            self.env._("Connection works"), self.connection_message, "success")

    def action_open_skus(self):
        return self._ms_action("action_ms_csp_sku", "instance_id")

    def action_open_products(self):
        return self._ms_action("action_ms_csp_products", "ms_instance_id", active_test=False)

    def action_open_sync_runs(self):
        return self._ms_action("action_ms_csp_sync_run", "instance_id")

    def _ms_action(self, xmlid, instance_field, **context):
        """This addon's window action ``xmlid``, showing the records of this instance."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(f"ms_catalogue_sync.{xmlid}")
        action["domain"] = [(instance_field, "=", self.id)]
        if context:
            action["context"] = context
        return action

    @staticmethod
    def _ms_notification(title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": message, "type": kind,
                       "sticky": kind != "success"},
        }

    # === ERRORS === #

    def _ms_error_message(self, error):
        """What a user reads about a Partner Center error (never a secret: the client's texts
        carry none)."""
        if isinstance(error, ReconsentRequired):
            return self.env._(
                "Partner Center refused the refresh token of %(instance)s: it has expired or was "
                "revoked. An administrator must consent again (secure application model) and "
                "paste the new refresh token on the instance.", instance=self.name)
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
        managers = self.env.ref("ms_catalogue_sync.group_ms_csp_manager").users.filtered(
            lambda user: not user.share and user.active and user._is_internal()
            and self.company_id in user.company_ids)
        open_for = self.activity_ids.filtered(
            lambda activity: activity.summary == RECONSENT_ACTIVITY_SUMMARY).user_id
        for manager in managers - open_for:
            self.activity_schedule(
                "mail.mail_activity_data_todo", summary=RECONSENT_ACTIVITY_SUMMARY,
                note=message, user_id=manager.id)

    # === DEMO === #

    @api.model
    def _ms_wire_demo_to_simulator(self):
        """Point the demo instance at the simulator ``make run`` started (odoo.conf options)."""
        url = config.get("ms_csp_simulator_url")
        instance = self.env.ref("ms_catalogue_sync.demo_instance", raise_if_not_found=False)
        if not (url and instance):
            return
        instance.write({
            "environment": "simulator", "simulator_url": url,
            "simulator_ca_file": config.get("ms_csp_simulator_ca_file") or False,
        })
