from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..const import (
    AUTO_RENEW_DEFAULT_FROM,
    MANAGER_GROUP,
    STATUSES,
    SYNC_STATE_BY_PROVISIONING_STATE,
    SYNC_STATES,
)


class SaleSubscription(models.Model):
    """A Microsoft software subscription: one Partner Center subscription, made by confirming one
    sale order line, provisioned by the engine of ``ms_csp_base`` (``ms.csp.provisioning``).

    The Microsoft fields are filled by the engine's hooks (``ms_csp_provisioning.py``: order id
    and alias, Partner Center subscription id) and by polling Partner Center
    (``sale_subscription_refresh.py``: Software ID, expiration date, status).
    """

    _name = "sale.subscription"
    # portal.mixin: access_url / access_token for the customer portal (subscription_oca has none)
    _inherit = ["sale.subscription", "portal.mixin"]

    # editable: a Microsoft subscription's name defaults to its plan's name
    name = fields.Char(readonly=False, tracking=True)
    ms_is_microsoft = fields.Boolean(
        string="Microsoft software subscription", readonly=True, copy=False, index=True
    )
    ms_instance_id = fields.Many2one(
        "ms.csp.instance",
        string="Partner Center instance",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="restrict",
    )
    ms_end_customer_id = fields.Many2one(
        "res.partner",
        string="End customer",
        readonly=True,
        copy=False,
        tracking=True,
        index="btree_not_null",
        help="The company whose Partner Center tenant holds the subscription.",
    )
    ms_sale_line_id = fields.Many2one(
        "sale.order.line",
        string="Sale order line",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="restrict",
    )
    ms_product_id = fields.Many2one(related="ms_sale_line_id.product_id", string="Plan")
    ms_provisioning_line_id = fields.Many2one(
        "ms.csp.provisioning.line",
        string="Provisioning line",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
    )
    ms_provisioning_id = fields.Many2one(
        related="ms_provisioning_line_id.provisioning_id",
        string="Provisioning",
        store=True,
        index="btree_not_null",
    )
    ms_status = fields.Selection(
        STATUSES,
        string="Status",
        readonly=True,
        copy=False,
        tracking=True,
        help="As Partner Center reports it.",
    )
    ms_sync_state = fields.Selection(
        SYNC_STATES,
        string="Provisioning Sync Status",
        compute="_compute_ms_sync_state",
        store=True,
        tracking=True,
        index="btree_not_null",
        help="Pending: Partner Center has not placed the order yet. Synchronized: the order is "
        "placed. Failed: see the error; a Microsoft CSP manager may retry.",
    )
    ms_last_error = fields.Text(
        related="ms_provisioning_id.last_error_message", string="Last error"
    )
    ms_attempt_count = fields.Integer(related="ms_provisioning_id.attempt_count", string="Attempts")
    ms_purchase_date = fields.Date(string="Purchase date", readonly=True, copy=False, tracking=True)
    ms_order_id = fields.Char(
        string="Microsoft Order ID",
        readonly=True,
        copy=False,
        tracking=True,
        index="btree_not_null",
    )
    ms_order_alias = fields.Char(
        string="Order ID Alias",
        readonly=True,
        copy=False,
        tracking=True,
        help="The short order id Partner Center shows to people.",
    )
    ms_subscription_id = fields.Char(
        string="Partner Center subscription ID",
        readonly=True,
        copy=False,
        tracking=True,
        index="btree_not_null",
        help="As the order's line reports it once fulfilled.",
    )
    ms_software_id = fields.Char(
        string="Software ID",
        readonly=True,
        copy=False,
        tracking=True,
        help="The Microsoft subscription id, as Partner Center returns the subscription once it "
        "is readable (often minutes after the order).",
    )
    ms_software_expiration_date = fields.Date(
        string="Software Expiration Date", readonly=True, copy=False, tracking=True
    )
    ms_auto_renew = fields.Boolean(
        string="Auto-renew",
        compute="_compute_ms_auto_renew",
        store=True,
        readonly=False,
        copy=False,
        tracking=True,
        help="On by default for purchases on or after 14 October 2021, off before.",
    )
    ms_refresh_at = fields.Datetime(
        string="Next Partner Center read",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="When the Software ID and expiration date are read next; empty: nothing to read.",
    )
    ms_refresh_attempts = fields.Integer(readonly=True, copy=False)

    # === COMPUTES === #

    @api.depends("template_id", "code")
    def _compute_name(self):
        """Microsoft subscriptions keep their name (their plan's by default)."""
        microsoft = self.filtered(lambda subscription: subscription.ms_is_microsoft)
        for subscription in microsoft:
            subscription.name = subscription.name or subscription.ms_product_id.display_name
        return super(SaleSubscription, self - microsoft)._compute_name()

    def _compute_access_url(self):
        """Microsoft subscriptions have a portal page; others keep the mixin's ``#``."""
        microsoft = self.filtered("ms_is_microsoft")
        for subscription in microsoft:
            subscription.access_url = f"/my/software-subscriptions/{subscription.id}"
        return super(SaleSubscription, self - microsoft)._compute_access_url()

    @api.depends("ms_provisioning_id.state")
    def _compute_ms_sync_state(self):
        for subscription in self:
            if not subscription.ms_is_microsoft:
                subscription.ms_sync_state = False
                continue
            subscription.ms_sync_state = SYNC_STATE_BY_PROVISIONING_STATE.get(
                subscription.ms_provisioning_id.state, "pending"
            )

    @api.depends("ms_purchase_date")
    def _compute_ms_auto_renew(self):
        for subscription in self:
            subscription.ms_auto_renew = (
                subscription.ms_is_microsoft
                and self._ms_default_auto_renew(subscription.ms_purchase_date)
            )

    @api.model
    def _ms_default_auto_renew(self, purchase_date):
        """Partner Center's default: on for purchases on or after the cut-off."""
        return bool(purchase_date) and purchase_date >= AUTO_RENEW_DEFAULT_FROM

    # === LINKS === #

    def _ms_link_provisioning_lines(self, provisioning_lines):
        """Link each subscription to the provisioning line made from its sale order line."""
        by_sale_line = {
            line.res_id: line for line in provisioning_lines if line.res_model == "sale.order.line"
        }
        for subscription in self:
            line = by_sale_line.get(subscription.ms_sale_line_id.id)
            if line:
                subscription.ms_provisioning_line_id = line

    # === ACTIONS === #

    def _ms_check_manager(self):
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(
                self.env._(
                    "Only Microsoft CSP managers can retry or refresh Microsoft subscriptions."
                )
            )

    def action_ms_retry(self):
        """Retry the failed provisionings of these subscriptions (managers).

        The engine first searches Partner Center for an order already placed for the
        provisioning's reference and links it; only when none is found does it order again.
        A provisioning holds all the lines of one order and billing cycle: retrying one
        subscription retries its siblings of that order too.
        """
        self._ms_check_manager()
        provisionings = self.filtered(
            lambda subscription: subscription.ms_sync_state == "failed"
        ).ms_provisioning_id
        if not provisionings:
            raise UserError(
                self.env._(
                    "Only subscriptions whose Provisioning Sync Status is Failed can be retried."
                )
            )
        return provisionings.action_retry()

    def action_ms_open_provisioning(self):
        self.ensure_one()
        if not self.ms_provisioning_id:
            raise UserError(self.env._("This subscription has no provisioning."))
        return {
            "type": "ir.actions.act_window",
            "res_model": "ms.csp.provisioning",
            "res_id": self.ms_provisioning_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }
