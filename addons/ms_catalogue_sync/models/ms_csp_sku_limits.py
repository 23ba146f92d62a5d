"""The quantities Microsoft sells a SKU in, read in the background.

The price sheet does not carry a SKU's minimum and maximum quantity; Partner Center's SKU
listing does, one call per product. Reading it during "Get Services Definition" would cost one call
per product of the catalogue on every sync, so a cron reads it instead, one product at a time
(``FOR NO KEY UPDATE SKIP LOCKED``, committed per product), for SKUs new to the catalogue and again
every month. Confirming an order checks the limits already read; a quantity outside them is
refused before anything reaches Partner Center.
"""

import logging
import random
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from partner_center.errors import PartnerCenterError

from ..const import CATALOG_STATUS_RETIRED

_logger = logging.getLogger(__name__)

LIMITS_CRON_XMLID = "ms_catalogue_sync.cron_ms_csp_sku_limits"
LIMITS_REFRESH = timedelta(days=30)
NOT_LISTED_RETRY = timedelta(days=1)
RETRY_BASE = 300  # seconds; a failed read is tried again after this, doubled up to a day
RETRY_MAX = 24 * 3600


class MsCspSku(models.Model):
    _name = "ms.csp.sku"
    _inherit = ["ms.csp.sku", "ms.csp.background.job"]

    minimum_quantity = fields.Integer(
        readonly=True, help="The smallest quantity Partner Center accepts on one order line."
    )
    maximum_quantity = fields.Integer(
        readonly=True, help="The largest quantity Partner Center accepts on one order line."
    )
    limits_read_date = fields.Datetime(
        string="Quantities read on",
        readonly=True,
        copy=False,
        help="When the quantity limits were last read from Partner Center.",
    )
    limits_next_read = fields.Datetime(
        string="Next quantity read",
        readonly=True,
        copy=False,
        index=True,
        default=fields.Datetime.now,
        help="When the cron reads this SKU's quantity limits from Partner Center again.",
    )
    limits_failures = fields.Integer(readonly=True, copy=False)

    # === THE BACKGROUND JOB (ms.csp.background.job) === #

    @api.model
    def _ms_cron_read_quantity_limits(self, commit=True, **budget):
        """The cron: read the quantity limits of due SKUs, one Partner Center call per product."""
        return self._ms_job_process(commit=commit, **budget)

    def _ms_job_due_sql(self):
        # Not while a sync of the instance waits or runs: it writes the same SKU rows, and one
        # of the two transactions would fail on the other's update. Nor for archived instances.
        return SQL(
            """catalog_status != %s AND limits_next_read <= %s
               AND instance_id IN (SELECT id FROM ms_csp_instance WHERE active)
               AND instance_id NOT IN (
                   SELECT instance_id FROM ms_csp_sync_run WHERE state IN ('queued', 'running'))""",
            CATALOG_STATUS_RETIRED,
            fields.Datetime.now(),
        )

    def _ms_job_order_sql(self):
        return SQL("limits_next_read, id")

    def _ms_job_cron(self):
        return self.env.ref(LIMITS_CRON_XMLID)

    def _ms_job_run(self, clients, commit):
        try:
            with self.env.cr.savepoint():
                self._ms_read_quantity_limits(self._ms_job_client(clients, self.instance_id))
        except Exception as error:  # pylint: disable=broad-except
            if not isinstance(error, PartnerCenterError):
                _logger.exception("SKU %s: reading its quantity limits failed", self.code)
            delay = min(RETRY_MAX, RETRY_BASE * 2**self.limits_failures)
            delay = max(
                getattr(error, "retry_after", None) or 0.0, delay / 2 + random.uniform(0, delay / 2)
            )
            self.write(
                {
                    "limits_next_read": fields.Datetime.now() + timedelta(seconds=delay),
                    "limits_failures": self.limits_failures + 1,
                }
            )

    @api.model
    def _ms_trigger_quantity_limits(self):
        self.env.ref(LIMITS_CRON_XMLID).sudo()._trigger()

    # === ONE READ === #

    def _ms_read_quantity_limits(self, client):
        """Read the SKUs of this SKU's product (one call) and store the limits of this SKU and of
        its siblings no other worker holds."""
        self.ensure_one()
        country = self._ms_limits_country()
        listed = {sku.id: sku for sku in client.skus(self.ms_product_ref, country)}
        siblings = self._ms_lock_siblings()
        now = fields.Datetime.now()
        for sku in self | siblings:
            found = listed.get(sku.ms_sku_ref)
            if not found:
                # not listed in that market (yet): the limits stay unknown, read again tomorrow
                _logger.info(
                    "SKU %s: not listed in %s; quantity limits read later", sku.code, country
                )
                sku.write({"limits_next_read": now + NOT_LISTED_RETRY})
                continue
            sku.write(
                {
                    "minimum_quantity": found.minimum_quantity or 0,
                    "maximum_quantity": found.maximum_quantity or 0,
                    "limits_read_date": now,
                    "limits_next_read": now + LIMITS_REFRESH,
                    "limits_failures": 0,
                }
            )

    def _ms_limits_country(self):
        """A country the SKU is sold in, the instance's company's first."""
        home = self.instance_id.company_id.country_id
        if home in self.country_ids or not self.country_ids:
            return (home or self.country_ids[:1]).code or "US"
        return self.country_ids.sorted("code")[0].code

    def _ms_lock_siblings(self):
        """The other SKUs of the same product and instance, locked unless another worker has
        them (that worker reads them itself)."""
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM ms_csp_sku
                WHERE instance_id = %s AND ms_product_ref = %s AND id != %s
                  AND catalog_status != %s
                  FOR NO KEY UPDATE SKIP LOCKED""",
                self.instance_id.id,
                self.ms_product_ref,
                self.id,
                CATALOG_STATUS_RETIRED,
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    # === USE === #

    def _ms_quantity_problem(self, quantity):
        """Why Partner Center would refuse ``quantity`` of this SKU on one line, or ``None``."""
        self.ensure_one()
        low, high = self.minimum_quantity, self.maximum_quantity
        if low and quantity < low or high and quantity > high:
            if high:
                return self.env._(
                    "Microsoft sells %(sku)s in quantities of %(low)s to %(high)s per order "
                    "line, not %(quantity)s: change the quantity.",
                    sku=self.name,
                    low=low or 1,
                    high=high,
                    quantity=int(quantity),
                )
            return self.env._(
                "Microsoft sells %(sku)s in quantities of at least %(low)s, not %(quantity)s: "
                "change the quantity.",
                sku=self.name,
                low=low,
                quantity=int(quantity),
            )
        return None
