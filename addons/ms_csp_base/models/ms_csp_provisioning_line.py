from odoo import api, fields, models
from odoo.exceptions import ValidationError

from partner_center.resources import CartLineItem

BILLING_CYCLES = [
    ("monthly", "Monthly"),
    ("annual", "Annual"),
    ("triennial", "Triennial"),
    ("one_time", "One time"),
]


class MsCspProvisioningLine(models.Model):
    """One line of a provisioning's cart, and what Partner Center answered for it."""

    _name = "ms.csp.provisioning.line"
    _description = "Microsoft Provisioning Line"
    _order = "provisioning_id, sequence, id"

    provisioning_id = fields.Many2one(
        "ms.csp.provisioning", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="provisioning_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    catalog_item_id = fields.Char(
        string="Catalog item",
        required=True,
        help="ProductId:SkuId:AvailabilityId, or ProductId:SkuId (the availability is then read "
        "for the customer's country when the cart is created).",
    )
    quantity = fields.Integer(required=True, default=1)
    billing_cycle = fields.Selection(BILLING_CYCLES, required=True)
    term_duration = fields.Char(
        help="ISO 8601 term, e.g. P1Y or P3Y; empty for perpetual " "licenses."
    )
    friendly_name = fields.Char(help="Shown in Partner Center; the order marker is appended.")
    res_model = fields.Char(string="Source model")
    res_id = fields.Many2oneReference(string="Source line ID", model_field="res_model")
    line_item_number = fields.Integer(readonly=True, copy=False)
    ms_offer_id = fields.Char(
        string="Microsoft offer ID",
        readonly=True,
        help="The order line's offer (ProductId:SkuId:AvailabilityId), as Partner Center placed "
        "it: what a cancellation names.",
    )
    ms_subscription_id = fields.Char(string="Microsoft subscription ID", readonly=True, copy=False)
    ms_status = fields.Char(string="Microsoft status", readonly=True, copy=False)

    _sql_constraints = [
        ("quantity_positive", "CHECK(quantity > 0)", "The quantity must be positive."),
    ]

    @api.constrains("billing_cycle", "provisioning_id")
    def _check_one_billing_cycle(self):
        """Partner Center places one order per billing cycle: one record, one order."""
        for provisioning in self.provisioning_id:
            if len(set(provisioning.line_ids.mapped("billing_cycle"))) > 1:
                raise ValidationError(
                    self.env._(
                        "All lines of provisioning %s must have the same billing cycle: Partner "
                        "Center places one order per billing cycle. Create one provisioning per "
                        "billing cycle.",
                        provisioning.name,
                    )
                )

    def _ms_cart_line_item(self):
        """The line as the client sends it in a cart."""
        self.ensure_one()
        return CartLineItem(
            catalog_item_id=self.catalog_item_id.strip(),
            quantity=self.quantity,
            billing_cycle=self.billing_cycle,
            term_duration=self.term_duration or None,
            friendly_name=self.friendly_name or None,
        )

    def _ms_store_order_lines(self, order_lines):
        """Match the order's lines to ours and store their number and subscription id.

        Partner Center numbers an order's lines in cart order, and the cart's lines are ours in
        their order: the n-th line by number is our n-th line, whatever order they come in.
        """
        numbered = sorted(order_lines, key=lambda order_line: order_line.line_item_number or 0)
        for line, order_line in zip(self.sorted(), numbered, strict=False):
            values = {"line_item_number": order_line.line_item_number}
            if order_line.offer_id:
                values["ms_offer_id"] = order_line.offer_id
            if order_line.subscription_id:
                values["ms_subscription_id"] = order_line.subscription_id
            line.write(values)

    def _ms_store_provisioning_status(self, statuses):
        by_number = {status.line_item_number: status.status for status in statuses}
        for line in self:
            line.ms_status = by_number.get(line.line_item_number, line.ms_status)
