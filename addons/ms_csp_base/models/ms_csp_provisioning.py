import logging
import uuid
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from partner_center.errors import AuthenticationError, PartnerCenterError

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "ms_csp_base.group_ms_csp_manager"
CRON_XMLID = "ms_csp_base.cron_ms_csp_provisioning"
FAILURE_ACTIVITY_SUMMARY = "Microsoft provisioning failed"

STATES = [
    ("pending", "Pending"),
    ("cart", "Cart created"),
    ("submitted", "Submitted"),
    ("ordered", "Ordered"),
    ("fulfilled", "Fulfilled"),
    ("failed", "Failed"),
]
# States the cron works on; "fulfilled" and "failed" are final (a manager may retry "failed").
ACTIVE_STATES = ("pending", "cart", "submitted", "ordered")


class MsCspProvisioning(models.Model):
    """One Partner Center order to place: a cart of one or more lines for one customer tenant.

    Modelled on ``payment.transaction``: a unique reference whose ``idempotency_key`` is sent to
    Partner Center (the order marker and the derived ``MS-RequestId`` values), the provider's
    reference (``ms_order_id``), and a state changed only through the ``_ms_set_<state>``
    methods, which log a step. Creating a record never calls Partner Center: it wakes the cron
    (``ms_csp_provisioning_engine.py``), which makes one call per step and commits after each.

    Hooks for the addons that order (see the HOOKS section): ``_ms_on_ordered``,
    ``_ms_on_fulfilled``, ``_ms_on_failed``.
    """

    _name = "ms.csp.provisioning"
    _description = "Microsoft Provisioning"
    _inherit = ["mail.thread", "mail.activity.mixin", "ms.csp.background.job"]
    _order = "id desc"

    name = fields.Char(
        string="Reference", required=True, readonly=True, copy=False, default="/", index=True
    )
    idempotency_key = fields.Char(
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: str(uuid.uuid4()),
        help="Sent to Partner Center (order marker, request ids): one order per key, however "
        "often a step is repeated.",
    )
    instance_id = fields.Many2one(
        "ms.csp.instance",
        string="Partner Center instance",
        required=True,
        readonly=True,
        ondelete="restrict",
        index=True,
    )
    company_id = fields.Many2one(related="instance_id.company_id", store=True, index=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True, index=True)
    customer_tenant_id = fields.Char(string="Customer tenant ID", required=True, readonly=True)
    country_code = fields.Char(
        readonly=True,
        help="The customer's country: used to read availabilities again when the "
        "ones of the lines are stale.",
    )
    res_model = fields.Char(string="Source model", readonly=True)
    res_id = fields.Many2oneReference(string="Source ID", model_field="res_model", readonly=True)
    source_display = fields.Char(string="Source document", compute="_compute_source_display")
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        tracking=True,
        help="Gets an activity when the provisioning fails.",
    )
    state = fields.Selection(
        STATES,
        required=True,
        default="pending",
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    last_state_change = fields.Datetime(readonly=True, copy=False, default=fields.Datetime.now)
    failed_step = fields.Selection(
        [state for state in STATES if state[0] in ACTIVE_STATES],
        readonly=True,
        copy=False,
        help="The state the provisioning failed from: Retry resumes there.",
    )
    failure_kind = fields.Selection(
        [("refused", "Refused by Partner Center"), ("error", "Outcome unknown")],
        readonly=True,
        copy=False,
        help="Refused: Partner Center answered no (nothing was ordered by that call). Outcome "
        "unknown: an unexpected error, the call may have taken effect.",
    )
    order_search_done = fields.Boolean(
        readonly=True,
        copy=False,
        help="Partner Center was searched for an order of this reference since the last (re)start "
        "and none was found: a cart may be created or checked out.",
    )
    cart_id = fields.Char(string="Cart ID", readonly=True, copy=False)
    checkout_count = fields.Integer(
        readonly=True,
        copy=False,
        help="Checkouts of the cart that may have reached Partner Center (counted before each is "
        "sent): a cart sent once is never dropped.",
    )
    ms_order_id = fields.Char(string="Microsoft order ID", readonly=True, copy=False, index=True)
    ms_order_alias = fields.Char(
        string="Order ID alias",
        readonly=True,
        copy=False,
        help="The short order id Partner Center shows to people (alternateId).",
    )
    attempt_count = fields.Integer(
        readonly=True, copy=False, help="Attempts postponed in the current state."
    )
    next_attempt_at = fields.Datetime(
        string="Next attempt",
        readonly=True,
        copy=False,
        index=True,
        help="When the cron will run the next step; empty: as soon as possible.",
    )
    is_postponed = fields.Boolean(
        string="Postponed", compute="_compute_is_postponed", search="_search_is_postponed"
    )
    last_error_code = fields.Char(readonly=True, copy=False)
    last_error_message = fields.Text(readonly=True, copy=False)
    line_ids = fields.One2many(
        "ms.csp.provisioning.line", "provisioning_id", string="Lines", readonly=True, copy=True
    )
    step_ids = fields.One2many(
        "ms.csp.provisioning.step", "provisioning_id", string="Steps", readonly=True
    )

    _sql_constraints = [
        ("name_unique", "unique(name)", "A provisioning with this reference already exists."),
        (
            "idempotency_key_unique",
            "unique(idempotency_key)",
            "A provisioning with this idempotency key already exists.",
        ),
    ]

    # === COMPUTES === #

    @api.depends("res_model", "res_id")
    def _compute_source_display(self):
        for provisioning in self:
            source = provisioning._ms_source_record()
            provisioning.source_display = source.display_name if source else False

    @api.depends("next_attempt_at")
    def _compute_is_postponed(self):
        now = fields.Datetime.now()
        for provisioning in self:
            provisioning.is_postponed = bool(
                provisioning.next_attempt_at and provisioning.next_attempt_at > now
            )

    def _search_is_postponed(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Operation not supported."))
        postponed = [
            ("state", "in", ACTIVE_STATES),
            ("next_attempt_at", ">", fields.Datetime.now()),
        ]
        return postponed if (operator == "=") == value else ["!", "&", *postponed]

    def _ms_source_record(self):
        self.ensure_one()
        if not (self.res_model and self.res_id) or self.res_model not in self.env:
            return None
        source = self.env[self.res_model].browse(self.res_id).exists()
        return source or None

    # === CREATION === #

    @api.model_create_multi
    def create(self, vals_list):
        """Number the records and wake the cron, in the creating transaction: a creation that
        rolls back schedules nothing, and nothing here calls Partner Center."""
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].sudo().next_by_code(self._name) or "/"
        provisionings = super().create(vals_list)
        provisionings._ms_log_step("create", "info", self.env._("Waiting for the cron."))
        self._ms_trigger_cron()
        return provisionings

    @api.model
    def _ms_create_provisionings(self, vals_list):
        """Create provisioning records for a consumer addon (sale confirmation, ...).

        Runs as superuser since the confirming user rarely may create them; returns the sudo
        records. Each ``vals`` needs ``instance_id``, ``customer_tenant_id`` and ``line_ids``
        (``Command.create`` of ``ms.csp.provisioning.line`` values); ``res_model``/``res_id`` name
        the source document. All lines of one record share one billing cycle (Partner Center
        places one order per billing cycle). The responsible user follows the record without an
        "assigned to you" mail for each order: a failure brings an activity, and its mail.
        """
        return self.sudo().with_context(mail_auto_subscribe_no_notify=True).create(vals_list)

    def _ms_trigger_cron(self, at=None):
        self.env.ref(CRON_XMLID).sudo()._trigger(at=at)

    # === STATE CHANGES (the only writers of ``state``) === #

    def _ms_set_state(self, state, step, message, outcome="success", **values):
        self.ensure_one()
        self.write(
            {
                "state": state,
                "last_state_change": fields.Datetime.now(),
                "attempt_count": 0,
                "next_attempt_at": False,
                **values,
            }
        )
        self._ms_log_step(step, outcome, message)

    def _ms_set_cart(self, step, cart_id):
        self._ms_set_state("cart", step, self.env._("Cart %s created.", cart_id), cart_id=cart_id)

    def _ms_set_submitted(self, step, message):
        self._ms_set_state("submitted", step, message, outcome="postponed")

    def _ms_set_ordered(self, step, order, message):
        """Store the order and each line's result, then run the consumers' hook."""
        self._ms_set_state(
            "ordered",
            step,
            message,
            ms_order_id=order.id,
            ms_order_alias=order.alias,
            last_error_code=False,
            last_error_message=False,
        )
        self.line_ids._ms_store_order_lines(order.line_items)
        self._ms_run_hook(self._ms_on_ordered, step)

    def _ms_set_fulfilled(self, step, message):
        self._ms_set_state("fulfilled", step, message)
        self._ms_run_hook(self._ms_on_fulfilled, step)

    def _ms_run_hook(self, hook, step):
        """Run a consumer's hook in a savepoint of its own: whatever it does, the Microsoft order
        id stays on record; its failure is told on the record and to the responsible user."""
        try:
            with self.env.cr.savepoint():
                hook()
        except Exception as error:  # pylint: disable=broad-except
            _logger.exception("Provisioning %s: the %s hook failed", self.name, step)
            message = self.env._(
                "Partner Center order %(alias)s (%(order)s) is on record, but updating the "
                "documents it was ordered for failed (%(type)s: %(error)s). Open them and use "
                "Refresh from Microsoft, or report the error.",
                alias=self.ms_order_alias,
                order=self.ms_order_id,
                type=type(error).__name__,
                error=error,
            )
            self._ms_log_step(step, "failed", message)
            self._ms_schedule_failure_activity(message)

    def _ms_set_failed(self, step, error, kind="refused"):
        """Fail with Partner Center's code and message; the responsible user gets an activity.

        :param error: a ``PartnerCenterError``, or any exception (its text only: never secrets)
        :param kind: ``refused`` (a definitive answer) or ``error`` (the outcome is unknown)
        """
        message = (
            self.instance_id._ms_error_message(error)
            if isinstance(error, PartnerCenterError)
            else str(error)
        )
        failed_step = self.state
        self._ms_set_state(
            "failed",
            step,
            message,
            outcome="failed",
            failed_step=failed_step,
            failure_kind=kind,
            last_error_code=_error_code(error),
            last_error_message=message,
        )
        if isinstance(error, AuthenticationError):
            self.instance_id._ms_record_connection_error(error)
        self._ms_schedule_failure_activity(message)
        self._ms_run_hook(self._ms_on_failed, step)

    def _ms_schedule_failure_activity(self, message):
        """An activity for the responsible user, or a manager when that is no internal user."""
        user = self.user_id
        if not user.active or user.share:
            user = self.env.ref(MANAGER_GROUP).users.filtered(
                lambda manager: manager.active
                and not manager.share
                and self.company_id in manager.company_ids
            )[:1] or self.env.ref("base.user_admin")
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=FAILURE_ACTIVITY_SUMMARY,
            note=message,
            user_id=user.id,
        )

    def _ms_postpone(self, step, seconds, message, error=None):
        """Keep the state, come back in ``seconds`` (and wake the cron then)."""
        self.ensure_one()
        when = fields.Datetime.now() + timedelta(seconds=max(0.0, float(seconds)))
        values = {"next_attempt_at": when, "attempt_count": self.attempt_count + 1}
        if error is not None:
            values.update(
                last_error_code=_error_code(error),
                last_error_message=self.instance_id._ms_error_message(error),
            )
        self.write(values)
        self._ms_log_step(step, "postponed", message)
        self._ms_trigger_cron(at=when)

    def _ms_log_step(self, step, outcome, message):
        self.env["ms.csp.provisioning.step"].sudo().create(
            [
                {
                    "provisioning_id": provisioning.id,
                    "step": step,
                    "outcome": outcome,
                    "state": provisioning.state,
                    "message": message,
                }
                for provisioning in self
            ]
        )

    # === HOOKS (override in the addons that order) === #

    def _ms_on_ordered(self):
        """Partner Center placed the order: ``ms_order_id``, ``ms_order_alias`` and each line's
        ``line_item_number``/``ms_subscription_id`` (when already known) are stored.

        Runs in the step's transaction: an error here rolls the step back and fails the record
        ("outcome unknown"); a retry then links the same order again.
        """

    def _ms_on_fulfilled(self):
        """Every line is provisioned; subscription ids are stored on the lines that have one."""

    def _ms_retry_refusals(self):
        """Why retrying this record could order what is already ordered (sentences): e.g. a
        document linked to a Microsoft order by hand since. Extended by the consumer addons."""
        self.ensure_one()
        return []

    def _ms_on_failed(self):
        """The provisioning failed (``last_error_code``/``last_error_message``); a manager may
        retry it. The responsible user already has an activity."""

    # === ACTIONS === #

    def _ms_check_manager(self):
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(
                self.env._("Only Microsoft CSP managers can retry a Microsoft provisioning.")
            )

    def action_retry(self):
        """Resume failed records from their persisted state; the cron does the work.

        Nothing is ordered before Partner Center was searched for an order of the reference
        again (``order_search_done`` is reset). A cart refused by Partner Center is dropped; a cart
        whose checkout may have gone through is kept, and checked out with the same request id.
        """
        self._ms_check_manager()
        failed = self.filtered(lambda provisioning: provisioning.state == "failed")
        if not failed:
            raise UserError(self.env._("Only failed provisionings can be retried."))
        gone = failed.filtered(
            lambda provisioning: provisioning.res_model and not provisioning._ms_source_record()
        )
        if gone:
            raise UserError(
                self.env._(
                    "%s: the document it was ordered for no longer exists; nothing is ordered "
                    "for it.",
                    ", ".join(gone.mapped("name")),
                )
            )
        cancelled = failed.filtered(
            lambda provisioning: getattr(provisioning._ms_source_record(), "state", None)
            == "cancel"
        )
        if cancelled:
            raise UserError(
                self.env._(
                    "%s: the document it was ordered for is cancelled; nothing is ordered for it.",
                    ", ".join(cancelled.mapped("name")),
                )
            )
        refusals = [
            reason for provisioning in failed for reason in provisioning._ms_retry_refusals()
        ]
        if refusals:
            raise UserError("\n".join(refusals))
        failed.check_access("read")
        for provisioning in failed.sudo():
            provisioning._ms_resume()
        failed.sudo().activity_ids.filtered(
            lambda activity: activity.summary == FAILURE_ACTIVITY_SUMMARY
        ).action_feedback(feedback=self.env._("Retried by %s.", self.env.user.name))
        self._ms_trigger_cron()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Retry scheduled"),
                "message": self.env._(
                    "%s provisioning(s) will be resumed in the background.", len(failed)
                ),
                "type": "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _ms_resume(self):
        resume = self.failed_step or "pending"
        values = {"order_search_done": False, "failed_step": False, "failure_kind": False}
        if resume == "cart" and self.failure_kind == "refused" and self.checkout_count <= 1:
            # Partner Center refused the first and only checkout of this cart: no order came
            # from it, and the cart (stale availabilities, a refused line) is dropped.
            resume, values["cart_id"], values["checkout_count"] = "pending", False, 0
        elif resume == "cart":
            resume = "submitted"  # a checkout may have gone through: same cart, same request
        message = self.env._(
            "Retried by %(user)s: resuming at %(state)s.",
            user=self.env.user.name,
            state=dict(STATES)[resume],
        )
        self._ms_set_state(resume, "retry", message, outcome="info", **values)

    def action_open_source(self):
        self.ensure_one()
        source = self._ms_source_record()
        if not source:
            raise UserError(self.env._("The source document no longer exists."))
        return {
            "type": "ir.actions.act_window",
            "res_model": source._name,
            "res_id": source.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }


def _error_code(error):
    code = getattr(error, "code", None) or getattr(error, "status", None)
    return str(code) if code else False
