from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import MsCspSimulatorCase

CONTOSO = "0c5a0001-5e1c-4a11-9000-00000000c001"


@tagged("post_install", "-at_install")
class TestCustomerTenants(MsCspSimulatorCase):
    """A company links to one Partner Center customer per instance, seen before it is linked."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contoso = cls.env["res.partner"].create(
            {"name": "Contoso Ltd", "is_company": True, "country_id": cls.env.ref("base.us").id}
        )
        cls.manager = cls.make_user(cls, "tenant.manager", "ms_csp_base.group_ms_csp_manager")
        cls.seller = cls.make_user(cls, "tenant.seller", "sales_team.group_sale_salesman")

    def open_wizard(self, partner, mode, user=None):
        partner = partner.with_user(user or self.manager)
        action = (
            partner.action_ms_link_customer()
            if mode == "link"
            else partner.action_ms_create_customer()
        )
        form = Form(
            self.env[action["res_model"]]
            .with_user(user or self.manager)
            .with_context(**action["context"])
        )
        form.instance_id = self.instance
        return form.save()

    def test_link_by_tenant_id_shows_partner_center_answer_then_links(self):
        wizard = self.open_wizard(self.contoso, "link")
        wizard.lookup = CONTOSO
        wizard.action_lookup()
        self.assertEqual(
            (wizard.found_company_name, wizard.found_domain, wizard.found_country_code),
            ("Contoso Ltd", "contoso-sim.onmicrosoft.com", "US"),
        )
        self.assertFalse(self.contoso.ms_customer_ids)  # nothing linked before the person agrees
        wizard.action_link()
        link = self.env["ms.csp.customer"]._ms_tenant_for(self.contoso, self.instance)
        self.assertEqual((link.tenant_id, link.state, link.origin), (CONTOSO, "linked", "linked"))
        self.assertEqual(self.contoso.ms_customer_count, 1)
        self.assertIn(CONTOSO, link.message_ids[:1].body)

    def test_link_by_domain(self):
        wizard = self.open_wizard(self.contoso, "link")
        wizard.lookup = "CONTOSO-SIM"
        wizard.action_lookup()
        self.assertEqual(wizard.found_tenant_id, CONTOSO)

    def test_unknown_tenant_is_refused_and_nothing_linked(self):
        wizard = self.open_wizard(self.contoso, "link")
        wizard.lookup = "0c5a0009-5e1c-4a11-9000-00000000c009"
        with self.assertRaisesRegex(UserError, "No customer of yours"):
            wizard.action_lookup()
        with self.assertRaisesRegex(UserError, "Look the customer up first"):
            wizard.action_link()
        self.assertFalse(self.env["ms.csp.customer"].search([("partner_id", "=", self.contoso.id)]))

    def test_tenant_id_must_be_a_guid(self):
        with self.assertRaises(ValidationError) as refused:
            self.env["ms.csp.customer"].create(
                {
                    "partner_id": self.contoso.id,
                    "instance_id": self.instance.id,
                    "tenant_id": "contoso",
                }
            )
        self.assertIn("is not a tenant ID", str(refused.exception))

    def test_one_linked_tenant_per_company_and_instance(self):
        self.env["ms.csp.customer"].create(
            {"partner_id": self.contoso.id, "instance_id": self.instance.id, "tenant_id": CONTOSO}
        )
        wizard = self.open_wizard(self.contoso, "link")
        wizard.lookup = "0c5a0002-5e1c-4a11-9000-00000000c002"
        wizard.action_lookup()
        with self.assertRaisesRegex(UserError, "already has a linked tenant"):
            wizard.action_link()
        other = self.env["res.partner"].create({"name": "Other", "is_company": True})
        wizard = self.open_wizard(other, "link")
        wizard.lookup = CONTOSO
        wizard.action_lookup()
        with self.assertRaisesRegex(UserError, "already linked to Contoso Ltd"):
            wizard.action_link()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.env["ms.csp.customer"].create(
                {"partner_id": other.id, "instance_id": self.instance.id, "tenant_id": CONTOSO}
            )

    def test_tenant_ids_compare_case_insensitively(self):
        link = self.env["ms.csp.customer"].create(
            {
                "partner_id": self.contoso.id,
                "instance_id": self.instance.id,
                "tenant_id": f" {CONTOSO.upper()} ",
            }
        )
        self.assertEqual(link.tenant_id, CONTOSO)
        other = self.env["res.partner"].create({"name": "Other", "is_company": True})
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.env["ms.csp.customer"].create(
                {"partner_id": other.id, "instance_id": self.instance.id, "tenant_id": CONTOSO}
            )

    def test_unlinked_company_can_be_linked_again(self):
        first = self.env["ms.csp.customer"].create(
            {"partner_id": self.contoso.id, "instance_id": self.instance.id, "tenant_id": CONTOSO}
        )
        first.with_user(self.manager).action_unlink_tenant()
        wizard = self.open_wizard(self.contoso, "link")
        wizard.lookup = "0c5a0002-5e1c-4a11-9000-00000000c002"
        wizard.action_lookup()
        wizard.action_link()
        self.assertEqual(
            self.env["ms.csp.customer"]._ms_tenant_for(self.contoso, self.instance).tenant_id,
            "0c5a0002-5e1c-4a11-9000-00000000c002",
        )
        self.assertEqual(first.state, "unlinked")

    def litware(self):
        partner = self.env["res.partner"].create(
            {
                "name": "Litware Inc",
                "is_company": True,
                "email": "billing@litware.example",
                "street": "1 Main Street",
                "city": "Redmond",
                "zip": "98052",
                "state_id": self.env.ref("base.state_us_48").id,
                "country_id": self.env.ref("base.us").id,
                "phone": "+1 425 555 0100",
                "child_ids": [
                    Command.create(
                        {"name": "Alex Wilber", "type": "invoice", "email": "alex@litware.example"}
                    )
                ],
            }
        )
        return partner

    def test_create_customer_in_partner_center_from_the_company_profile(self):
        partner = self.litware()
        wizard = self.open_wizard(partner, "create")
        self.assertEqual(wizard.domain_prefix, "litwareinc")
        self.assertIn("Redmond", wizard.profile_summary)
        wizard.action_create()
        link = self.env["ms.csp.customer"]._ms_tenant_for(partner, self.instance)
        self.assertEqual(
            (link.domain, link.origin, link.ms_country_code),
            ("litwareinc.onmicrosoft.com", "created", "US"),
        )
        remote = [c for c in self.simulator.customers if c["tenant_id"] == link.tenant_id]
        self.assertEqual(remote[0]["company_name"], "Litware Inc")

    def test_a_tenant_an_earlier_attempt_created_is_linked_not_created_again(self):
        partner = self.litware()
        wizard = self.open_wizard(partner, "create")
        with self.instance._ms_client() as client:  # an earlier attempt whose answer was lost
            earlier = client.create_customer(wizard._ms_new_customer())
        before = len(self.simulator.customers)
        wizard.action_create()
        link = self.env["ms.csp.customer"]._ms_tenant_for(partner, self.instance)
        self.assertEqual(link.tenant_id, earlier.tenant_id.lower())
        self.assertEqual(len(self.simulator.customers), before)

    def test_create_with_missing_profile_names_the_fields_and_sends_nothing(self):
        before = len(self.simulator.customers)
        wizard = self.open_wizard(self.contoso, "create")
        with self.assertRaises(UserError) as refused:
            wizard.action_create()
        message = str(refused.exception)
        for missing in (
            "an email address",
            "a city",
            "a street",
            "a ZIP code",
            "a contact person's first name",
            "Nothing was sent",
        ):
            self.assertIn(missing, message)
        self.assertEqual(len(self.simulator.customers), before)
        self.assertFalse(self.contoso.ms_customer_ids)

    def test_salesman_cannot_look_up_or_link(self):
        with self.assertRaises(AccessError):
            self.open_wizard(self.contoso, "link", user=self.seller)
        wizard = self.open_wizard(self.contoso, "link")
        wizard.lookup = CONTOSO
        with self.assertRaises(AccessError):
            wizard.with_user(self.seller).action_lookup()
