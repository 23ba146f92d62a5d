from odoo import api, fields, models
from odoo.exceptions import UserError

from partner_center import derive_request_id
from partner_center.errors import DomainNotAvailable, PartnerCenterError
from partner_center.resources import NewCustomer


class MsCspCustomerLink(models.TransientModel):
    """Link a company to a Partner Center customer, or create it in Partner Center.

    Both show what Partner Center says before anything is linked. They are interactive
    Microsoft CSP manager actions: the lookup is one read, the creation one idempotent call.
    """

    _name = "ms.csp.customer.link"
    _description = "Link a Partner Center Customer"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, readonly=True)
    instance_id = fields.Many2one(
        "ms.csp.instance",
        string="Partner Center instance",
        required=True,
        default=lambda self: self.env["ms.csp.instance"].search([], limit=1),
    )
    mode = fields.Selection(
        [("link", "Link existing customer"), ("create", "Create customer in Partner Center")],
        required=True,
        default="link",
    )
    lookup = fields.Char(
        string="Tenant ID or domain",
        help="The customer's tenant ID, or its domain (e.g. contoso.onmicrosoft.com).",
    )
    domain_prefix = fields.Char(
        string="Domain",
        help="The new tenant's domain: <name>.onmicrosoft.com. It cannot be " "changed later.",
    )
    found = fields.Boolean(readonly=True)
    found_tenant_id = fields.Char(string="Tenant ID", readonly=True)
    found_domain = fields.Char(string="Default domain", readonly=True)
    found_company_name = fields.Char(string="Company name", readonly=True)
    found_country_code = fields.Char(string="Country", readonly=True)
    found_relationship = fields.Char(string="Relationship", readonly=True)
    profile_summary = fields.Text(compute="_compute_profile_summary")

    @api.model
    def _ms_open_for(self, partner, mode):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "name": dict(self._fields["mode"].selection)[mode],
            "context": {
                "default_partner_id": partner.id,
                "default_mode": mode,
                "default_domain_prefix": _domain_prefix(partner.name),
            },
        }

    @api.depends("partner_id", "domain_prefix")
    def _compute_profile_summary(self):
        for wizard in self:
            profile = wizard._ms_new_customer() if wizard.partner_id else None
            wizard.profile_summary = profile and "\n".join(
                filter(
                    None,
                    (
                        profile.company_name,
                        profile.address_line1,
                        profile.address_line2,
                        f"{profile.postal_code} {profile.city} {profile.state}".strip(),
                        profile.country,
                        f"{profile.first_name} {profile.last_name}".strip(),
                        profile.email,
                        profile.phone_number,
                    ),
                )
            )

    # === LINK EXISTING === #

    def action_lookup(self):
        """Ask Partner Center about the tenant id or domain, and show its answer."""
        self.ensure_one()
        self.instance_id._ms_check_can_call()
        if not (self.lookup or "").strip():
            raise UserError(self.env._("Type the customer's tenant ID or domain first."))
        try:
            with self.instance_id._ms_client(interactive=True) as client:
                customer = client.find_customer(self.lookup)
        except PartnerCenterError as error:
            raise UserError(self.instance_id._ms_error_message(error)) from error
        if customer is None:
            raise UserError(
                self.env._(
                    "No customer of yours in Partner Center has the tenant ID or domain %s. Check "
                    "it, or create the customer in Partner Center.",
                    self.lookup.strip(),
                )
            )
        self.write(self._ms_found_values(customer))
        return self._ms_reopen()

    def action_link(self):
        self.ensure_one()
        if not self.found:
            raise UserError(self.env._("Look the customer up first."))
        return self._ms_link(
            self.found_tenant_id,
            self.found_domain,
            self.found_company_name,
            self.found_country_code,
            "linked",
        )

    # === CREATE === #

    def action_create(self):
        """Create the customer in Partner Center from the partner's profile, then link it."""
        self.ensure_one()
        self.instance_id._ms_check_can_call()
        self._ms_check_free()
        profile = self._ms_new_customer()
        missing = profile.missing_fields()
        if missing:
            labels = dict.fromkeys(self._ms_profile_labels()[name] for name in missing)
            raise UserError(
                self.env._(
                    "Partner Center needs %(missing)s for %(partner)s: complete the customer's "
                    "form (and a contact person of the company), then try again. Nothing was sent.",
                    missing=", ".join(labels),
                    partner=self.partner_id.display_name,
                )
            )
        key = (
            f"{self.env['ir.config_parameter'].sudo().get_param('database.uuid')}:"
            f"{self.instance_id.id}:{self.partner_id.id}"
        )
        try:
            with self.instance_id._ms_client(interactive=True) as client:
                try:
                    customer = client.create_customer(
                        profile, request_id=derive_request_id(key, "customer", profile.domain)
                    )
                except DomainNotAvailable:
                    # Taken, maybe by the tenant an earlier, unanswered attempt created: link
                    # it when it is one of ours, never create a second one.
                    customer = client.find_customer(profile.domain)
                    if customer is None:
                        raise
        except DomainNotAvailable as error:
            raise UserError(
                self.env._(
                    "The domain %s belongs to another Microsoft tenant: choose another one.",
                    profile.domain,
                )
            ) from error
        except PartnerCenterError as error:
            raise UserError(
                self.env._(
                    "%(error)s If Partner Center may have created the customer, look it up with "
                    "Link existing customer (domain %(domain)s) before trying again.",
                    error=self.instance_id._ms_error_message(error),
                    domain=profile.domain,
                )
            ) from error
        return self._ms_link(
            customer.tenant_id,
            customer.domain or profile.domain,
            customer.company_name or profile.company_name,
            customer.country or profile.country,
            "created",
        )

    def _ms_new_customer(self):
        """The partner's company profile and billing address, as Partner Center takes them."""
        partner = self.partner_id.commercial_partner_id
        contact = partner.child_ids.filtered(
            lambda child: not child.is_company and child.type in ("invoice", "contact")
        ).sorted(lambda child: child.type != "invoice")[:1]
        first_name, _space, last_name = (contact.name or "").strip().rpartition(" ")
        lang = (partner.lang or self.env.lang or "en_US").replace("_", "-")
        return NewCustomer(
            domain=self.domain_prefix or "",
            company_name=partner.name or "",
            email=contact.email or partner.email or "",
            culture=lang,
            language=lang.split("-")[0],
            country=partner.country_id.code or "",
            city=partner.city or "",
            state=partner.state_id.code or "",
            address_line1=partner.street or "",
            address_line2=partner.street2 or "",
            postal_code=partner.zip or "",
            first_name=first_name or last_name,
            last_name=last_name if first_name else "",
            phone_number=contact.phone or partner.phone or "",
            organization_registration_number=partner.company_registry or "",
        )

    def _ms_profile_labels(self):
        """What a person completes on the customer's form, for each field Partner Center needs."""
        return {
            "domain": self.env._("the domain"),
            "company_name": self.env._("the company name"),
            "email": self.env._("an email address"),
            "culture": self.env._("a language"),
            "language": self.env._("a language"),
            "country": self.env._("a country"),
            "city": self.env._("a city"),
            "address_line1": self.env._("a street"),
            "postal_code": self.env._("a ZIP code"),
            "first_name": self.env._("a contact person's first name"),
            "last_name": self.env._("a contact person's last name"),
            "phone_number": self.env._("a phone number"),
            "organization_registration_number": self.env._("a company registry number"),
        }

    # === HELPERS === #

    def _ms_check_free(self, tenant_id=None):
        """Refuse, in words, what the link's uniqueness constraints would refuse."""
        customers = self.env["ms.csp.customer"]
        partner = self.partner_id.commercial_partner_id
        if customers._ms_tenant_for(partner, self.instance_id):
            raise UserError(
                self.env._(
                    "%(partner)s already has a linked tenant on %(instance)s: unlink it first.",
                    partner=partner.display_name,
                    instance=self.instance_id.name,
                )
            )
        taken = tenant_id and customers.search(
            [
                ("instance_id", "=", self.instance_id.id),
                ("state", "=", "linked"),
                ("tenant_id", "=", tenant_id.strip().lower()),
            ],
            limit=1,
        )
        if taken:
            raise UserError(
                self.env._(
                    "Tenant %(tenant)s is already linked to %(partner)s.",
                    tenant=tenant_id,
                    partner=taken.partner_id.display_name,
                )
            )

    def _ms_link(self, tenant_id, domain, company_name, country_code, origin):
        self._ms_check_free(tenant_id)
        customer = self.env["ms.csp.customer"].create(
            {
                "partner_id": self.partner_id.commercial_partner_id.id,
                "instance_id": self.instance_id.id,
                "tenant_id": tenant_id,
                "domain": domain,
                "ms_company_name": company_name,
                "ms_country_code": country_code,
                "origin": origin,
            }
        )
        customer.message_post(
            body=self.env._(
                "Linked to Partner Center tenant %(tenant)s (%(domain)s) by %(user)s.",
                tenant=tenant_id,
                domain=domain or "-",
                user=self.env.user.name,
            )
        )
        return {"type": "ir.actions.act_window_close"}

    @staticmethod
    def _ms_found_values(customer):
        return {
            "found": True,
            "found_tenant_id": customer.tenant_id,
            "found_domain": customer.domain,
            "found_company_name": customer.company_name,
            "found_country_code": customer.country,
            "found_relationship": customer.relationship_to_partner,
        }

    def _ms_reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Link existing customer"),
        }


def _domain_prefix(name):
    """A domain prefix suggested from a company name (letters and digits, at most 27)."""
    return "".join(char for char in (name or "").lower() if char.isascii() and char.isalnum())[:27]
