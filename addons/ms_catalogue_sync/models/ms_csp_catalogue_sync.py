"""Get Services Definition: the catalogue and price sync of a Partner Center instance.

The flow: read and check everything first (``partner_center.snapshot``), write nothing until then;
then apply the snapshot in batches of SKUs, each batch committed with its SKUs, products, prices and
pricelist items together, so a crash leaves every committed batch consistent and the next run
finishes the work. Every write is a diff: a sync that finds nothing new writes no product, price or
pricelist row.
"""

import logging
import threading
import time
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError

from partner_center.errors import MalformedDataError, MissingRateError, PartnerCenterError
from partner_center.snapshot import fetch_snapshot

from ..const import (
    CATALOG_STATUS_AVAILABLE,
    CATALOG_STATUS_NEW,
    CATALOG_STATUS_RETIRED,
    KIND_BY_SKU_KIND,
    KIND_SOFTWARE_SUBSCRIPTION,
    TERM_PLANS,
    term_plan_key,
)

_logger = logging.getLogger(__name__)

BATCH_SIZE = 250
SYNC_LOCK_NAMESPACE = 7_261_001  # pg advisory lock: one sync per instance at a time


def _testing():
    return getattr(threading.current_thread(), "testing", False)


class MsCspInstance(models.Model):
    _inherit = "ms.csp.instance"

    # === ENTRY POINTS === #

    def action_get_services_definition(self):
        """The button: sync now and show the run."""
        self.ensure_one()
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


class MsCspCatalogueApplier(models.AbstractModel):
    """Writes a snapshot into Odoo, batch by batch, writing only what differs."""

    _name = "ms.csp.catalogue.applier"
    _description = "Microsoft Catalogue Sync: apply a snapshot"

    def _ms_apply(self, instance, run, snapshot):
        skus = {sku.code: sku for sku in self.env["ms.csp.sku"].with_context(
            active_test=False).search([("instance_id", "=", instance.id)])}
        context = self._ms_context(instance, snapshot)
        codes = sorted(snapshot.skus)
        run.write({"sku_total": len(codes)})
        for start in range(0, len(codes), BATCH_SIZE):
            batch = codes[start:start + BATCH_SIZE]
            self._ms_apply_batch(instance, run, snapshot, batch, skus, context)
            run.write({"sku_done": start + len(batch)})
            instance._ms_commit()

    def _ms_context(self, instance, snapshot):
        """What every batch needs, read once: currencies, countries, pricelists, units."""
        currencies = {c.name: c for c in instance.active_currency_ids}
        countries = {c.code: c for c in instance.country_ids}
        return {
            "currencies": currencies,
            "countries": countries,
            "pricelists": self._ms_pricelists(instance, currencies),
            "lang": instance.catalogue_lang,
        }

    def _ms_pricelists(self, instance, currencies):
        """One pricelist per active currency of the instance (created when missing)."""
        pricelists = self.env["product.pricelist"].with_context(active_test=False).search([
            ("ms_instance_id", "=", instance.id)])
        by_currency = {pricelist.currency_id.name: pricelist for pricelist in pricelists}
        missing = [name for name in currencies if name not in by_currency]
        created = self.env["product.pricelist"].create([{
            "name": self.env._("Microsoft %(instance)s (%(currency)s)", instance=instance.name,
                      currency=name),
            "currency_id": currencies[name].id,
            "company_id": instance.company_id.id,
            "ms_instance_id": instance.id,
        } for name in missing])
        for pricelist in created:
            by_currency[pricelist.currency_id.name] = pricelist
        return by_currency

    def _ms_apply_batch(self, instance, run, snapshot, batch, skus, context):
        entries = [snapshot.skus[code] for code in batch]
        changes = []
        retired = self._ms_upsert_skus(instance, run, entries, skus, context, changes)
        batch_skus = self.env["ms.csp.sku"].browse(
            [skus[code].id for code in batch if code in skus])
        self._ms_upsert_products(instance, batch_skus, {e.code: e for e in entries}, context)
        self._ms_upsert_prices(instance, run, snapshot, batch_skus, context, changes)
        self._ms_retire(run, retired, changes)
        self.env["ms.csp.sync.change"].create(changes)
        run.write({
            "new_count": run.new_count + sum(1 for c in changes if c["change_type"] == "new"),
            "retired_count": run.retired_count + sum(
                1 for c in changes if c["change_type"] == "retired"),
            "price_change_count": run.price_change_count + sum(
                1 for c in changes if c["change_type"] == "price"),
        })

    # --- SKUs --- #

    def _ms_sku_values(self, instance, entry, context):
        plans = sorted(filter(None, (
            term_plan_key(term, billing) for term, billing in entry.plans)))
        return {
            "name": entry.title or entry.code,
            "code": entry.code,
            "ms_product_id": entry.product_id,
            "ms_sku_id": entry.sku_id,
            "instance_id": instance.id,
            "kind": KIND_BY_SKU_KIND.get(entry.kind) or KIND_SOFTWARE_SUBSCRIPTION,
            "description": entry.description or False,
            "publisher": entry.publisher or False,
            "term_plans": ",".join(plans) or False,
            "country_ids": sorted(context["countries"][code].id for code in entry.countries
                                  if code in context["countries"]),
        }

    def _ms_upsert_skus(self, instance, run, entries, skus, context, changes):
        """Create and update the batch's SKUs; returns those that stopped being sold now."""
        to_create = []
        retired = self.env["ms.csp.sku"]
        for entry in entries:
            sku = skus.get(entry.code)
            if entry.status == CATALOG_STATUS_RETIRED:
                if sku and sku.catalog_status != CATALOG_STATUS_RETIRED:
                    sku.write({"catalog_status": CATALOG_STATUS_RETIRED,
                               "country_ids": [(5, 0, 0)], "last_sync_run_id": run.id})
                    retired |= sku
                continue
            values = self._ms_sku_values(instance, entry, context)
            if not sku:
                to_create.append({**values, "catalog_status": CATALOG_STATUS_NEW,
                                  "last_sync_run_id": run.id})
                continue
            status = CATALOG_STATUS_AVAILABLE
            if sku.catalog_status == CATALOG_STATUS_RETIRED:
                changes.append(self._ms_change(run, sku, "back"))
            diff = self._ms_diff(sku, {**values, "catalog_status": status})
            if diff:
                sku.write({**diff, "last_sync_run_id": run.id})
        for sku in self.env["ms.csp.sku"].create(to_create):
            skus[sku.code] = sku
            changes.append(self._ms_change(run, sku, "new"))
        return retired

    @staticmethod
    def _ms_diff(record, values):
        """The part of ``values`` that differs from ``record`` (many2many as sorted id lists)."""
        diff = {}
        for name, value in values.items():
            current = record[name]
            field = record._fields[name]
            if field.type == "many2many":
                if sorted(current.ids) != sorted(value):
                    diff[name] = [(6, 0, value)]
            elif field.type == "many2one":
                if current.id != (value or False):
                    diff[name] = value
            elif (current or False) != (value or False):
                diff[name] = value
        return diff

    @staticmethod
    def _ms_change(run, sku, change_type, **values):
        return {"run_id": run.id, "sku_id": sku.id, "product_tmpl_id": sku.product_tmpl_id.id,
                "change_type": change_type, **values}

    # --- products --- #

    def _ms_upsert_products(self, instance, skus, entries, context):
        templates = self.env["product.template"].with_context(lang="en_US")
        creating = skus.filtered(lambda sku: not sku.product_tmpl_id
                                 and sku.catalog_status != CATALOG_STATUS_RETIRED)
        vals_list = [self._ms_template_values(sku, context) for sku in creating]
        for sku, template in zip(creating, templates.create(vals_list), strict=True):
            sku.product_tmpl_id = template
        for sku in skus - creating:
            template = sku.product_tmpl_id.with_context(lang="en_US", active_test=False)
            if not template or sku.catalog_status == CATALOG_STATUS_RETIRED:
                continue
            values = self._ms_template_values(sku, context, update=True)
            diff = self._ms_diff(template, values)
            if not template.active:
                diff.update(active=True, ms_kept_in_use=False)
            if diff:
                template.write(diff)
            self._ms_sync_term_values(template, sku)
        self._ms_translate(skus, entries, context)

    def _ms_template_values(self, sku, context, update=False):
        values = self.env["product.template"]._ms_product_values(sku, sku.kind)
        values["description_sale"] = sku.description or False
        if update:
            return values
        subscription = sku.kind == KIND_SOFTWARE_SUBSCRIPTION
        unit = self.env.ref(
            "ms_catalogue_sync.uom_annual" if subscription else "uom.product_uom_unit")
        category = self.env.ref(
            "ms_catalogue_sync.product_category_ms_software_subscriptions" if subscription
            else "ms_catalogue_sync.product_category_ms_perpetual_licenses")
        values.update(uom_id=unit.id, uom_po_id=unit.id, categ_id=category.id, list_price=0.0,
                      company_id=sku.instance_id.company_id.id)
        term_values = self._ms_term_values(sku)
        if term_values:
            values["attribute_line_ids"] = [(0, 0, {
                "attribute_id": self.env.ref("ms_catalogue_sync.attribute_ms_term").id,
                "value_ids": [(6, 0, term_values.ids)],
            })]
        return values

    def _ms_term_values(self, sku):
        """The attribute values of the SKU's subscription term plans (none for perpetual)."""
        xmlids = [TERM_PLANS[key][2] for key in (sku.term_plans or "").split(",")
                  if key in TERM_PLANS and TERM_PLANS[key][2]]
        values = self.env["product.attribute.value"]
        for xmlid in xmlids:
            values |= self.env.ref(f"ms_catalogue_sync.{xmlid}")
        return values

    def _ms_sync_term_values(self, template, sku):
        """Add variants for term plans Microsoft added; removed plans keep their variants."""
        wanted = self._ms_term_values(sku)
        line = template.attribute_line_ids.filtered(
            lambda term_line: term_line.attribute_id == self.env.ref(
                "ms_catalogue_sync.attribute_ms_term"))
        missing = wanted - line.value_ids
        if missing and line:
            line.value_ids = [(4, value.id) for value in missing]

    def _ms_translate(self, skus, entries, context):
        """Names and descriptions in the catalogue language, where Microsoft translates them."""
        lang = context["lang"]
        if not lang or lang == "en_US":
            return
        for sku in skus.filtered("product_tmpl_id"):
            entry = entries.get(sku.code)
            if not entry or not (entry.localized_title or entry.localized_description):
                continue
            template = sku.product_tmpl_id.with_context(lang=lang)
            values = {}
            if entry.localized_title and template.name != entry.localized_title:
                values["name"] = entry.localized_title
            if entry.localized_description and \
                    template.description_sale != entry.localized_description:
                values["description_sale"] = entry.localized_description
            if values:
                template.write(values)

    # --- prices --- #

    def _ms_upsert_prices(self, instance, run, snapshot, skus, context, changes):
        """Default and per-country prices, pricelist items and variant costs, as diffs."""
        by_code = {sku.code: sku for sku in skus if sku.catalog_status != CATALOG_STATUS_RETIRED}
        wanted = self._ms_wanted_prices(snapshot, by_code, context)
        existing = self.env["ms.csp.price"].search([("sku_id", "in", list(
            {sku.id for sku in by_code.values()}))])
        current = {(p.sku_id.id, p.term_plan, p.country_id.id, p.currency_id.id): p
                   for p in existing}
        to_create = []
        for key, (cost, sell) in wanted.items():
            price = current.get(key)
            if not price:
                to_create.append(self._ms_price_values(instance, key, cost, sell))
            elif not (_same(price.cost, cost) and _same(price.sell, sell)):
                if not key[2]:
                    changes.append(self._ms_change(
                        run, price.sku_id, "price", term_plan=key[1], currency_id=key[3],
                        old_cost=price.cost, new_cost=cost, old_price=price.sell, new_price=sell))
                price.write({"cost": cost, "sell": sell})
        self.env["ms.csp.price"].create(to_create)
        defaults = {key: value for key, value in wanted.items() if not key[2]}
        self._ms_upsert_pricelist_items(by_code.values(), defaults, context)
        self._ms_upsert_costs(instance, by_code.values(), defaults, context)

    def _ms_wanted_prices(self, snapshot, by_code, context):
        """(sku id, term plan, country id or False, currency id) -> (cost, sell)."""
        currencies, countries = context["currencies"], context["countries"]
        wanted = {}
        for (code, term, billing, currency), price in snapshot.prices.items():
            plan = term_plan_key(term, billing)
            if code in by_code and plan and currency in currencies:
                wanted[(by_code[code].id, plan, False, currencies[currency].id)] = (
                    _float(price.cost), _float(price.sell))
        for price in snapshot.country_prices:
            plan = term_plan_key(price.term_duration, price.billing_plan)
            if price.code in by_code and plan and price.currency in currencies \
                    and price.country in countries:
                key = (by_code[price.code].id, plan, countries[price.country].id,
                       currencies[price.currency].id)
                wanted[key] = (_float(price.cost), _float(price.sell))
        return wanted

    @staticmethod
    def _ms_price_values(instance, key, cost, sell):
        sku_id, plan, country_id, currency_id = key
        return {"sku_id": sku_id, "instance_id": instance.id, "term_plan": plan,
                "country_id": country_id, "currency_id": currency_id, "cost": cost, "sell": sell}

    def _ms_variants(self, skus):
        """(sku id, term plan) -> product.product, for the SKUs' products."""
        templates = self.env["product.template"].browse(
            [sku.product_tmpl_id.id for sku in skus if sku.product_tmpl_id])
        variants = templates.with_context(active_test=False).product_variant_ids
        return {(variant.ms_sku_id.id, variant.ms_term_plan): variant
                for variant in variants if variant.ms_term_plan}

    def _ms_upsert_pricelist_items(self, skus, defaults, context):
        variants = self._ms_variants(skus)
        pricelists = {p.currency_id.id: p for p in context["pricelists"].values()}
        items = self.env["product.pricelist.item"].search([
            ("pricelist_id", "in", [p.id for p in pricelists.values()]),
            ("ms_synced", "=", True), ("product_id", "in", [v.id for v in variants.values()])])
        current = {(item.pricelist_id.id, item.product_id.id): item for item in items}
        to_create = []
        for (sku_id, plan, _country, currency_id), (_cost, sell) in defaults.items():
            variant, pricelist = variants.get((sku_id, plan)), pricelists.get(currency_id)
            if not (variant and pricelist) or sell is None:
                continue
            item = current.get((pricelist.id, variant.id))
            if not item:
                to_create.append({
                    "pricelist_id": pricelist.id, "applied_on": "0_product_variant",
                    "product_tmpl_id": variant.product_tmpl_id.id, "product_id": variant.id,
                    "compute_price": "fixed", "fixed_price": sell, "ms_synced": True,
                })
            elif not _same(item.fixed_price, sell):
                item.fixed_price = sell
        self.env["product.pricelist.item"].create(to_create)

    def _ms_upsert_costs(self, instance, skus, defaults, context):
        """The variant's cost: its default cost in the company currency (converted if needed)."""
        company = instance.company_id
        company_currency = company.currency_id
        source = instance.default_currency_id or instance.active_currency_ids[:1]
        if company_currency.name in context["currencies"]:
            source = company_currency
        variants = self._ms_variants(skus)
        today = fields.Date.context_today(self)
        for (sku_id, plan, _country, currency_id), (cost, _sell) in defaults.items():
            variant = variants.get((sku_id, plan))
            if not variant or currency_id != source.id or cost is None:
                continue
            value = source._convert(cost, company_currency, company, today)
            variant = variant.with_company(company)
            if not company_currency.is_zero(variant.standard_price - value):
                variant.standard_price = value

    # --- retirement --- #

    def _ms_retire(self, run, skus, changes):
        """Archive the products of SKUs no longer sold, unless in use: those stay, flagged."""
        templates = skus.product_tmpl_id
        in_use = templates._ms_in_use() if templates else templates
        for sku in skus:
            kept = sku.product_tmpl_id and sku.product_tmpl_id in in_use
            changes.append(self._ms_change(
                run, sku, "retired", note=self.env._("Kept: still in use") if kept else False))
        (templates - in_use).write({"active": False})
        in_use.write({"ms_kept_in_use": True})


def _float(value):
    return float(value) if value is not None else None


def _same(current, new):
    if new is None:
        return not current
    return abs((current or 0.0) - new) < 0.005
