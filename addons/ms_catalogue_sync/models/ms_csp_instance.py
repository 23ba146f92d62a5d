"""The catalogue side of an instance: settings, sync state, and the Get Services Definition flow.

The flow reads and checks everything first (``partner_center.snapshot``) and writes nothing until
then; the writing is ``ms.csp.catalogue.applier``'s (``ms_csp_catalogue_sync.py``).
"""

import logging
import threading
import time
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.base.models.res_partner import _lang_get

from partner_center.errors import MalformedDataError, MissingRateError, PartnerCenterError
from partner_center.snapshot import fetch_snapshot

_logger = logging.getLogger(__name__)

SYNC_LOCK_NAMESPACE = 7_261_001  # pg advisory lock: one sync per instance at a time


def _testing():
    return getattr(threading.current_thread(), "testing", False)


class MsCspInstance(models.Model):
    """The catalogue side of a Partner Center instance: language, currencies, sync state."""

    _inherit = "ms.csp.instance"

    catalogue_lang = fields.Selection(
        _lang_get, string="Catalogue language", default="en_US", required=True,
        help="Descriptions come in this language where Microsoft translates them, in English "
        "otherwise.",
    )
    active_currency_ids = fields.Many2many(
        "res.currency", string="Active currencies", domain=[("active", "=", True)], tracking=True,
        help="The currencies the Microsoft products of this instance are sold in: each gets its "
        "cost and sell prices at every sync. Currencies Microsoft does not price in need a "
        "conversion rate.",
    )
    default_currency_id = fields.Many2one("res.currency", string="Default currency", tracking=True)
    last_sync_date = fields.Datetime(readonly=True, copy=False)
    last_sync_state = fields.Selection(
        [("never", "Never run"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        default="never", readonly=True, copy=False,
    )
    last_sync_message = fields.Text(readonly=True, copy=False)
    sku_ids = fields.One2many("ms.csp.sku", "instance_id", string="SKUs")
    sku_count = fields.Integer(compute="_compute_counts")
    product_count = fields.Integer(compute="_compute_counts")
    sync_run_ids = fields.One2many("ms.csp.sync.run", "instance_id", string="Sync runs")
    pricelist_ids = fields.One2many("product.pricelist", "ms_instance_id", string="Pricelists")

    # === COMPUTES AND CONSTRAINTS === #

    def _compute_counts(self):
        skus = self.env["ms.csp.sku"]._read_group(
            [("instance_id", "in", self.ids)], ["instance_id"], ["__count"])
        sku_counts = {instance.id: count for instance, count in skus}
        products = self.env["product.template"].with_context(active_test=False)._read_group(
            [("ms_instance_id", "in", self.ids)], ["ms_instance_id"], ["__count"])
        product_counts = {instance.id: count for instance, count in products}
        for instance in self:
            instance.sku_count = sku_counts.get(instance.id, 0)
            instance.product_count = product_counts.get(instance.id, 0)

    @api.constrains("default_currency_id", "active_currency_ids")
    def _check_default_currency(self):
        for instance in self:
            if instance.default_currency_id and \
                    instance.default_currency_id not in instance.active_currency_ids:
                raise ValidationError(self.env._(
                    "The default currency %(currency)s of %(instance)s must be one of its active "
                    "currencies.", currency=instance.default_currency_id.name,
                    instance=instance.name))

    @api.onchange("active_currency_ids")
    def _onchange_active_currency_ids(self):
        if self.default_currency_id not in self.active_currency_ids._origin:
            self.default_currency_id = self.active_currency_ids[:1]

    # === CATALOGUE ACTIONS === #

    def action_open_skus(self):
        return self._ms_action("ms_catalogue_sync.action_ms_csp_sku", "instance_id")

    def action_open_products(self):
        return self._ms_action(
            "ms_catalogue_sync.action_ms_csp_products", "ms_instance_id", active_test=False)

    def action_open_sync_runs(self):
        return self._ms_action("ms_catalogue_sync.action_ms_csp_sync_run", "instance_id")

    # === ENTRY POINTS === #

    def action_get_services_definition(self):
        """The button: sync now and show the run."""
        self.ensure_one()
        self._ms_check_can_call()
        run = self._ms_get_services_definition(trigger="manual")
        return {
            "type": "ir.actions.act_window",
            "res_model": "ms.csp.sync.run",
            "res_id": run.id,
            "view_mode": "form",
            "target": "current",
        }

    @api.model
    def _ms_cron_get_services_definition(self):
        """The monthly cron: every active instance, each in its own transaction."""
        instances = self.search([("active", "=", True)])
        cron = self.env["ir.cron"]
        for done, instance in enumerate(instances, start=1):
            try:
                instance._ms_get_services_definition(trigger="cron")
            except Exception:  # pylint: disable=broad-exception-caught
                # one failing instance does not stop the others
                _logger.exception("Catalogue sync of instance %s failed", instance.id)
                if not _testing():
                    self.env.cr.rollback()
            cron._notify_progress(done=done, remaining=len(instances) - done)

    def _ms_get_services_definition(self, trigger="manual"):
        """Sync this instance's catalogue and prices; returns the sync run (done or failed)."""
        self.ensure_one()
        self._ms_check_sync_settings()
        if not self._ms_try_lock():
            raise UserError(self.env._("A catalogue sync of %s is already running.", self.name))
        try:
            return self._ms_sync_locked(trigger)
        finally:
            self._ms_unlock()

    # === FLOW === #

    def _ms_sync_locked(self, trigger):
        self.env["ms.csp.sync.run"].search([
            ("instance_id", "=", self.id), ("state", "=", "running"),
        ]).write({"state": "failed", "date_end": fields.Datetime.now(),
                  "error_message": self.env._("Interrupted; a later run finished the work.")})
        run = self.env["ms.csp.sync.run"].create({"instance_id": self.id, "trigger": trigger})
        self.write({"last_sync_state": "running"})
        self._ms_commit()
        started = time.monotonic()
        try:
            snapshot = self._ms_fetch_snapshot(run)
        except (PartnerCenterError, MalformedDataError) as error:
            return self._ms_sync_failed(run, error, started)
        run._ms_log(self.env._("Read %(skus)s SKUs and %(prices)s prices in %(seconds).1f s.",
                      skus=len(snapshot.skus), prices=len(snapshot.prices),
                      seconds=time.monotonic() - started))
        try:
            self.env["ms.csp.catalogue.applier"]._ms_apply(self, run, snapshot)
        except Exception as error:  # pylint: disable=broad-exception-caught
            return self._ms_apply_failed(run, error)
        message = self.env._(
            "%(new)s new, %(retired)s no longer available, %(prices)s price changes.",
            new=run.new_count, retired=run.retired_count, prices=run.price_change_count)
        run.write({"state": "done", "date_end": fields.Datetime.now(),
                   "duration": time.monotonic() - started})
        run._ms_log(message)
        self.write({
            "last_sync_state": "done", "last_sync_date": run.date_end,
            "last_sync_message": message, "connection_state": "connected",
        })
        self._ms_commit()
        return run

    def _ms_fetch_snapshot(self, run):
        """Read and check the whole catalogue; nothing is written here."""
        previous = dict(self.env["ms.csp.sku"].search_fetch(
            [("instance_id", "=", self.id)], ["code", "catalog_status"]).mapped(
            lambda sku: (sku.code, sku.catalog_status)))
        on_date = fields.Date.context_today(self)
        rates = {}
        supported = set()
        for currency in self.active_currency_ids:
            currency_rates = self.env["ms.csp.conversion.rate"]._ms_rates_for(
                currency, self.company_id, on_date)
            if currency_rates:
                rates[currency.name] = {base: Decimal(str(rate))
                                        for base, rate in currency_rates.items()}
            supported.add(currency.name)
        with self._ms_client() as client:
            return fetch_snapshot(
                client,
                countries=self.country_ids.mapped("code"),
                currencies=sorted(supported),
                rates=rates,
                decimals={c.name: c.decimal_places for c in self.active_currency_ids},
                previous=previous,
                lang=self.catalogue_lang,
                on_date=on_date,
            )

    def _ms_sync_failed(self, run, error, started):
        """Record a failed sync where the user looks: the run, the instance, its chatter."""
        if isinstance(error, MissingRateError):
            message = self.env._(
                "Microsoft does not price in %(currency)s in the countries of %(instance)s and no "
                "conversion rate into %(currency)s is set: add one in Microsoft CSP > "
                "Configuration > Conversion Rates, then run Get Services Definition again. "
                "Nothing was changed.", currency=error.target or error.currency,
                instance=self.name)
        elif isinstance(error, MalformedDataError):
            message = self.env._(
                "Microsoft's data could not be read: %s Nothing was changed.", error)
        else:
            message = self.env._("%s Nothing was changed.", self._ms_error_message(error))
        run.write({"state": "failed", "date_end": fields.Datetime.now(), "error_message": message,
                   "duration": time.monotonic() - started})
        run._ms_log(message)
        values = {"last_sync_state": "failed", "last_sync_message": message}
        if not isinstance(error, (MissingRateError, MalformedDataError)):
            self._ms_record_connection_error(error)
        self.write(values)
        self.message_post(body=message)
        self._ms_commit()
        return run

    def _ms_apply_failed(self, run, error):
        """An unexpected error while writing: committed batches stay, the next run finishes."""
        _logger.exception("Catalogue sync of Partner Center instance %s failed", self.id)
        if _testing():
            raise error
        self.env.cr.rollback()
        message = self.env._(
            "The sync stopped while writing the catalogue (%(error)s). The batches written so "
            "far are complete; run Get Services Definition again to finish.", error=error)
        run.write({"state": "failed", "date_end": fields.Datetime.now(), "error_message": message})
        self.write({"last_sync_state": "failed", "last_sync_message": message})
        self._ms_commit()
        return run

    def _ms_check_sync_settings(self):
        if not self.country_ids:
            raise UserError(self.env._("Choose the countries %s sells in first.", self.name))
        if not self.active_currency_ids:
            raise UserError(self.env._("Choose the active currencies of %s first.", self.name))

    # === TRANSACTIONS === #

    def _ms_commit(self):
        """Commit outside tests: a sync's run, progress and batches must survive a crash."""
        if not _testing():
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _ms_try_lock(self):
        self.env.cr.execute("SELECT pg_try_advisory_lock(%s, %s)", (SYNC_LOCK_NAMESPACE, self.id))
        return self.env.cr.fetchone()[0]

    def _ms_unlock(self):
        self.env.cr.execute("SELECT pg_advisory_unlock(%s, %s)", (SYNC_LOCK_NAMESPACE, self.id))
