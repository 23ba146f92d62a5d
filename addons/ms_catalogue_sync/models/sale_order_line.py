from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare

from ..const import TERM_PLANS


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    ms_price_error = fields.Char(
        string="Microsoft price",
        compute="_compute_ms_price_error",
        help="Why this Microsoft line has no price for the end customer: it cannot be "
        "confirmed until that is solved.",
    )

    @api.depends("product_id", "order_id.ms_end_customer_id", "order_id.currency_id")
    def _compute_ms_price_error(self):
        for line in self:
            line.ms_price_error = False
            if line.product_id.ms_term_plan and line.order_id.ms_end_customer_id:
                line.ms_price_error = line._ms_end_customer_price()[2] or False

    def _ms_microsoft_lines(self):
        return self.filtered(lambda line: line.product_id.ms_term_plan and not line.display_type)

    def _ms_end_customer_price(self):
        """``(price, cost, reason)`` of this line for its order's end customer and currency."""
        self.ensure_one()
        order = self.order_id
        on_date = order.date_order.date() if order.date_order else None
        return self.product_id._ms_end_customer_price(
            order.ms_end_customer_id, order.currency_id, on_date
        )

    def _get_display_price(self):
        """Microsoft lines: the exact price for the end customer, when there is one."""
        self.ensure_one()
        if self.product_id.ms_term_plan and self.order_id.ms_end_customer_id:
            price = self._ms_end_customer_price()[0]
            if price is not None:
                return price
        return super()._get_display_price()

    def _ms_order_problem(self):
        """What stops this Microsoft line from being ordered, in words, or ``None``."""
        self.ensure_one()
        customer = self.order_id.ms_end_customer_id.commercial_partner_id
        instance = self.product_id.ms_instance_id
        if not customer:
            return self.env._("Choose the end customer of the Microsoft products.")
        if self.ms_price_error:
            return self.ms_price_error
        if not self.env["ms.csp.customer"].sudo()._ms_tenant_for(customer, instance):
            return self.env._(
                "%(customer)s has no Partner Center tenant linked on %(instance)s: a Microsoft "
                "CSP manager links it from the customer's form (Microsoft CSP tab).",
                customer=customer.display_name,
                instance=instance.name,
            )
        quantity = self.product_uom_qty
        if quantity < 1 or quantity != int(quantity):
            return self.env._(
                "%(product)s: Microsoft sells whole quantities of at least 1, not %(quantity)s.",
                product=self.product_id.display_name,
                quantity=quantity,
            )
        return self.product_id.ms_sku_id._ms_quantity_problem(quantity)

    def _ms_billing_cycle(self):
        return TERM_PLANS[self.product_id.ms_term_plan][1]

    def _ms_provisioning_line_vals(self):
        """This line as a line of a provisioning record (its availability is read at ordering)."""
        self.ensure_one()
        term, billing, _value, _uom = TERM_PLANS[self.product_id.ms_term_plan]
        return {
            "catalog_item_id": self.product_id.ms_sku_code,
            "quantity": int(self.product_uom_qty),
            "billing_cycle": billing,
            "term_duration": term or False,
            "friendly_name": self.product_id.name,
            "res_model": self._name,
            "res_id": self.id,
        }

    @api.depends("product_id")
    def _compute_product_uom(self):
        """Microsoft lines take the billing unit of their variant (Annual, Triennial, Units)."""
        microsoft = self.filtered(lambda line: line.product_id.ms_billing_uom_id)
        for line in microsoft:
            line.product_uom = line.product_id.ms_billing_uom_id
        return super(SaleOrderLine, self - microsoft)._compute_product_uom()

    @api.constrains("product_id", "product_uom")
    def _check_ms_billing_uom(self):
        """No silent price rescaling: a Microsoft line keeps the unit Microsoft bills in."""
        for line in self:
            unit = line.product_id.ms_billing_uom_id
            if unit and line.product_uom != unit:
                raise ValidationError(
                    self.env._(
                        "%(product)s is billed per %(unit)s: its unit cannot be changed.",
                        product=line.product_id.display_name,
                        unit=unit.name,
                    )
                )

    # === LINES HANDED TO THE PROVISIONING ENGINE === #

    def _ms_handed_over(self):
        """Provisioning line of each of these lines handed to the engine: ``{line id: line}``."""
        provisioning_lines = (
            self.env["ms.csp.provisioning.line"]
            .sudo()
            .search([("res_model", "=", self._name), ("res_id", "in", self.ids)])
        )
        return {line.res_id: line for line in provisioning_lines}

    def write(self, vals):
        if "product_id" in vals or "product_uom_qty" in vals:
            self._ms_check_handed_over_change(vals)
        return super().write(vals)

    def _ms_check_handed_over_change(self, vals):
        """A line handed to the engine keeps its product and quantity, whatever the order's state
        (a cancelled order set back to quotation too): its provisioning, retried, orders them."""
        microsoft = self._ms_microsoft_lines()
        handed = microsoft._ms_handed_over() if microsoft else {}
        digits = self.env["decimal.precision"].precision_get("Product Unit of Measure")
        changed = microsoft.filtered(
            lambda line: line.id in handed
            and (
                "product_id" in vals
                and vals["product_id"] != line.product_id.id
                or "product_uom_qty" in vals
                and float_compare(
                    vals["product_uom_qty"], line.product_uom_qty, precision_digits=digits
                )
            )
        )[:1]
        if changed:
            raise UserError(changed._ms_locked_change_message(handed[changed.id].provisioning_id))

    def _ms_locked_change_message(self, provisioning):
        """Why this handed-over line keeps its product and quantity (the selling addons may say
        it in their own terms)."""
        return self.env._(
            "%(product)s on %(order)s was handed to the Microsoft provisioning %(provisioning)s "
            "for %(quantity)s: its product and quantity can no longer change, that provisioning "
            "orders them. Retry it as it is, or sell another quantity on a new line.",
            product=self.product_id.display_name,
            order=self.order_id.name,
            provisioning=provisioning.name,
            quantity=int(self.product_uom_qty),
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_handed_over(self):
        microsoft = self._ms_microsoft_lines()
        handed = microsoft._ms_handed_over() if microsoft else {}
        if handed:
            line = microsoft.filtered(lambda line: line.id in handed)[:1]
            raise UserError(
                self.env._(
                    "%(product)s on %(order)s cannot be deleted: it was handed to the Microsoft "
                    "provisioning %(provisioning)s, which orders it.",
                    product=line.product_id.display_name,
                    order=line.order_id.name,
                    provisioning=handed[line.id].provisioning_id.name,
                )
            )
