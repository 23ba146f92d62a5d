from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_datetime

from partner_center.errors import CODE_CANCELLATION_WINDOW_PASSED, PartnerCenterError

from ..const import CANCELLATION_WINDOW, MANAGER_GROUP

SYNC_STATUSES = [
    ("pending", "Pending"),
    ("synchronized", "Synchronized"),
    ("failed", "Failed"),
]


class MsPerpetualAsset(models.Model):
    """A Microsoft perpetual license sold in Odoo: one per confirmed sale order line.

    Ordered through the provisioning engine of ``ms_csp_base`` (its hooks, in
    ``ms_csp_provisioning.py``, write what Partner Center answered); the Perpetual ID, which
    Partner Center publishes later, is polled by ``ms_perpetual_asset_refresh.py``.
    """

    _name = "ms.perpetual.asset"
    _description = "Microsoft Perpetual License"
    _inherit = ["portal.mixin", "mail.thread"]
    _order = "purchase_date desc, id desc"

    name = fields.Char(
        required=True, tracking=True, help="By default the name of the perpetual license plan."
    )
    status = fields.Selection(
        [("active", "Active"), ("cancelled", "Cancelled")],
        required=True,
        default="active",
        readonly=True,
        tracking=True,
        index=True,
    )
    sync_status = fields.Selection(
        SYNC_STATUSES,
        string="Provisioning Sync Status",
        required=True,
        default="pending",
        readonly=True,
        tracking=True,
        index=True,
        help="Synchronized: the order is placed in Partner Center and linked to this asset. "
        "Failed: Partner Center refused it (see the error); a manager may retry.",
    )
    last_error_code = fields.Char(readonly=True, copy=False)
    last_error_message = fields.Text(string="Last error", readonly=True, copy=False)
    purchase_date = fields.Datetime(
        required=True,
        readonly=True,
        default=fields.Datetime.now,
        index=True,
        help="When the sale was confirmed and the provisioning started.",
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)

    # === PRODUCT AND PRICING === #
    product_id = fields.Many2one(
        "product.product", required=True, readonly=True, ondelete="restrict"
    )
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    price_unit = fields.Monetary(string="Unit price", readonly=True)
    quantity = fields.Integer(required=True, readonly=True)
    price_subtotal = fields.Monetary(string="Subtotal", readonly=True)
    sale_order_id = fields.Many2one("sale.order", string="Sale order", readonly=True, index=True)
    sale_line_id = fields.Many2one(
        "sale.order.line",
        string="Sale order line",
        readonly=True,
        ondelete="set null",
        index="btree_not_null",
        copy=False,
    )
    invoice_line_ids = fields.Many2many(
        related="sale_line_id.invoice_lines", string="Invoice lines"
    )
    credit_note_id = fields.Many2one(
        "account.move",
        string="Credit note",
        readonly=True,
        copy=False,
        help="Prepared for the customer when the license was cancelled in Partner Center.",
    )

    # === MICROSOFT === #
    partner_id = fields.Many2one(
        "res.partner",
        string="End customer",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
    )
    ordering_partner_id = fields.Many2one(
        "res.partner",
        string="Ordered by",
        compute="_compute_ordering_partner_id",
        store=True,
        index=True,
        help="The company that ordered the license (the sale order's customer, a reseller when "
        "it differs from the end customer; the end customer without sale order). Its portal "
        "users see the license too.",
    )
    instance_id = fields.Many2one(
        "ms.csp.instance",
        string="Partner Center instance",
        required=True,
        readonly=True,
        ondelete="restrict",
    )
    customer_tenant_id = fields.Char(string="Customer tenant ID", readonly=True)
    ms_order_id = fields.Char(
        string="Perpetual Order ID",
        readonly=True,
        copy=False,
        tracking=True,
        index="btree_not_null",
    )
    ms_order_alias = fields.Char(
        string="Perpetual Order ID Alias", readonly=True, copy=False, tracking=True
    )
    ms_line_item_number = fields.Integer(string="Order line number", readonly=True, copy=False)
    ms_sku_name = fields.Char(
        string="Perpetual License SKU",
        readonly=True,
        help="The license's original name in Microsoft's catalogue.",
    )
    ms_sku_code = fields.Char(string="SKU code", readonly=True)
    perpetual_id = fields.Char(
        string="Perpetual ID",
        readonly=True,
        copy=False,
        tracking=True,
        help="Microsoft's id of this perpetual license; it often appears minutes after the order "
        "and is polled automatically.",
    )
    provisioning_id = fields.Many2one(
        "ms.csp.provisioning", string="Provisioning", readonly=True, copy=False, index=True
    )
    provisioning_line_id = fields.Many2one(
        "ms.csp.provisioning.line", readonly=True, copy=False, index=True
    )
    ms_cancellation_allowed_until = fields.Datetime(
        string="Partner Center cancellation deadline",
        readonly=True,
        copy=False,
        help="Partner Center's cancellationAllowedUntilDate, when it gave one.",
    )
    cancellation_deadline = fields.Datetime(
        compute="_compute_cancellation_deadline",
        store=True,
        help="Partner Center's date when known, otherwise the documented 30 days after purchase.",
    )
    cancellation_date = fields.Datetime(readonly=True, copy=False)

    _sql_constraints = [
        (
            "sale_line_unique",
            "unique(sale_line_id)",
            "A sale order line has one perpetual license asset.",
        ),
        ("quantity_positive", "CHECK(quantity > 0)", "The quantity must be positive."),
    ]

    @api.depends("sale_order_id.partner_id", "partner_id")
    def _compute_ordering_partner_id(self):
        for asset in self:
            asset.ordering_partner_id = (
                asset.sale_order_id.partner_id.commercial_partner_id or asset.partner_id
            )

    def _compute_access_url(self):
        for asset in self:
            asset.access_url = f"/my/perpetual-licenses/{asset.id}"

    @api.depends("ms_cancellation_allowed_until", "purchase_date")
    def _compute_cancellation_deadline(self):
        for asset in self:
            asset.cancellation_deadline = asset.ms_cancellation_allowed_until or (
                asset.purchase_date and asset.purchase_date + CANCELLATION_WINDOW
            )

    # === CREATION (sale confirmation) === #

    @api.model
    def _ms_create_for_lines(self, lines, provisionings):
        """One asset per perpetual sale line, linked to the provisioning line ordering it.

        :param lines: confirmed ``sale.order.line`` records of perpetual licenses
        :param provisionings: the records the engine got for them (sudo)
        :return: the assets (sudo: the confirming salesperson may not create them)
        """
        by_sale_line = {
            line.res_id: line
            for line in provisionings.line_ids
            if line.res_model == "sale.order.line"
        }
        vals_list = []
        for line in lines:
            order, product = line.order_id, line.product_id
            provisioning_line = by_sale_line.get(line.id)
            provisioning = provisioning_line.provisioning_id if provisioning_line else None
            vals_list.append(
                {
                    "name": product.name,
                    "company_id": order.company_id.id,
                    "product_id": product.id,
                    "currency_id": line.currency_id.id,
                    "price_unit": line.price_unit,
                    "quantity": int(line.product_uom_qty),
                    "price_subtotal": line.price_subtotal,
                    "sale_order_id": order.id,
                    "sale_line_id": line.id,
                    "partner_id": order.ms_end_customer_id.commercial_partner_id.id,
                    "instance_id": product.ms_instance_id.id,
                    "customer_tenant_id": provisioning.customer_tenant_id
                    if provisioning
                    else False,
                    "ms_sku_name": product.ms_sku_id.name,
                    "ms_sku_code": product.ms_sku_code,
                    "provisioning_id": provisioning.id if provisioning else False,
                    "provisioning_line_id": provisioning_line.id if provisioning_line else False,
                }
            )
        return self.sudo().create(vals_list)

    # === ACTIONS === #

    def _ms_check_manager(self, what):
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(self.env._("Only Microsoft CSP managers can %s.", what))

    def action_open_provisioning(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "ms.csp.provisioning",
            "res_id": self.provisioning_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def action_ms_retry(self):
        """Open the retry confirmation (``ms.perpetual.asset.retry``)."""
        self._ms_check_manager(self.env._("retry a perpetual license"))
        failed = self.filtered(lambda asset: asset.sync_status == "failed")
        if not failed:
            raise UserError(
                self.env._("Only perpetual licenses whose provisioning failed can " "be retried.")
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Retry provisioning"),
            "res_model": "ms.perpetual.asset.retry",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_asset_ids": failed.ids},
        }

    def action_ms_cancel_in_microsoft(self):
        """Cancel the license in Partner Center (one call) and prepare the customer's credit note.

        Refused, before any call, outside the cancellation window. The asset is only marked
        cancelled once Partner Center accepted: on an error nothing changes here.
        """
        self.ensure_one()
        self._ms_check_manager(self.env._("cancel a perpetual license"))
        self.check_access("write")
        self._ms_check_cancellable()
        instance = self.instance_id
        try:
            with instance._ms_client() as client:
                client.cancel_order_lines(
                    self.customer_tenant_id,
                    self.ms_order_id,
                    [(self.ms_line_item_number, self.provisioning_line_id.ms_offer_id or None)],
                )
        except PartnerCenterError as error:
            if getattr(error, "code", None) == CODE_CANCELLATION_WINDOW_PASSED:
                raise UserError(
                    self.env._(
                        "Partner Center refuses the cancellation of %(asset)s: its cancellation "
                        "window has closed. Nothing was changed.",
                        asset=self.display_name,
                    )
                ) from error
            raise UserError(
                self.env._(
                    "The cancellation of %(asset)s failed; nothing was changed. %(error)s",
                    asset=self.display_name,
                    error=instance._ms_error_message(error),
                )
            ) from error
        self._ms_mark_cancelled()
        return True

    def action_ms_reconcile_customers(self):
        """Reconcile the customers of the selected licenses with Partner Center (managers)."""
        self._ms_check_manager(self.env._("reconcile perpetual licenses"))
        partners = self.partner_id.commercial_partner_id
        if len(partners) != 1:
            raise UserError(
                self.env._(
                    "Select the licenses of one customer: each customer's orders are read from "
                    "Partner Center separately. The scheduled report covers all customers."
                )
            )
        return partners.action_ms_reconcile_perpetual_licences()

    def _ms_link_microsoft_order(self, line, created=False):
        """Store the Microsoft order line of a reconciliation ``line`` on this asset.

        :param created: the asset was just created from that order
        """
        self.ensure_one()
        self.write(
            {
                "sync_status": "synchronized",
                "ms_order_id": line.ms_order_id,
                "ms_order_alias": line.ms_order_alias,
                "ms_line_item_number": line.ms_line_item_number,
                "customer_tenant_id": line.ms_customer_id.tenant_id,
                "last_error_code": False,
                "last_error_message": False,
                "perpetual_id_next_check": fields.Datetime.now(),
                "perpetual_id_check_count": 0,
            }
        )
        details = {
            "order": line.ms_order_alias,
            "line": line.ms_line_item_number,
            "user": self.env.user.name,
        }
        if created:
            body = self.env._(
                "Created from Microsoft order %(order)s (line %(line)s) and linked "
                "by reconciliation, by %(user)s.",
                **details,
            )
        else:
            body = self.env._(
                "Microsoft order %(order)s (line %(line)s) linked by "
                "reconciliation, by %(user)s.",
                **details,
            )
        self.message_post(body=body)
        self._ms_trigger_refresh()

    def _ms_check_cancellable(self):
        if self.status != "active" or not self.ms_order_id:
            raise UserError(
                self.env._(
                    "Only an active perpetual license ordered in Partner Center can be cancelled."
                )
            )
        if fields.Datetime.now() > self.cancellation_deadline:
            raise UserError(
                self.env._(
                    "%(asset)s can no longer be cancelled: Microsoft's cancellation window closed "
                    "on %(date)s.",
                    asset=self.display_name,
                    date=format_datetime(self.env, self.cancellation_deadline),
                )
            )

    def _ms_mark_cancelled(self):
        credit_note = self._ms_prepare_credit_note()
        self.sudo().write(
            {
                "status": "cancelled",
                "cancellation_date": fields.Datetime.now(),
                "credit_note_id": credit_note.id,
            }
        )
        body = self.env._("Cancelled in Partner Center by %s.", self.env.user.name)
        if credit_note:
            body = self.env._(
                "%(body)s Draft credit note prepared: %(note)s.",
                body=body,
                note=credit_note.display_name,
            )
        self.message_post(body=body)

    def _ms_prepare_credit_note(self):
        """A draft credit note of this license's posted invoice lines (none when not invoiced)."""
        invoice_lines = self.sale_line_id.invoice_lines.filtered(
            lambda line: line.move_id.move_type == "out_invoice" and line.move_id.state == "posted"
        )
        if not invoice_lines:
            return self.env["account.move"]
        invoice = invoice_lines[0].move_id
        return (
            self.env["account.move"]
            .sudo()
            .create(
                {
                    "move_type": "out_refund",
                    "partner_id": invoice.partner_id.id,
                    "currency_id": invoice.currency_id.id,
                    "journal_id": invoice.journal_id.id,
                    "company_id": invoice.company_id.id,
                    "reversed_entry_id": invoice.id,
                    "invoice_origin": invoice.invoice_origin,
                    "ref": self.env._("Cancellation of %s", self.display_name),
                    "invoice_line_ids": [
                        fields.Command.create(
                            {
                                "product_id": line.product_id.id,
                                "name": line.name,
                                "quantity": line.quantity,
                                "price_unit": line.price_unit,
                                "discount": line.discount,
                                "tax_ids": [fields.Command.set(line.tax_ids.ids)],
                                "sale_line_ids": [fields.Command.set(line.sale_line_ids.ids)],
                            }
                        )
                        for line in invoice_lines
                    ],
                }
            )
        )
