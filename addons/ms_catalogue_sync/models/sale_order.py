from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError


class SaleOrder(models.Model):
    """The selling side shared by the Microsoft addons: the end customer, its prices, the checks
    before confirmation, and the hand-over of Microsoft lines to the provisioning engine."""

    _inherit = "sale.order"

    ms_end_customer_id = fields.Many2one(
        "res.partner",
        string="End customer",
        compute="_compute_ms_end_customer_id",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        index="btree_not_null",
        domain="[('is_company', '=', True)]",
        help="Who uses the Microsoft products: their Partner Center tenant receives the order "
        "and their billing country decides the price. A reseller orders for its end customers.",
    )
    ms_has_microsoft_lines = fields.Boolean(compute="_compute_ms_has_microsoft_lines")

    @api.depends("partner_id")
    def _compute_ms_end_customer_id(self):
        origins = self._origin.filtered("id")
        handed_over = origins._ms_handed_over_orders() if origins else origins
        for order in self:
            if order._origin in handed_over:
                continue  # the tenant its provisioning orders for
            if not order.ms_end_customer_id or order.state in ("draft", "sent"):
                order.ms_end_customer_id = order.partner_id.commercial_partner_id

    @api.depends("order_line.product_id")
    def _compute_ms_has_microsoft_lines(self):
        for order in self:
            order.ms_has_microsoft_lines = bool(order.order_line._ms_microsoft_lines())

    # === PRICES === #

    @api.onchange("ms_end_customer_id")
    def _onchange_ms_end_customer_id(self):
        self._ms_reprice()

    def write(self, vals):
        handed_over = self._ms_handed_over_orders() if "ms_end_customer_id" in vals else self
        if "ms_end_customer_id" in vals and self.filtered(
            lambda order: (
                order.state not in ("draft", "sent")
                and order.ms_has_microsoft_lines
                or order in handed_over
            )
            and order.ms_end_customer_id.id != vals["ms_end_customer_id"]
        ):
            raise UserError(
                self.env._(
                    "The end customer of a confirmed order with Microsoft products cannot change: "
                    "Partner Center ordered for its tenant."
                )
            )
        result = super().write(vals)
        if "ms_end_customer_id" in vals or "currency_id" in vals or "pricelist_id" in vals:
            self.filtered(lambda order: order.state in ("draft", "sent"))._ms_reprice()
        return result

    def _ms_handed_over_orders(self):
        """These orders that have a line handed to the provisioning engine (a cancelled order
        set back to quotation included): their end customer is the tenant it orders for."""
        handed = self.order_line._ms_handed_over()
        return self.order_line.filtered(lambda line: line.id in handed).order_id

    @api.ondelete(at_uninstall=False)
    def _unlink_except_handed_over(self):
        """Deleting an order deletes its lines without their own checks: refuse it here."""
        handed_over = self._ms_handed_over_orders()
        if handed_over:
            raise UserError(
                self.env._(
                    "%s cannot be deleted: Microsoft products of it were handed to the "
                    "provisioning engine.",
                    ", ".join(handed_over.mapped("name")),
                )
            )

    def _ms_reprice(self):
        """Give every Microsoft line the exact price for the end customer (draft orders)."""
        lines = self.order_line._ms_microsoft_lines().filtered(lambda line: not line.qty_invoiced)
        lines.with_context(force_price_recomputation=True)._compute_price_unit()

    # === CONFIRMATION === #

    def _confirmation_error_message(self):
        """Refuse, before anything is confirmed, Microsoft lines that cannot be ordered."""
        error = super()._confirmation_error_message()
        if error:
            return error
        problems = [
            problem
            for line in self.order_line._ms_microsoft_lines()
            if (problem := line._ms_order_problem())
        ]
        if problems:
            return self.env._(
                "This order cannot be confirmed yet:\n%s",
                "\n".join(f"- {problem}" for problem in dict.fromkeys(problems)),
            )
        return False

    def _action_cancel(self):
        """Refuse to cancel an order whose Microsoft lines went to Partner Center (or are on
        their way): cancelling in Odoo would leave the Microsoft orders placed and billed."""
        handed_over = self.env["ms.csp.provisioning.line"].sudo()
        for provisioning_line in self.order_line._ms_microsoft_lines()._ms_handed_over().values():
            provisioning = provisioning_line.provisioning_id
            # refused before any cart was checked out: nothing can have been ordered
            if not (provisioning.state == "failed" and provisioning.failed_step == "pending"):
                handed_over |= provisioning_line
        if handed_over:
            orders = self.env["sale.order.line"].browse(handed_over.mapped("res_id")).order_id
            raise UserError(
                self.env._(
                    "%(orders)s cannot be cancelled: its Microsoft products are ordered in Partner "
                    "Center (provisioning %(provisionings)s). Cancel them there first (a perpetual "
                    "license: Cancel on the license, within Microsoft's window), then archive or "
                    "close the records here.",
                    orders=", ".join(orders.mapped("name")),
                    provisionings=", ".join(handed_over.provisioning_id.mapped("name")),
                )
            )
        return super()._action_cancel()

    def _ms_create_provisionings(self, lines):
        """Hand ``lines`` (Microsoft lines of these orders) to the provisioning engine.

        One provisioning record per order, instance and billing cycle (Partner Center places
        one order per billing cycle). No Partner Center call: the engine's cron places them.
        Lines already handed over (an order cancelled and confirmed again) are left out.

        :return: the provisioning records (sudo)
        """
        groups = defaultdict(lambda: self.env["sale.order.line"])
        provisioned = lines._ms_handed_over()
        for line in lines.filtered(lambda line: line.id not in provisioned):
            # a line handed over once (an order confirmed again) is never ordered twice
            key = (line.order_id, line.product_id.ms_instance_id, line._ms_billing_cycle())
            groups[key] |= line
        vals_list = []
        for (order, instance, _cycle), group in groups.items():
            customer = order.ms_end_customer_id.commercial_partner_id
            tenant = self.env["ms.csp.customer"].sudo()._ms_tenant_for(customer, instance)
            vals_list.append(
                {
                    "instance_id": instance.id,
                    "partner_id": customer.id,
                    "customer_tenant_id": tenant.tenant_id,
                    "country_code": customer.country_id.code,
                    "res_model": order._name,
                    "res_id": order.id,
                    "user_id": order.user_id.id or self.env.uid,
                    "line_ids": [
                        fields.Command.create(line._ms_provisioning_line_vals()) for line in group
                    ],
                }
            )
        return self.env["ms.csp.provisioning"]._ms_create_provisionings(vals_list)
