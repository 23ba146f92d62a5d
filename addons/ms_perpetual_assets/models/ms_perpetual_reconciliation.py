"""Reconciliation of perpetual license assets with the customers' Partner Center orders.

Partner Center has no link back to Odoo for a license bought there by hand (or provisioned
before Odoo knew it): the reference's answer is to add the external id by hand. A report reads
each customer's one-time orders (one Partner Center read per customer), matches their perpetual
lines to the customer's assets that have no Microsoft order by SKU, quantity and date, and lists
what a person must decide. Nothing is linked until someone asks for it.
"""

import logging
from datetime import datetime, timezone

from odoo import api, fields, models
from odoo.exceptions import UserError

from partner_center.errors import PartnerCenterError

from ..const import ONE_TIME_BILLING, RECONCILIATION_DATE_TOLERANCE

_logger = logging.getLogger(__name__)

LINE_KINDS = [
    ("match", "Exact match"),
    ("ambiguous", "Ambiguous"),
    ("asset_only", "Asset without Microsoft order"),
    ("order_only", "Microsoft order without asset"),
]


class MsPerpetualReconciliation(models.Model):
    _name = "ms.perpetual.reconciliation"
    _description = "Perpetual License Reconciliation"
    _order = "run_date desc, id desc"

    name = fields.Char(required=True, readonly=True)
    run_date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    scope = fields.Selection(
        [("customer", "One customer"), ("all", "All customers")],
        required=True,
        readonly=True,
        default="customer",
    )
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one(
        "res.company",
        readonly=True,
        index=True,
        help="Empty for the scheduled report over every company's customers.",
    )
    line_ids = fields.One2many("ms.perpetual.reconciliation.line", "reconciliation_id")
    error_message = fields.Text(
        string="Customers not read",
        readonly=True,
        help="Customers whose Partner Center orders could not be read, and why.",
    )
    match_count = fields.Integer(compute="_compute_counts")
    ambiguous_count = fields.Integer(compute="_compute_counts")
    asset_only_count = fields.Integer(compute="_compute_counts")
    order_only_count = fields.Integer(compute="_compute_counts")

    @api.depends("line_ids.kind", "line_ids.state")
    def _compute_counts(self):
        for report in self:
            open_lines = report.line_ids.filtered(lambda line: line.state == "open")
            for kind, _label in LINE_KINDS:
                report[f"{kind}_count"] = len(
                    open_lines.filtered(lambda line, kind=kind: line.kind == kind)
                )

    def action_link_exact_matches(self):
        """Link every open exact match of the report (each checked again as it is linked)."""
        self.line_ids.filtered(
            lambda line: line.kind == "match" and line.state == "open"
        ).action_link()
        return True

    # === RUNS === #

    @api.model
    def _ms_run_for_partner(self, partner):
        """Reconcile one company now (a manager's button): one read per linked tenant.

        :return: the report
        """
        self.env["ms.perpetual.asset"]._ms_check_manager(self.env._("reconcile perpetual licenses"))
        partner = partner.commercial_partner_id
        customers = self.env["ms.csp.customer"].search(
            [("partner_id", "=", partner.id), ("state", "=", "linked")]
        )
        if not customers:
            raise UserError(
                self.env._(
                    "%s has no linked Partner Center tenant: link its tenant first.",
                    partner.display_name,
                )
            )
        report = self.sudo().create(
            {
                "name": self.env._("Reconciliation of %s", partner.display_name),
                "scope": "customer",
                "partner_id": partner.id,
                "company_id": customers[:1].company_id.id,
            }
        )
        for customer in customers:
            try:
                with customer.instance_id._ms_client(interactive=True) as client:
                    report._ms_reconcile_customer(customer, client)
            except PartnerCenterError as error:
                raise UserError(
                    self.env._(
                        "The orders of %(customer)s could not be read from Partner Center; nothing "
                        "was changed. Try again later. %(error)s",
                        customer=partner.display_name,
                        error=customer.instance_id._ms_error_message(error),
                    )
                ) from error
        return report.sudo(False)

    @api.model
    def _ms_cron_reconcile(self, commit=True):
        """The scheduled report over every linked customer, committed per customer: a
        customer that fails is noted on the report and the others still run.

        :param commit: commit after each customer (the cron); tests pass False
        :return: the report
        """
        report = self.sudo().create(
            {"name": self.env._("Scheduled reconciliation of all customers"), "scope": "all"}
        )
        customers = self.env["ms.csp.customer"].sudo().search([("state", "=", "linked")])
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        clients = {}
        try:
            for customer in customers:
                report._ms_reconcile_customer_safely(customer, clients)
                if commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
        finally:
            for client in clients.values():
                client.close()
        return report

    def _ms_reconcile_customer_safely(self, customer, clients):
        instance = customer.instance_id
        try:
            with self.env.cr.savepoint():
                client = clients.get(instance.id)
                if client is None:
                    client = clients[instance.id] = instance._ms_client(job_mode=True)
                self._ms_reconcile_customer(customer, client)
        except Exception as error:  # pylint: disable=broad-except
            if isinstance(error, PartnerCenterError):
                reason = instance._ms_error_message(error)
            else:
                _logger.exception("Reconciliation of customer %s failed", customer.id)
                reason = self.env._("unexpected error, see the server log")
            self.error_message = "\n".join(
                filter(None, [self.error_message, f"{customer.partner_id.display_name}: {reason}"])
            )

    # === MATCHING === #

    def _ms_reconcile_customer(self, customer, client):
        """Read the customer's orders (one call) and write this report's lines for them."""
        self.ensure_one()
        order_lines = self._ms_perpetual_order_lines(client.list_orders(customer.tenant_id))
        Asset = self.env["ms.perpetual.asset"].sudo()
        linked = {
            (asset.ms_order_id, asset.ms_line_item_number)
            for asset in Asset.search(
                [("ms_order_id", "in", list({order.id for order, _line in order_lines}))]
            )
        }
        order_lines = [
            (order, line)
            for order, line in order_lines
            if (order.id, line.line_item_number) not in linked
        ]
        assets = Asset.search(
            [
                ("partner_id", "=", customer.partner_id.id),
                ("instance_id", "=", customer.instance_id.id),
                ("status", "=", "active"),
                ("ms_order_id", "=", False),
                ("sync_status", "!=", "pending"),
            ]
        )
        self.env["ms.perpetual.reconciliation.line"].sudo().create(
            self._ms_line_values(customer, order_lines, assets)
        )

    @api.model
    def _ms_perpetual_order_lines(self, orders):
        """``(order, line)`` of the live perpetual lines of one-time orders."""
        return [
            (order, line)
            for order in orders
            if order.billing_cycle == ONE_TIME_BILLING and order.status != "cancelled"
            for line in order.line_items
            if line.quantity and not line.term_duration and line.product_id and line.sku_id
        ]

    def _ms_line_values(self, customer, order_lines, assets):
        candidates = {
            key: assets.filtered(lambda asset, key=key: _matches(asset, *key))
            for key in order_lines
        }
        orders_of_asset = {
            asset: [key for key, found in candidates.items() if asset in found] for asset in assets
        }
        base = {
            "reconciliation_id": self.id,
            "ms_customer_id": customer.id,
            "company_id": customer.company_id.id or self.env.company.id,
        }
        vals_list = []
        for (order, line), found in candidates.items():
            kind = "order_only"
            if len(found) == 1 and len(orders_of_asset[found]) == 1:
                kind = "match"
            elif found:
                kind = "ambiguous"
            vals_list.append(
                dict(
                    base,
                    kind=kind,
                    asset_id=found.id if kind == "match" else False,
                    candidate_asset_ids=[fields.Command.set(found.ids)],
                    **_order_line_values(order, line),
                )
            )
        vals_list += [
            dict(
                base,
                kind="asset_only",
                asset_id=asset.id,
                ms_sku_code=asset.ms_sku_code,
                quantity=asset.quantity,
            )
            for asset, keys in orders_of_asset.items()
            if not keys
        ]
        return vals_list


def _order_date(order):
    """The order's creation date as Odoo stores datetimes (naive UTC), or None."""
    created = order.creation_date
    if not isinstance(created, datetime):
        return None  # Partner Center sent a date the client could not read
    if created.tzinfo is not None:
        created = created.astimezone(timezone.utc).replace(tzinfo=None)
    return created


def _matches(asset, order, line):
    ordered = _order_date(order)
    return (
        asset.ms_sku_code == f"{line.product_id}:{line.sku_id}"
        and asset.quantity == line.quantity
        and ordered is not None
        and abs(ordered - asset.purchase_date) <= RECONCILIATION_DATE_TOLERANCE
    )


def _order_line_values(order, line):
    return {
        "ms_order_id": order.id,
        "ms_order_alias": order.alias,
        "ms_line_item_number": line.line_item_number,
        "ms_sku_code": f"{line.product_id}:{line.sku_id}",
        "quantity": line.quantity,
        "order_date": _order_date(order),
        "currency_code": order.currency_code,
    }
