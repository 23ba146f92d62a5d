from collections import Counter

from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    ms_software_subscription_count = fields.Integer(
        string="Software Subscriptions",
        compute="_compute_ms_software_subscription_count",
        groups="ms_csp_base.group_ms_csp_user",
    )

    def _ms_software_subscription_domain(self):
        """Microsoft subscriptions these companies ordered or are the end customer of."""
        companies = self.commercial_partner_id.ids
        return [
            ("ms_is_microsoft", "=", True),
            "|",
            ("partner_id.commercial_partner_id", "in", companies),
            ("ms_end_customer_id", "in", companies),
        ]

    def _compute_ms_software_subscription_count(self):
        subscriptions = self.env["sale.subscription"].search_fetch(
            self._ms_software_subscription_domain(), ["partner_id", "ms_end_customer_id"]
        )
        counts = Counter()
        for subscription in subscriptions:
            for company in (
                subscription.partner_id.commercial_partner_id | subscription.ms_end_customer_id
            ):
                counts[company.id] += 1
        for partner in self:
            partner.ms_software_subscription_count = counts[partner.commercial_partner_id.id]

    def action_ms_open_software_subscriptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ms_software_subscriptions.action_ms_software_subscriptions"
        )
        action["domain"] = self._ms_software_subscription_domain()
        return action
