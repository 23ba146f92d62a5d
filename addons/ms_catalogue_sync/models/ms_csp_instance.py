"""The catalogue side of an instance: settings, sync state, and the Get Services Definition flow.

The flow reads and checks everything first (``partner_center.snapshot``) and writes nothing until
then; the writing is ``ms.csp.catalogue.applier``'s (``ms_csp_catalogue_sync.py``).
"""

import hashlib
import logging
import time
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.base.models.res_partner import _lang_get

import partner_center
from partner_center.errors import MalformedDataError, MissingRateError, PartnerCenterError
from partner_center.snapshot import fetch_snapshot

from ..const import CATALOG_STATUS_AVAILABLE, CATALOG_STATUS_NEW
from .ms_csp_price import currency_rounding

_logger = logging.getLogger(__name__)


class MsCspInstance(models.Model):
    """The catalogue side of a Partner Center instance: language, currencies, sync state."""

    _inherit = "ms.csp.instance"

    catalogue_lang = fields.Selection(
        _lang_get,
        string="Catalog language",
        default="en_US",
        required=True,
        help="Descriptions come in this language where Microsoft translates them, in English "
        "otherwise.",
    )
    active_currency_ids = fields.Many2many(
        "res.currency",
        string="Active currencies",
        domain=[("active", "=", True)],
        tracking=True,
        help="The currencies the Microsoft products of this instance are sold in: each gets its "
        "cost and sell prices at every sync. Currencies Microsoft does not price in need a "
        "conversion rate.",
    )
    default_currency_id = fields.Many2one("res.currency", string="Default currency", tracking=True)
    last_sync_date = fields.Datetime(readonly=True, copy=False)
    last_sync_state = fields.Selection(
        [("never", "Never run"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        default="never",
        readonly=True,
        copy=False,
    )
    last_sync_message = fields.Text(readonly=True, copy=False)
    catalogue_checkpoint = fields.Json(
        readonly=True,
        copy=False,
        groups="base.group_system",
        help="What the last complete sync read and left: digests of Microsoft's data, of the "
        "instance's settings and of the records the sync keeps, and when Microsoft's price rows "
        "next change. A sync that finds all of them the same has nothing to write.",
    )
    sku_ids = fields.One2many("ms.csp.sku", "instance_id", string="SKUs")
    sku_count = fields.Integer(compute="_compute_counts")
    product_count = fields.Integer(compute="_compute_counts")
    sync_run_ids = fields.One2many("ms.csp.sync.run", "instance_id", string="Sync runs")
    pricelist_ids = fields.One2many("product.pricelist", "ms_instance_id", string="Pricelists")

    # === COMPUTES AND CONSTRAINTS === #

    def _compute_counts(self):
        skus = self.env["ms.csp.sku"]._read_group(
            [("instance_id", "in", self.ids)], ["instance_id"], ["__count"]
        )
        sku_counts = {instance.id: count for instance, count in skus}
        products = (
            self.env["product.template"]
            .with_context(active_test=False)
            ._read_group([("ms_instance_id", "in", self.ids)], ["ms_instance_id"], ["__count"])
        )
        product_counts = {instance.id: count for instance, count in products}
        for instance in self:
            instance.sku_count = sku_counts.get(instance.id, 0)
            instance.product_count = product_counts.get(instance.id, 0)

    @api.constrains("default_currency_id", "active_currency_ids")
    def _check_default_currency(self):
        for instance in self:
            if (
                instance.default_currency_id
                and instance.default_currency_id not in instance.active_currency_ids
            ):
                raise ValidationError(
                    self.env._(
                        "The default currency %(currency)s of %(instance)s must be one of its "
                        "active currencies.",
                        currency=instance.default_currency_id.name,
                        instance=instance.name,
                    )
                )

    @api.onchange("active_currency_ids")
    def _onchange_active_currency_ids(self):
        if self.default_currency_id not in self.active_currency_ids._origin:
            self.default_currency_id = self.active_currency_ids[:1]

    # === CATALOGUE ACTIONS === #

    def action_open_skus(self):
        return self._ms_action("ms_catalogue_sync.action_ms_csp_sku", "instance_id")

    def action_open_products(self):
        return self._ms_action(
            "ms_catalogue_sync.action_ms_csp_products", "ms_instance_id", active_test=False
        )

    def action_open_sync_runs(self):
        return self._ms_action("ms_catalogue_sync.action_ms_csp_sync_run", "instance_id")

    # === ENTRY POINTS === #

    def action_get_services_definition(self):
        """The button: queue a sync, wake the worker, show the run. Nothing is sent from here."""
        self.ensure_one()
        self._ms_check_can_call()
        self._ms_check_sync_settings()
        run = self._ms_queue_sync("manual")
        return {
            "type": "ir.actions.act_window",
            "res_model": "ms.csp.sync.run",
            "res_id": run.id,
            "view_mode": "form",
            "target": "current",
        }

    @api.model
    def _ms_cron_get_services_definition(self):
        """The schedule (monthly by default): queue a sync of every active instance."""
        for instance in self.search([("active", "=", True)]):
            instance._ms_queue_sync("cron")

    def _ms_queue_sync(self, trigger, wake=True):
        """This instance's queued run, else a new one; ``wake`` triggers the sync worker."""
        self.ensure_one()
        runs = self.env["ms.csp.sync.run"]
        run = runs.search([("instance_id", "=", self.id), ("state", "=", "queued")], limit=1)
        if not run:
            run = runs.create(
                {"instance_id": self.id, "trigger": trigger, "requested_by_id": self.env.uid}
            )
            run._ms_log(self.env._("Queued by %s.", self.env.user.name))
        if wake:
            self.env.ref("ms_catalogue_sync.cron_ms_csp_sync_worker")._trigger()
        return run

    def _ms_get_services_definition(self, trigger="manual", commit=True):
        """Queue a sync of this instance and run it here (the demo set-up, benchmarks, tests).

        :param commit: commit the run and every batch (``False``: each batch in a savepoint)
        :return: the sync run, done or failed
        """
        self.ensure_one()
        run = self._ms_queue_sync(trigger, wake=False)
        with run._ms_claimed() as claimed:
            if not claimed:
                raise UserError(self.env._("A catalog sync of %s is already running.", self.name))
            self._ms_sync_run(run, commit)
        return run

    # === FLOW === #

    def _ms_sync_run(self, run, commit):
        """Sync this instance for a claimed ``run``: read everything, then write batch by batch.

        When Microsoft serves what it served at the last complete sync, and neither the
        instance's settings nor any record that sync left changed since (``_ms_checkpoint``),
        there is nothing to compare: the sheets are not even parsed.

        Failures are recorded on the run and the instance, never raised: a sync's failure is
        news for the people who look at the run, not an error of the worker.
        """
        self.env["ms.csp.sync.run"].search(
            [
                ("instance_id", "=", self.id),
                ("state", "=", "running"),
            ]
        )._ms_interrupted()
        run.write({"state": "running", "date_start": fields.Datetime.now()})
        self.write({"last_sync_state": "running"})
        self._ms_commit(commit)
        started = time.monotonic()
        try:
            self._ms_check_sync_settings()
            settings = self._ms_sync_settings()
            # taken before reading: what changes while the sync runs is for the next one
            settings_digest = self._ms_settings_digest(settings)
            unchanged = self._ms_checkpoint(settings_digest)
            snapshot = self._ms_fetch_snapshot(settings, unchanged)
        except Exception as error:  # pylint: disable=broad-except
            # nothing was written yet: any failure leaves the catalogue as it was
            if not isinstance(error, (PartnerCenterError, MalformedDataError, UserError)):
                _logger.exception("Reading the catalogue of instance %s failed", self.id)
            return self._ms_sync_failed(run, error, started, commit)
        if snapshot is None:
            return self._ms_sync_unchanged(run, started, commit)
        run._ms_log(
            self.env._(
                "Read %(skus)s SKUs and %(prices)s prices in %(seconds).1f s.",
                skus=len(snapshot.skus),
                prices=len(snapshot.prices),
                seconds=time.monotonic() - started,
            )
        )
        run._ms_log_skipped_rows(snapshot.skipped_rows)
        applier = self.env["ms.csp.catalogue.applier"]
        self.sudo().catalogue_checkpoint = False  # kept again once every batch is written
        try:
            records_digest = applier._ms_apply(self, run, snapshot, commit)
        except Exception as error:  # pylint: disable=broad-exception-caught
            return self._ms_apply_failed(run, error, commit)
        self.sudo().catalogue_checkpoint = {
            "sources": snapshot.sources_digest,
            "settings": settings_digest,
            "records": records_digest,
            "changes_after": snapshot.changes_after
            and fields.Datetime.to_string(snapshot.changes_after.replace(tzinfo=None)),
        }
        return self._ms_sync_done(run, started, commit)

    def _ms_sync_unchanged(self, run, started, commit):
        """Nothing changed at Microsoft nor in Odoo since the last sync: what it made new is now
        simply available, as a sync that compared everything would find."""
        skus = self.env["ms.csp.sku"].search([("instance_id", "=", self.id)])
        skus.filtered(lambda sku: sku.catalog_status == CATALOG_STATUS_NEW).write(
            {"catalog_status": CATALOG_STATUS_AVAILABLE, "last_sync_run_id": run.id}
        )
        run.write({"sku_total": len(skus), "sku_done": len(skus)})
        run._ms_log(
            self.env._(
                "Microsoft's catalog and price sheets are the same as at the last sync (read in "
                "%(seconds).1f s), and so are the instance's settings and the products, prices "
                "and pricelist items that sync left: nothing to write.",
                seconds=time.monotonic() - started,
            )
        )
        return self._ms_sync_done(run, started, commit)

    def _ms_sync_done(self, run, started, commit):
        message = self.env._(
            "%(new)s new, %(retired)s no longer available, %(prices)s price changes.",
            new=run.new_count,
            retired=run.retired_count,
            prices=run.price_change_count,
        )
        run.write(
            {
                "state": "done",
                "date_end": fields.Datetime.now(),
                "duration": time.monotonic() - started,
            }
        )
        run._ms_log(message)
        self.write(
            {
                "last_sync_state": "done",
                "last_sync_date": run.date_end,
                "last_sync_message": message,
                "connection_state": "connected",
            }
        )
        run._ms_notify_requester()
        self.env["ms.csp.sku"]._ms_trigger_quantity_limits()
        self._ms_commit(commit)
        return run

    def _ms_sync_settings(self):
        """What the sync reads Partner Center with, besides the instance's credentials."""
        previous = dict(
            self.env["ms.csp.sku"]
            .search_fetch([("instance_id", "=", self.id)], ["code", "catalog_status"])
            .mapped(lambda sku: (sku.code, sku.catalog_status))
        )
        on_date = fields.Date.context_today(self)
        rates = {}
        for currency in self.active_currency_ids:
            currency_rates = self.env["ms.csp.conversion.rate"]._ms_rates_for(
                currency, self.company_id, on_date
            )
            if currency_rates:
                rates[currency.name] = {
                    base: Decimal(str(rate)) for base, rate in currency_rates.items()
                }
        return {
            "countries": self.country_ids.mapped("code"),
            "currencies": sorted(self.active_currency_ids.mapped("name")),
            "rates": rates,
            "roundings": {c.name: currency_rounding(c) for c in self.active_currency_ids},
            "previous": previous,
            "lang": self.catalogue_lang,
        }

    def _ms_fetch_snapshot(self, settings, unchanged_sources=None):
        """Read and check the whole catalogue; nothing is written here.

        :param unchanged_sources: see ``fetch_snapshot``'s ``unless_sources``
        :return: the snapshot, or None when Microsoft's data is ``unchanged_sources``
        """
        with self._ms_client() as client:
            return fetch_snapshot(
                client,
                **settings,
                # price rows take effect at their start instant (UTC), not at the day's start
                on_date=fields.Datetime.now(),
                unless_sources=unchanged_sources,
            )

    def _ms_checkpoint(self, settings_digest):
        """The digest of Microsoft's data at the last complete sync, if nothing else it depends
        on changed since: the instance's settings, the records it left, the moment (no price
        row started or ended since). ``None`` otherwise: everything is read and compared.

        The records are compared by their stored row versions, so a change made by hand to a
        product, price or pricelist item the sync keeps is repaired by the next sync, as it was
        before.
        """
        checkpoint = self.sudo().catalogue_checkpoint or {}
        if not checkpoint.get("sources") or checkpoint.get("settings") != settings_digest:
            return None
        changes_after = checkpoint.get("changes_after")
        if changes_after and fields.Datetime.now() >= fields.Datetime.to_datetime(changes_after):
            return None
        applier = self.env["ms.csp.catalogue.applier"]
        if checkpoint.get("records") != applier._ms_records_digest(self):
            return None
        return checkpoint["sources"]

    def _ms_settings_digest(self, settings):
        """A digest of everything besides Microsoft's data that decides what the sync writes."""
        applier = self.env["ms.csp.catalogue.applier"]
        currencies = {currency.name: currency for currency in self.active_currency_ids}
        records = applier._ms_product_records()
        term_values = self.env["product.attribute.value"].browse(
            [value.id for value in records["term_values"].values()]
        )
        decided_by = (
            # the code: of the addons installed and of the Partner Center library
            self.env["ir.module.module"]
            .search_fetch([("state", "=", "installed")], ["name", "latest_version"], order="name")
            .mapped(lambda module: (module.name, module.latest_version)),
            partner_center.__version__,
            {name: value for name, value in settings.items() if name != "previous"},
            self.company_id.id,
            self.company_id.currency_id.read(["rounding"]),
            self.default_currency_id.id,
            applier._ms_company_rate(self, currencies),
            records,
            records["term_attribute"].read(["create_variant", "display_type"]),
            term_values.read(["ms_term_plan", "default_extra_price", "is_custom"]),
            self.env["product.pricelist.item"]._fields["fixed_price"].get_digits(self.env),
        )
        return hashlib.sha256(repr(decided_by).encode()).hexdigest()

    def _ms_sync_failed(self, run, error, started, commit):
        """Record a failed sync where the user looks: the run, the instance, its chatter."""
        if isinstance(error, MissingRateError):
            message = self.env._(
                "Microsoft does not price in %(currency)s in the countries of %(instance)s and no "
                "conversion rate into %(currency)s is set: add one in Microsoft CSP > "
                "Configuration > Conversion Rates, then run Get Services Definition again. "
                "Nothing was changed.",
                currency=error.target or error.currency,
                instance=self.name,
            )
        elif isinstance(error, MalformedDataError):
            message = self.env._(
                "Microsoft's data could not be read: %s Nothing was changed.", error
            )
        elif isinstance(error, UserError):
            message = self.env._("%s Nothing was changed.", error.args[0])
        elif not isinstance(error, PartnerCenterError):
            message = self.env._(
                "The sync stopped while reading the catalog (%(type)s: %(error)s). Nothing "
                "was changed.",
                type=type(error).__name__,
                error=error,
            )
        else:
            message = self.env._("%s Nothing was changed.", self._ms_error_message(error))
        run.write(
            {
                "state": "failed",
                "date_end": fields.Datetime.now(),
                "error_message": message,
                "duration": time.monotonic() - started,
            }
        )
        run._ms_log(message)
        values = {"last_sync_state": "failed", "last_sync_message": message}
        if isinstance(error, PartnerCenterError) and not isinstance(error, MissingRateError):
            self._ms_record_connection_error(error)
        self.write(values)
        self.message_post(body=message)
        run._ms_notify_requester()
        self.env["ms.csp.sku"]._ms_trigger_quantity_limits()
        self._ms_commit(commit)
        return run

    def _ms_apply_failed(self, run, error, commit):
        """An unexpected error while writing: committed batches stay, the next run finishes.

        As in production: the failing batch is rolled back (by ``cr.rollback()`` when
        committing, by its savepoint otherwise), the failure recorded and committed.
        """
        _logger.exception("Catalogue sync of Partner Center instance %s failed", self.id)
        if commit:
            self.env.cr.rollback()
        message = self.env._(
            "The sync stopped while writing the catalog (%(error)s). The batches written so "
            "far are complete; run Get Services Definition again to finish.",
            error=error,
        )
        run.write({"state": "failed", "date_end": fields.Datetime.now(), "error_message": message})
        run._ms_log(message)
        self.write({"last_sync_state": "failed", "last_sync_message": message})
        run._ms_notify_requester()
        self.env["ms.csp.sku"]._ms_trigger_quantity_limits()
        self._ms_commit(commit)
        return run

    def _ms_check_sync_settings(self):
        if not self.country_ids:
            raise UserError(self.env._("Choose the countries %s sells in first.", self.name))
        if not self.active_currency_ids:
            raise UserError(self.env._("Choose the active currencies of %s first.", self.name))

    # === TRANSACTIONS === #

    def _ms_commit(self, commit):
        """Commit a step of the sync (``commit``: the worker's choice; tests pass ``False``)."""
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        else:
            self.env.flush_all()
