from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .ms_csp_instance import GUID


class MsCspCustomer(models.Model):
    """The Partner Center customer (tenant) a commercial partner is, for one instance.

    Microsoft orders go to a customer tenant: a sale order's end customer is looked up here.
    A partner has at most one linked tenant per instance, and a tenant one partner.
    """

    _name = "ms.csp.customer"
    _description = "Partner Center Customer"
    _inherit = ["mail.thread"]
    _order = "partner_id, instance_id"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="restrict",
        tracking=True,
        domain=[("is_company", "=", True)],
    )
    instance_id = fields.Many2one(
        "ms.csp.instance",
        string="Partner Center instance",
        required=True,
        index=True,
        ondelete="cascade",
        tracking=True,
    )
    company_id = fields.Many2one(related="instance_id.company_id", store=True)
    tenant_id = fields.Char(
        string="Tenant ID",
        required=True,
        tracking=True,
        help="The customer's Microsoft Entra tenant id, as Partner Center shows it.",
    )
    domain = fields.Char(
        string="Default domain", tracking=True, help="e.g. contoso.onmicrosoft.com"
    )
    ms_company_name = fields.Char(
        string="Company name in Partner Center",
        tracking=True,
        help="The company name Partner Center knows the customer by.",
    )
    ms_country_code = fields.Char(string="Country in Partner Center", size=2)
    origin = fields.Selection(
        [("linked", "Existing customer linked"), ("created", "Created from Odoo")],
        default="linked",
        required=True,
        readonly=True,
    )
    state = fields.Selection(
        [("linked", "Linked"), ("unlinked", "Unlinked")],
        default="linked",
        required=True,
        tracking=True,
        index=True,
    )
    linked_on = fields.Datetime(default=fields.Datetime.now, readonly=True)
    linked_by_id = fields.Many2one(
        "res.users", string="Linked by", default=lambda self: self.env.user, readonly=True
    )

    _sql_constraints = [
        # partial uniqueness: an unlinked row is history, the partner can be linked again
        (
            "linked_tenant_unique",
            "EXCLUDE (instance_id WITH =, tenant_id WITH =) WHERE (state = 'linked')",
            "This tenant is already linked to another customer on this instance.",
        ),
        (
            "linked_partner_unique",
            "EXCLUDE (instance_id WITH =, partner_id WITH =) WHERE (state = 'linked')",
            "This customer already has a linked tenant on this instance: unlink it first.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            _normalize_tenant(vals)
        return super().create(vals_list)

    def write(self, vals):
        return super().write(_normalize_tenant(vals))

    @api.constrains("tenant_id")
    def _check_tenant_id(self):
        for customer in self:
            if not GUID.match(customer.tenant_id or ""):
                raise ValidationError(
                    self.env._(
                        "%s is not a tenant ID: a tenant ID is a GUID such as "
                        "0c5a0001-5e1c-4a11-9000-00000000c001.",
                        customer.tenant_id,
                    )
                )

    @api.constrains("partner_id", "state")
    def _check_company_is_linked(self):
        for customer in self.filtered(lambda link: link.state == "linked"):
            if customer.partner_id != customer.partner_id.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "Link the company %s, not one of its contacts.",
                        customer.partner_id.commercial_partner_id.display_name,
                    )
                )

    @api.depends("partner_id", "tenant_id")
    def _compute_display_name(self):
        for customer in self:
            customer.display_name = f"{customer.partner_id.display_name} ({customer.tenant_id})"

    def action_unlink_tenant(self):
        """Unlink (the history stays): the partner can be linked again, to any tenant."""
        self.write({"state": "unlinked"})

    @api.model
    def _ms_tenant_for(self, partner, instance):
        """The linked customer of ``partner``'s company on ``instance`` (empty when none)."""
        return self.search(
            [
                ("partner_id", "=", partner.commercial_partner_id.id),
                ("instance_id", "=", instance.id),
                ("state", "=", "linked"),
            ],
            limit=1,
        )


def _normalize_tenant(vals):
    """Tenant ids compare case-insensitively: store them lower-case, trimmed."""
    if vals.get("tenant_id"):
        vals["tenant_id"] = vals["tenant_id"].strip().lower()
    return vals
