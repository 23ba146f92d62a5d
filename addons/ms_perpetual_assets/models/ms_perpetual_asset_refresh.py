"""Reading the Perpetual ID from Partner Center: the polling cron and the "Refresh" button.

Partner Center publishes a perpetual license's entitlement (its ``referenceOrder``: order id
and line) only once the order line is fulfilled, often minutes after the order. The cron claims
one due asset at a time (``FOR NO KEY UPDATE SKIP LOCKED``), makes one entitlements read for it,
writes the result or the next check, and commits before the next asset.
"""

import logging
import random
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from partner_center.errors import PartnerCenterError

from ..const import REFRESH_CRON_XMLID

_logger = logging.getLogger(__name__)

BACKOFF_BASE = 60  # seconds; doubled per check, with jitter
BACKOFF_MAX = 6 * 3600


class MsPerpetualAsset(models.Model):
    _name = "ms.perpetual.asset"
    _inherit = ["ms.perpetual.asset", "ms.csp.background.job"]

    perpetual_id_next_check = fields.Datetime(
        string="Next Perpetual ID check",
        readonly=True,
        copy=False,
        index=True,
        help="When the cron reads Partner Center again for the Perpetual ID; empty: not polled.",
    )
    perpetual_id_check_count = fields.Integer(readonly=True, copy=False)

    # === THE BACKGROUND JOB (ms.csp.background.job) === #

    @api.model
    def _ms_cron_refresh_perpetual_ids(self, commit=True, **budget):
        """The cron: read the Perpetual ID of due assets, one Partner Center call per asset."""
        return self._ms_job_process(commit=commit, **budget)

    def _ms_job_due_sql(self):
        return SQL(
            """status = 'active' AND sync_status = 'synchronized' AND perpetual_id IS NULL
               AND ms_order_id IS NOT NULL AND perpetual_id_next_check <= %s""",
            fields.Datetime.now(),
        )

    def _ms_job_order_sql(self):
        return SQL("perpetual_id_next_check, id")

    def _ms_job_cron(self):
        return self.env.ref(REFRESH_CRON_XMLID)

    def _ms_job_run(self, clients, commit):
        self._ms_run_refresh(clients)

    def _ms_job_next_at(self):
        return self._ms_next_refresh_at()

    @api.model
    def _ms_next_refresh_at(self):
        asset = self.search(
            [
                ("status", "=", "active"),
                ("sync_status", "=", "synchronized"),
                ("perpetual_id", "=", False),
                ("perpetual_id_next_check", "!=", False),
            ],
            order="perpetual_id_next_check",
            limit=1,
        )
        return asset.perpetual_id_next_check or None

    @api.model
    def _ms_trigger_refresh(self, at=None):
        self.env.ref(REFRESH_CRON_XMLID).sudo()._trigger(at=at)

    def _ms_run_refresh(self, clients):
        """One check in a savepoint: any error only postpones this asset."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                found = self._ms_read_perpetual_id(self._ms_job_client(clients, self.instance_id))
        except Exception as error:  # pylint: disable=broad-except
            if not isinstance(error, PartnerCenterError):
                _logger.exception("Perpetual license %s: reading its Perpetual ID failed", self.id)
            self._ms_postpone_refresh(getattr(error, "retry_after", None))
            return
        if not found:
            self._ms_postpone_refresh()

    def _ms_postpone_refresh(self, retry_after=None):
        ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2**self.perpetual_id_check_count)
        delay = max(retry_after or 0.0, ceiling / 2 + random.uniform(0, ceiling / 2))
        self.write(
            {
                "perpetual_id_next_check": fields.Datetime.now() + timedelta(seconds=delay),
                "perpetual_id_check_count": self.perpetual_id_check_count + 1,
            }
        )

    # === ONE READ === #

    def _ms_read_perpetual_id(self, client):
        """Read the customer's software entitlements (one call) and store this license's
        Perpetual ID when its entitlement is there.

        The Perpetual ID is shown as ``<order alias>-<line number>``: the entitlement's
        ``referenceOrder`` is what identifies the license in Partner Center.

        :return: whether the Perpetual ID is known now
        """
        self.ensure_one()
        line_id = str(self.ms_line_item_number)
        for entitlement in client.entitlements(
            self.customer_tenant_id, "software", show_expiry=False
        ):
            if (
                entitlement.reference_order_id == self.ms_order_id
                and str(entitlement.reference_line_item_id) == line_id
            ):
                alias = entitlement.reference_order_alternate_id or self.ms_order_alias
                self.sudo().write(
                    {
                        "perpetual_id": f"{alias}-{line_id}",
                        "perpetual_id_next_check": False,
                    }
                )
                return True
        return False

    def action_ms_refresh_from_microsoft(self):
        """Read the Perpetual ID now (managers; one Partner Center read)."""
        self.ensure_one()
        self._ms_check_manager(self.env._("read a perpetual license from Partner Center"))
        if not self.ms_order_id:
            raise UserError(
                self.env._(
                    "%s has no Partner Center order yet: there is nothing to read.",
                    self.display_name,
                )
            )
        try:
            with self.instance_id._ms_client() as client:
                found = self._ms_read_perpetual_id(client)
        except PartnerCenterError as error:
            raise UserError(self.instance_id._ms_error_message(error)) from error
        message = (
            self.env._("Perpetual ID %s read from Partner Center.", self.perpetual_id)
            if found
            else self.env._(
                "Partner Center has not published the Perpetual ID yet; it is checked "
                "again automatically."
            )
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Refresh from Microsoft"),
                "message": message,
                "type": "success" if found else "warning",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
