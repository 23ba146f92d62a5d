from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    ms_customer_ids = fields.One2many(
        "ms.csp.customer",
        "partner_id",
        string="Partner Center customers",
        groups="ms_csp_base.group_ms_csp_user",
    )
    ms_customer_count = fields.Integer(
        compute="_compute_ms_customer_count", groups="ms_csp_base.group_ms_csp_user"
    )

    def _compute_ms_customer_count(self):
        counts = dict(
            self.env["ms.csp.customer"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids), ("state", "=", "linked")],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.ms_customer_count = counts.get(partner.commercial_partner_id, 0)

    def action_ms_open_customers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ms_csp_base.action_ms_csp_customer")
        partner = self.commercial_partner_id
        action["domain"] = [("partner_id", "=", partner.id)]
        action["context"] = {"default_partner_id": partner.id}
        return action

    def action_ms_link_customer(self):
        """Open the wizard that links this company to a Partner Center customer."""
        return self.env["ms.csp.customer.link"]._ms_open_for(self.commercial_partner_id, "link")

    def action_ms_create_customer(self):
        """Open the wizard that creates this company as a Partner Center customer."""
        return self.env["ms.csp.customer.link"]._ms_open_for(self.commercial_partner_id, "create")
