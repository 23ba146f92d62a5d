from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..const import KIND_PERPETUAL, TERM_PLAN_ONE_TIME
from .ms_perpetual_reconciliation import LINE_KINDS


class MsPerpetualReconciliationLine(models.Model):
    """One finding of a reconciliation: a Microsoft order line and/or an asset.

    ``match`` and ``ambiguous`` lines are linked by a person (for an ambiguous line, after
    choosing the asset among the candidates); an ``order_only`` line can create the missing
    asset. Every link is checked again when made: an order line already on an asset is never
    linked a second time.
    """

    _name = "ms.perpetual.reconciliation.line"
    _description = "Perpetual License Reconciliation Line"
    _order = "reconciliation_id, kind, order_date, id"

    reconciliation_id = fields.Many2one(
        "ms.perpetual.reconciliation", required=True, ondelete="cascade", index=True
    )
    ms_customer_id = fields.Many2one(
        "ms.csp.customer", string="Tenant", required=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(related="ms_customer_id.partner_id", string="Customer")
    company_id = fields.Many2one("res.company", required=True, index=True)
    kind = fields.Selection(LINE_KINDS, required=True, readonly=True)
    state = fields.Selection(
        [("open", "To decide"), ("linked", "Linked"), ("created", "Asset created")],
        required=True,
        default="open",
        readonly=True,
    )
    ms_order_id = fields.Char(string="Perpetual Order ID", readonly=True)
    ms_order_alias = fields.Char(string="Perpetual Order ID Alias", readonly=True)
    ms_line_item_number = fields.Integer(string="Order line number", readonly=True)
    ms_sku_code = fields.Char(string="SKU code", readonly=True)
    quantity = fields.Integer(readonly=True)
    order_date = fields.Datetime(readonly=True)
    currency_code = fields.Char(readonly=True)
    asset_id = fields.Many2one(
        "ms.perpetual.asset",
        string="Asset",
        ondelete="cascade",
        domain="[('id', 'in', candidate_asset_ids)]",
        help="The matched asset; for an ambiguous line, choose one of the candidates.",
    )
    candidate_asset_ids = fields.Many2many(
        "ms.perpetual.asset", string="Candidate assets", readonly=True
    )

    # === ACTIONS === #

    def action_link(self):
        """Link each line's Microsoft order line to its (chosen) asset."""
        self.env["ms.perpetual.asset"]._ms_check_manager(
            self.env._("link perpetual licenses to Microsoft orders")
        )
        for line in self:
            line._ms_check_linkable()
            line.asset_id.sudo()._ms_link_microsoft_order(line)
            line.sudo().state = "linked"
        return True

    def action_create_asset(self):
        """Create the asset a Microsoft order line has no counterpart for."""
        self.env["ms.perpetual.asset"]._ms_check_manager(
            self.env._("create perpetual licenses from Microsoft orders")
        )
        for line in self:
            if line.kind != "order_only" or line.state != "open":
                raise UserError(
                    self.env._(
                        "Only an open line of a Microsoft order without asset creates an asset."
                    )
                )
            line._ms_check_order_free()
            asset = self.env["ms.perpetual.asset"].sudo().create(line._ms_new_asset_values())
            asset._ms_link_microsoft_order(line, created=True)
            line.sudo().write({"state": "created", "asset_id": asset.id})
        return True

    # === HELPERS === #

    def _ms_check_linkable(self):
        if self.state != "open" or self.kind not in ("match", "ambiguous"):
            raise UserError(
                self.env._(
                    "This line is not an open match: it was already handled or has no asset."
                )
            )
        if not self.asset_id:
            raise UserError(
                self.env._(
                    "Choose the asset of order %s among the candidates first.", self.ms_order_alias
                )
            )
        if self.asset_id not in self.candidate_asset_ids:
            raise UserError(
                self.env._(
                    "%(asset)s does not match order %(order)s: choose one of the candidates.",
                    asset=self.asset_id.display_name,
                    order=self.ms_order_alias,
                )
            )
        if self.asset_id.ms_order_id:
            raise UserError(
                self.env._(
                    "%(asset)s is already linked to Microsoft order %(order)s: it is not linked "
                    "again.",
                    asset=self.asset_id.display_name,
                    order=self.asset_id.ms_order_alias,
                )
            )
        self._ms_check_order_free()

    def _ms_check_order_free(self):
        """Refuse an order line already on an asset (row locks keep two people apart)."""
        Asset = self.env["ms.perpetual.asset"].sudo()
        Asset.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM ms_perpetual_asset WHERE ms_order_id = %s "
                "AND ms_line_item_number = %s FOR UPDATE",
                self.ms_order_id,
                self.ms_line_item_number,
            )
        )
        taken = Asset.browse([row[0] for row in self.env.cr.fetchall()])
        if taken:
            raise UserError(
                self.env._(
                    "Microsoft order %(order)s (line %(line)s) is already linked to %(asset)s: it "
                    "is never linked twice.",
                    order=self.ms_order_alias,
                    line=self.ms_line_item_number,
                    asset=taken[:1].display_name,
                )
            )

    def _ms_new_asset_values(self):
        customer = self.ms_customer_id
        product = self._ms_product()
        currency = self.env["res.currency"].search([("name", "=", self.currency_code)], limit=1)
        return {
            "name": product.name,
            "company_id": customer.company_id.id or self.env.company.id,
            "product_id": product.id,
            "currency_id": (
                currency or customer.company_id.currency_id or self.env.company.currency_id
            ).id,
            "price_unit": 0.0,
            "price_subtotal": 0.0,
            "quantity": self.quantity,
            "purchase_date": self.order_date or fields.Datetime.now(),
            "partner_id": customer.partner_id.id,
            "instance_id": customer.instance_id.id,
            "ms_sku_name": product.ms_sku_id.name,
            "ms_sku_code": self.ms_sku_code,
        }

    def _ms_product(self):
        product = (
            self.env["product.product"]
            .sudo()
            .search(
                [
                    ("ms_sku_id.code", "=", self.ms_sku_code),
                    ("ms_sku_id.instance_id", "=", self.ms_customer_id.instance_id.id),
                    ("service_tracking", "=", KIND_PERPETUAL),
                    ("ms_term_plan", "=", TERM_PLAN_ONE_TIME),
                ],
                limit=1,
            )
        )
        if not product:
            raise UserError(
                self.env._(
                    "No product sells the Microsoft SKU %s: synchronise the catalog (or publish "
                    "the SKU as a product), then try again.",
                    self.ms_sku_code,
                )
            )
        return product

    @api.model
    def _ms_open_action(self, report):
        return {
            "type": "ir.actions.act_window",
            "res_model": "ms.perpetual.reconciliation",
            "res_id": report.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }
