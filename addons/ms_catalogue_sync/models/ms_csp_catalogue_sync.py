"""Get Services Definition: the catalogue and price sync of a Partner Center instance.

The flow: read and check everything first (``partner_center.snapshot``), write nothing until then;
then apply the snapshot in batches of SKUs, each batch committed with its SKUs, products, prices and
pricelist items together, so a crash leaves every committed batch consistent and the next run
finishes the work. Every write is a diff: a sync that finds nothing new writes no product, price or
pricelist row.
"""

import contextlib
import functools
import hashlib
import io
import logging
import math
from collections import defaultdict

import psycopg2.extensions

from odoo import fields, models
from odoo.tools import SQL, float_repr, float_round

from partner_center.snapshot import collector_paused

from ..const import (
    CATALOG_STATUS_AVAILABLE,
    CATALOG_STATUS_NEW,
    CATALOG_STATUS_RETIRED,
    KIND_BY_SKU_KIND,
    KIND_PERPETUAL,
    KIND_SOFTWARE_SUBSCRIPTION,
    TERM_PLAN_ONE_TIME,
    TERM_PLANS,
    term_plan_key,
    variant_code,
)
from .sync_memo import SYNC_MEMO, constant_default

_logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
NULL = r"\N"  # in COPY's text format
# What Odoo's precomputed product fields (invoicing and service policies, properties) depend on:
# the same for every Microsoft product of one kind (see _add_precomputed_once)
PRODUCT_KIND_FIELDS = (
    "type",
    "service_tracking",
    "categ_id",
    "uom_id",
    "company_id",
    "sale_ok",
    "purchase_ok",
)
# Read-only computed fields of new products whose values the sync gives (_create_keeping_given)
GIVEN_TEMPLATE_FIELDS = ("has_configurable_attributes",)
GIVEN_VARIANT_FIELDS = ("combination_indices", "ms_term_plan", "ms_billing_uom_id")
# What distinguishes the records the sync makes in numbers, one from another of its kind: given
# with each record, everything else copied from the first of its kind (see _create_as_copies)
ITEM_VARYING = ("product_tmpl_id", "product_id", "fixed_price")
TERM_VALUE_VARYING = (
    "attribute_line_id",
    "product_tmpl_id",
    "product_attribute_value_id",
    "price_extra",
)
SKU_VARYING = (
    "name",
    "code",
    "ms_product_ref",
    "ms_sku_ref",
    "kind",
    "description",
    "publisher",
    "term_value_ids",
    "country_ids",
)
CHANGE_VARYING = (
    "sku_id",
    "product_tmpl_id",
    "term_plan",
    "currency_id",
    "old_cost",
    "new_cost",
    "old_price",
    "new_price",
    "note",
)
VARIANT_VARYING = (
    "product_tmpl_id",
    "active",
    "product_template_attribute_value_ids",
    "combination_indices",
    "default_code",
    "ms_term_plan",
    "ms_billing_uom_id",
    "standard_price",
)
# Modules whose ``create`` of a model made by copies does nothing the copies need
COPY_SAFE_CREATE = (
    "odoo.addons.product.",
    "odoo.addons.mail.",
    "odoo.addons.ms_catalogue_sync.",
)
SKU_FIELDS = [
    "name",
    "code",
    "ms_product_ref",
    "ms_sku_ref",
    "instance_id",
    "kind",
    "catalog_status",
    "description",
    "publisher",
    "term_value_ids",
    "country_ids",
    "product_tmpl_id",
]
# Products made by the sync get no "created" message nor followers: the sync run lists them.
NO_CHATTER = {"tracking_disable": True}


class MsCspCatalogueApplier(models.AbstractModel):
    """Writes a snapshot into Odoo, batch by batch, writing only what differs.

    A batch reads what exists in one query per model and writes in as few calls as it can:
    creations in one ``create`` per model, identical updates in one ``write``. Products are made
    without Odoo's per-product chatter and variant machinery (see ``_ms_create_products``), the
    large ``ms.csp.price`` table is read in SQL and filled with COPY (``_ms_insert_prices``), the
    SKUs, change lines, variants, term values and pricelist items after the first of their kind
    are its copies (``_create_as_copies``), and while it writes, precisions and defaults are read
    once (``sync_memo``) and the cyclic garbage collector is paused (the sync makes no reference
    cycles worth collecting).
    """

    _name = "ms.csp.catalogue.applier"
    _description = "Microsoft Catalogue Sync: apply a snapshot"

    def _ms_apply(self, instance, run, snapshot, commit):
        """Write ``snapshot``; the digest of the records it left (``_ms_records_digest``).

        The digest adds up what each batch left, taken in its own transaction before it commits:
        a change someone makes to a batch's records once it is committed is not counted as the
        sync's, and the next sync finds it.
        """
        skus = {
            sku.code: sku.id
            for sku in self.env["ms.csp.sku"].search_fetch(
                [("instance_id", "=", instance.id)], ["code"]
            )
        }
        context = self._ms_context(instance, snapshot)
        tally = defaultdict(lambda: [0, 0])
        # the pricelists (made with the context), in the transaction of the first batch
        self._ms_tally(instance, tally, pricelists=True)
        codes = sorted(snapshot.skus)
        run.write({"sku_total": len(codes)})
        self.env.cr.cache[SYNC_MEMO] = {}
        try:
            with collector_paused():
                self._ms_apply_batches(instance, run, snapshot, codes, skus, context, tally, commit)
        finally:
            self.env.cr.cache.pop(SYNC_MEMO, None)
        return _tally_digest(tally)

    def _ms_apply_batches(self, instance, run, snapshot, codes, skus, context, tally, commit):
        """Each batch committed with its SKUs, products and prices; the run tells the progress.

        Without ``commit`` each batch is a savepoint: a failing batch is undone as a rollback
        would undo it, and the batches before it stay.

        :param tally: completed with what each batch leaves (see ``_ms_tally``)
        """
        for start in range(0, len(codes), BATCH_SIZE):
            batch = codes[start : start + BATCH_SIZE]
            with contextlib.nullcontext() if commit else self.env.cr.savepoint():
                self._ms_apply_batch(instance, run, snapshot, batch, skus, context)
                run.write({"sku_done": start + len(batch)})
                batch_ids = [skus[code] for code in batch if code in skus]
                self._ms_tally(instance, tally, SQL("id = ANY(%s)", batch_ids))
            instance._ms_commit(commit)

    def _ms_context(self, instance, snapshot):
        """What every batch needs, read once: currencies, countries, pricelists, prices, units."""
        currencies = {c.name: c for c in instance.active_currency_ids}
        countries = {c.code: c for c in instance.country_ids}
        return {
            "currencies": currencies,
            "countries": countries,
            "pricelists": self._ms_pricelists(instance, currencies),
            "prices": self._ms_wanted_prices(snapshot, currencies, countries),
            "records": self._ms_product_records(),
            "lang": instance.catalogue_lang,
            "company_rate": self._ms_company_rate(instance, currencies),
        }

    def _ms_pricelists(self, instance, currencies):
        """One pricelist per active currency of the instance (created when missing)."""
        pricelists = (
            self.env["product.pricelist"]
            .with_context(active_test=False)
            .search([("ms_instance_id", "=", instance.id)])
        )
        by_currency = {pricelist.currency_id.name: pricelist for pricelist in pricelists}
        missing = [name for name in currencies if name not in by_currency]
        created = self.env["product.pricelist"].create(
            [
                {
                    # Odoo shows a pricelist with its currency: "Microsoft <instance> (USD)"
                    "name": self.env._("Microsoft %s", instance.name),
                    "currency_id": currencies[name].id,
                    "company_id": instance.company_id.id,
                    "ms_instance_id": instance.id,
                }
                for name in missing
            ]
        )
        for pricelist in created:
            by_currency[pricelist.currency_id.name] = pricelist
        return by_currency

    def _ms_product_records(self):
        """Units, categories and Microsoft Term values of the products, looked up once."""
        ref = self.env.ref
        return {
            "units": {
                True: ref("ms_catalogue_sync.uom_annual"),
                False: ref("uom.product_uom_unit"),
            },
            "categories": {
                True: ref("ms_catalogue_sync.product_category_ms_software_subscriptions"),
                False: ref("ms_catalogue_sync.product_category_ms_perpetual_licenses"),
            },
            "term_attribute": ref("ms_catalogue_sync.attribute_ms_term"),
            "term_values": {
                key: ref(f"ms_catalogue_sync.{xmlid}")
                for key, (_term, _billing, xmlid, _unit) in TERM_PLANS.items()
                if xmlid
            },
            # a variant's billing unit by term plan (see product.product._compute_ms_term_plan)
            "billing_units": {
                TERM_PLAN_ONE_TIME: ref("uom.product_uom_unit").id,
                **{
                    key: ref(f"ms_catalogue_sync.{unit}").id
                    for key, (_term, _billing, _xmlid, unit) in TERM_PLANS.items()
                    if unit
                },
            },
        }

    def _ms_apply_batch(self, instance, run, snapshot, batch, skus, context):
        """Write the SKUs of ``batch`` and everything that hangs on them.

        :param skus: code -> id of the instance's SKUs, completed here with the created ones
        """
        entries = [snapshot.skus[code] for code in batch]
        # Read the batch's SKUs at once: every commit empties the cache.
        known = self.env["ms.csp.sku"].browse([skus[code] for code in batch if code in skus])
        known.fetch(SKU_FIELDS)
        by_code = {sku.code: sku for sku in known}
        changes = []
        retired = self._ms_upsert_skus(instance, run, entries, by_code, context, changes)
        skus.update((code, sku.id) for code, sku in by_code.items())
        batch_skus = self.env["ms.csp.sku"].browse(
            [by_code[code].id for code in batch if code in by_code]
        )
        company_prices = self._ms_company_prices(instance, batch_skus, context)
        created, updated = self._ms_upsert_products(
            batch_skus, {e.code: e for e in entries}, context, company_prices
        )
        self._ms_upsert_prices(instance, run, batch_skus, context, changes, company_prices)
        self._ms_retire(run, retired, changes)
        for change in changes:  # new SKUs got their product after their change line was made
            if not change["product_tmpl_id"]:
                change["product_tmpl_id"] = (
                    self.env["ms.csp.sku"].browse(change["sku_id"]).product_tmpl_id.id
                )
        _create_as_copies(
            self.env["ms.csp.sync.change"],
            changes,
            CHANGE_VARYING,
            ("instance_id", "company_id", "date"),
        )
        run.write(
            {
                "new_count": run.new_count + sum(1 for c in changes if c["change_type"] == "new"),
                "retired_count": run.retired_count
                + sum(1 for c in changes if c["change_type"] == "retired"),
                "price_change_count": run.price_change_count
                + sum(1 for c in changes if c["change_type"] == "price"),
                "product_created_count": run.product_created_count + created,
                "product_updated_count": run.product_updated_count + updated,
            }
        )

    # --- SKUs --- #

    def _ms_sku_values(self, instance, entry, context):
        by_plan = context["records"]["term_values"]
        plans = {term_plan_key(term, billing) for term, billing in entry.plans}
        return {
            "name": entry.title or entry.code,
            "code": entry.code,
            "ms_product_ref": entry.product_id,
            "ms_sku_ref": entry.sku_id,
            "instance_id": instance.id,
            "kind": KIND_BY_SKU_KIND.get(entry.kind) or KIND_SOFTWARE_SUBSCRIPTION,
            "description": entry.description or False,
            "publisher": entry.publisher or False,
            "term_value_ids": sorted(by_plan[plan].id for plan in plans if plan in by_plan),
            "country_ids": sorted(
                context["countries"][code].id
                for code in entry.countries
                if code in context["countries"]
            ),
        }

    def _ms_upsert_skus(self, instance, run, entries, skus, context, changes):
        """Create and update the batch's SKUs; returns those that stopped being sold now."""
        to_create, updates = [], []
        retired = self.env["ms.csp.sku"]
        for entry in entries:
            sku = skus.get(entry.code)
            if entry.status == CATALOG_STATUS_RETIRED:
                if sku and sku.catalog_status != CATALOG_STATUS_RETIRED:
                    updates.append(
                        (
                            sku,
                            {"catalog_status": CATALOG_STATUS_RETIRED, "country_ids": [(5, 0, 0)]},
                        )
                    )
                    retired |= sku
                continue
            values = self._ms_sku_values(instance, entry, context)
            if not sku:
                to_create.append(
                    {
                        **values,
                        "catalog_status": CATALOG_STATUS_NEW,
                        "last_sync_run_id": run.id,
                        "company_id": instance.company_id.id,  # stored related, with the row
                    }
                )
                continue
            if sku.catalog_status == CATALOG_STATUS_RETIRED:
                changes.append(self._ms_change(run, sku, "back"))
            diff = self._ms_diff(sku, {**values, "catalog_status": CATALOG_STATUS_AVAILABLE})
            if diff:
                updates.append((sku, diff))
        _write_grouped([(sku, {**diff, "last_sync_run_id": run.id}) for sku, diff in updates])
        for sku in _create_as_copies(
            self.env["ms.csp.sku"], to_create, SKU_VARYING, ("company_id",)
        ):
            skus[sku.code] = sku
            changes.append(self._ms_change(run, sku, "new"))
        return retired

    @staticmethod
    def _ms_diff(record, values):
        """The part of ``values`` that differs from ``record`` (many2many as sorted id lists).

        Values are compared as the cache holds them (ids for relations): a sync compares
        thousands of records, and making a recordset of each relation would be most of it.
        """
        diff = {}
        env = record.env
        for name, value in values.items():
            field = record._fields[name]
            if not env.cache.contains(record, field) or env.is_to_compute(field, record):
                record.mapped(name)  # read (with the batch) or computed into the cache
            current = env.cache.get(record, field)
            if field.type == "many2many":
                if sorted(current) != sorted(value):
                    diff[name] = [(6, 0, value)]
            elif (current or False) != (value or False):
                diff[name] = value
        return diff

    @staticmethod
    def _ms_change(run, sku, change_type, **values):
        # the run's values of the stored related fields: written with the row, not after it
        return {
            "run_id": run.id,
            "instance_id": run.instance_id.id,
            "company_id": run.company_id.id,
            "date": run.date_start,
            "sku_id": sku.id,
            "product_tmpl_id": sku.product_tmpl_id.id,
            "change_type": change_type,
            **values,
        }

    # --- products --- #

    def _ms_upsert_products(self, skus, entries, context, company_prices):
        """:return: ``(created, updated)``, how many products were made and changed"""
        sold = skus.filtered(lambda sku: sku.catalog_status != CATALOG_STATUS_RETIRED)
        creating = sold.filtered(lambda sku: not sku.product_tmpl_id)
        self._ms_create_products(creating, context, company_prices)
        updated = self._ms_update_products(sold - creating, context)
        self._ms_translate(skus, entries, context, creating)
        return len(creating), updated

    def _ms_create_products(self, skus, context, company_prices):
        """The products of new SKUs, with their variants, in one create per model.

        Odoo makes a product's variants template by template (``_create_variant_ids`` checks
        exclusions and dynamic attributes for each). A Microsoft product has at most one attribute
        line, Microsoft Term, whose variants are always created and never excluded: one variant
        per value, or a single one without the line, exactly what that method would make. The
        products' "created" chatter messages are left out: the sync run lists the new SKUs.

        Each value is written once, at creation: the sales price, the terms' extra prices and
        the variants' costs (``company_prices``), and what Odoo would compute from the term line
        and values the sync itself gives (``_ms_configurable``, ``_ms_variant_values``).
        """
        if not skus:
            return
        model = self.env["product.template"].with_context(
            lang="en_US", create_product_product=False, **NO_CHATTER
        )
        sells = [self._ms_sell_prices(sku, context, company_prices) for sku in skus]
        vals_list = []
        for sku, sku_sells in zip(skus, sells, strict=True):
            values = self._ms_template_values(sku, context)
            if sku_sells:
                values["list_price"] = min(sku_sells.values())
            values["has_configurable_attributes"] = self._ms_configurable(sku, context)
            # what Odoo takes from the variants, made without: their defaults
            values.update(weight=0.0, volume=0.0)
            vals_list.append(values)
        _add_precomputed_once(model, vals_list, PRODUCT_KIND_FIELDS)
        templates = _create_keeping_given(model, vals_list, GIVEN_TEMPLATE_FIELDS)
        term_attribute = context["records"]["term_attribute"]
        other_lines = templates.filtered(
            lambda template: template.attribute_line_ids.attribute_id - term_attribute
        )
        if other_lines:  # attributes another module added: Odoo's own variant machinery
            other_lines.attribute_line_ids._update_product_template_attribute_values()
            self.env.add_to_compute(model._fields["has_configurable_attributes"], other_lines)
        prices = {
            template.id: (sku_sells, company_prices.get(sku.id, {}))
            for sku, template, sku_sells in zip(skus, templates, sells, strict=True)
        }
        self._ms_create_variants(templates - other_lines, prices, context)
        _skip_image_computations(templates)
        _skip_image_computations(templates.with_context(active_test=False).product_variant_ids)
        for sku, template in zip(skus, templates, strict=True):
            sku.product_tmpl_id = template

    def _ms_create_variants(self, templates, prices, context):
        """One variant per Microsoft Term value of each template, one without values if none.

        :param prices: template id -> (sell prices, company prices) by term plan, see
            ``_ms_sell_prices`` and ``_ms_company_prices``
        """
        term_values = self._ms_create_term_values(templates, prices)
        combinations = {template.id: [] for template in templates}
        for term_value in term_values:
            combinations[term_value.product_tmpl_id.id].append(term_value)
        vals_list = [
            self._ms_variant_values(template, term_value, prices[template.id][1], context)
            for template in templates
            for term_value in combinations[template.id] or [term_values.browse()]
        ]
        # Creating the variants keeps the cached inverse (the term values' variants) of every
        # term value up to date, each time intersecting with all variants of the batch: that
        # grows as the square of the batch. Nothing reads that cache here; unknown, it is read
        # from the database when needed.
        term_values.invalidate_recordset(["ptav_product_variant_ids"])
        # Template values Odoo computes from the variants: the sync gave them already (the
        # code, which a template with several variants keeps, as when Odoo makes them) or they
        # are the variants' defaults (weight, volume).
        kept = [templates._fields[name] for name in ("default_code", "weight", "volume")]
        with self.env.protecting(kept, templates):
            _create_as_copies(
                self.env["product.product"]
                .with_company(templates.company_id[:1])
                .with_context(**NO_CHATTER),
                vals_list,
                VARIANT_VARYING,
                GIVEN_VARIANT_FIELDS,
            )

    def _ms_create_term_values(self, templates, prices):
        """The term values of the templates' Microsoft Term lines, each with its extra price:
        what its term plan sells for over the template's cheapest plan."""
        values_list = []
        for line in templates.attribute_line_ids:
            sells = prices[line.product_tmpl_id.id][0]
            base = min(sells.values()) if sells else 0.0
            for value in line.value_ids:
                plan = value.ms_term_plan
                values_list.append(
                    {
                        "attribute_line_id": line.id,
                        # stored related values, written with the row instead of after it
                        "product_tmpl_id": line.product_tmpl_id.id,
                        "attribute_id": line.attribute_id.id,
                        "product_attribute_value_id": value.id,
                        "price_extra": sells[plan] - base
                        if plan in sells
                        else value.default_extra_price,
                    }
                )
        return _create_as_copies(
            self.env["product.template.attribute.value"],
            values_list,
            TERM_VALUE_VARYING,
            ("product_tmpl_id", "attribute_id"),
        )

    @staticmethod
    def _ms_variant_values(template, term_value, company_prices, context):
        """A new variant of ``template`` for ``term_value`` (empty: the product has no term):
        its code, term plan and billing unit (as ``_compute_ms_term_plan`` gives them) and cost.
        """
        term_plan = term_value.product_attribute_value_id.ms_term_plan or None
        plan = TERM_PLAN_ONE_TIME if template.service_tracking == KIND_PERPETUAL else term_plan
        values = {
            "product_tmpl_id": template.id,
            "active": template.active,
            "product_template_attribute_value_ids": [(6, 0, term_value.ids)],
            "combination_indices": term_value._ids2str(),
            # the SKU code and the term: on order and invoice lines, "[code] name"
            "default_code": variant_code(template.default_code, term_plan),
            "ms_term_plan": plan or False,
            "ms_billing_uom_id": context["records"]["billing_units"].get(plan, False),
        }
        cost = company_prices.get(plan, (None, None))[0]
        if cost is not None:
            values["standard_price"] = cost
        return values

    def _ms_update_products(self, skus, context):
        templates = skus.product_tmpl_id.with_context(lang="en_US", active_test=False)
        by_id = {template.id: template for template in templates}
        updates = []
        for sku in skus:
            template = by_id.get(sku.product_tmpl_id.id)
            if not template:
                continue
            diff = self._ms_diff(template, self._ms_template_values(sku, context, update=True))
            if not template.active:
                diff.update(active=True, ms_kept_in_use=False)
            if diff:
                updates.append((template, diff))
        _write_grouped(updates)
        self._ms_sync_term_values(skus, context)
        return len(updates)

    def _ms_template_values(self, sku, context, update=False):
        """What the sync owns of a product (``update``), and at creation its first values too:
        sales description, unit, category, term attribute. The reseller's changes to those
        (and to image, taxes, sales team, accounts) survive every later sync."""
        values = self.env["product.template"]._ms_product_values(sku, sku.kind)
        if update:
            return values
        values["description_sale"] = sku.description or False
        records = context["records"]
        subscription = sku.kind == KIND_SOFTWARE_SUBSCRIPTION
        unit = records["units"][subscription]
        values.update(
            uom_id=unit.id,
            uom_po_id=unit.id,
            categ_id=records["categories"][subscription].id,
            list_price=0.0,
            company_id=sku.instance_id.company_id.id,
        )
        term_values = self._ms_term_values(sku, context)
        if term_values:
            values["attribute_line_ids"] = [
                (
                    0,
                    0,
                    {
                        "attribute_id": records["term_attribute"].id,
                        "value_ids": [(6, 0, term_values.ids)],
                    },
                )
            ]
        return values

    @staticmethod
    def _ms_term_values(sku, context):
        """The attribute values of the SKU's subscription term plans (none for perpetual)."""
        return sku.term_value_ids

    def _ms_configurable(self, sku, context):
        """``has_configurable_attributes`` of the SKU's new product, as Odoo computes it from the
        Microsoft Term line the sync gives it (several values, or an attribute that makes it so)."""
        values = self._ms_term_values(sku, context)
        attribute = context["records"]["term_attribute"]
        return bool(values) and (
            len(values) >= 2
            or attribute.create_variant == "dynamic"
            or attribute.display_type == "multi"
            or any(values.mapped("is_custom"))
        )

    def _ms_plans(self, sku, context):
        """The term plans of the SKU's product variants."""
        if sku.kind == KIND_PERPETUAL:
            return {TERM_PLAN_ONE_TIME}
        return set(self._ms_term_values(sku, context).mapped("ms_term_plan"))

    def _ms_sell_prices(self, sku, context, company_prices):
        """Term plan -> sell price in the company currency, of the SKU's new variants."""
        plans = self._ms_plans(sku, context)
        return {
            plan: sell
            for plan, (_cost, sell) in company_prices.get(sku.id, {}).items()
            if sell is not None and plan in plans
        }

    def _ms_sync_term_values(self, skus, context):
        """Add variants for term plans Microsoft added; removed plans keep their variants."""
        attribute = context["records"]["term_attribute"]
        on_lines = self._ms_term_line_values(skus.product_tmpl_id, attribute)
        for sku in skus:
            template_id = sku.product_tmpl_id.id
            missing = template_id in on_lines and (
                set(self._ms_term_values(sku, context).ids) - on_lines[template_id]
            )
            if not missing:
                continue
            template = sku.product_tmpl_id.with_context(active_test=False)
            lines = template.attribute_line_ids.filtered(
                lambda term_line: term_line.attribute_id == attribute
            )
            lines.value_ids = [(4, value_id) for value_id in sorted(missing)]
            for variant in template.product_variant_ids:
                code = variant_code(sku.code, variant.ms_term_plan)
                if variant.default_code != code:
                    variant.default_code = code

    def _ms_term_line_values(self, templates, attribute):
        """Template id -> the value ids of its ``attribute`` lines, for the templates that have
        one: a batch's thousands of products read in one query, where comparing them record by
        record was most of a sync that finds no new term."""
        lines = self.env["product.template.attribute.line"]
        line_values = lines._fields["value_ids"]
        lines.flush_model(["product_tmpl_id", "attribute_id", "value_ids"])
        self.env.cr.execute(
            SQL(
                "SELECT line.product_tmpl_id, line_value.%s "
                "FROM product_template_attribute_line line "
                "LEFT JOIN %s line_value ON line_value.%s = line.id "
                "WHERE line.attribute_id = %s AND line.product_tmpl_id = ANY(%s)",
                SQL.identifier(line_values.column2),
                SQL.identifier(line_values.relation),
                SQL.identifier(line_values.column1),
                attribute.id,
                templates.ids,
            )
        )
        values = defaultdict(set)
        for template_id, value_id in self.env.cr.fetchall():
            values[template_id].add(value_id)
        return values

    def _ms_translate(self, skus, entries, context, creating):
        """Names (and, of new products, descriptions) in the catalogue language, where Microsoft
        translates them: a product's sales description is the reseller's once it exists."""
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
            if (
                entry.localized_description
                and sku in creating
                and template.description_sale != entry.localized_description
            ):
                values["description_sale"] = entry.localized_description
            if values:
                template.write(values)

    # --- prices --- #

    def _ms_wanted_prices(self, snapshot, currencies, countries):
        """SKU code -> {(term plan, country id or False, currency id): (cost, sell)}.

        Indexed once per sync, so that a batch looks up its SKUs instead of scanning all prices.
        """
        plan_of = functools.cache(term_plan_key)
        wanted = defaultdict(dict)
        for (code, term, billing, currency), price in snapshot.prices.items():
            plan = plan_of(term, billing)
            if plan and currency in currencies:
                wanted[code][(plan, False, currencies[currency].id)] = (
                    _float(price.cost),
                    _float(price.sell),
                )
        for price in snapshot.country_prices:
            plan = plan_of(price.term_duration, price.billing_plan)
            if plan and price.currency in currencies and price.country in countries:
                key = (plan, countries[price.country].id, currencies[price.currency].id)
                wanted[price.code][key] = (_float(price.cost), _float(price.sell))
        return wanted

    def _ms_upsert_prices(self, instance, run, skus, context, changes, company_prices):
        """Default and per-country prices, pricelist items and variant costs, as diffs."""
        by_id = {sku.id: sku for sku in skus if sku.catalog_status != CATALOG_STATUS_RETIRED}
        wanted = {
            (sku.id, *key): price
            for sku in by_id.values()
            for key, price in context["prices"].get(sku.code, {}).items()
        }
        current = self._ms_current_prices(list(by_id))
        to_create, to_update = [], []
        for key, (cost, sell) in wanted.items():
            price = current.get(key)
            if not price:
                to_create.append((key, cost, sell))
                continue
            price_id, old_cost, old_sell = price
            if not (_same(old_cost, cost) and _same(old_sell, sell)):
                if not key[2]:
                    changes.append(
                        self._ms_change(
                            run,
                            by_id[key[0]],
                            "price",
                            term_plan=key[1],
                            currency_id=key[3],
                            old_cost=old_cost,
                            new_cost=cost,
                            old_price=old_sell,
                            new_price=sell,
                        )
                    )
                to_update.append((price_id, cost, sell))
        self._ms_insert_prices(instance, to_create, context)
        self._ms_update_prices(to_update)
        defaults = {key: value for key, value in wanted.items() if not key[2]}
        variants = self._ms_variants(by_id.values())
        self._ms_upsert_pricelist_items(defaults, variants, context)
        self._ms_upsert_costs(instance, company_prices, variants)
        self._ms_upsert_list_prices(instance, company_prices, variants)

    def _ms_current_prices(self, sku_ids):
        """(sku id, term plan, country id or False, currency id) -> (price id, cost, sell)."""
        self.env["ms.csp.price"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT id, sku_id, term_plan, country_id, currency_id, cost, sell "
                "FROM ms_csp_price WHERE sku_id = ANY(%s)",
                sku_ids,
            )
        )
        return {
            (sku_id, plan, country_id or False, currency_id): (row_id, cost, sell)
            for row_id, sku_id, plan, country_id, currency_id, cost, sell in self.env.cr.fetchall()
        }

    def _ms_insert_prices(self, instance, rows, context):
        """New ``ms.csp.price`` rows in one COPY.

        About a dozen rows per SKU (every country and currency): through the ORM, creating them
        was the largest part of a first sync, and a multi-row INSERT still a tenth of it. The model
        has no stored computed field and nothing reacts to its rows; amounts are rounded as the
        ORM stores a Monetary field.

        :param rows: ((sku id, term plan, country id or False, currency id), cost, sell) triples
        """
        if not rows:
            return
        self.env["ms.csp.price"].check_access("create")
        amount = {
            currency.id: _column_amount(currency) for currency in context["currencies"].values()
        }
        lines = io.StringIO(
            "".join(
                f"{sku_id}\t{instance.id}\t{plan}\t{country_id or NULL}\t{currency_id}\t"
                f"{amount[currency_id](cost)}\t{amount[currency_id](sell)}\n"
                for (sku_id, plan, country_id, currency_id), cost, sell in rows
            )
        )
        # as Odoo's own COPY: no asynchronous wait callback (gevent) while it runs
        callback = psycopg2.extensions.get_wait_callback()
        psycopg2.extensions.set_wait_callback(None)
        try:
            self.env.cr.copy_from(
                lines,
                "ms_csp_price",
                columns=(
                    "sku_id",
                    "instance_id",
                    "term_plan",
                    "country_id",
                    "currency_id",
                    "cost",
                    "sell",
                ),
            )
        finally:
            psycopg2.extensions.set_wait_callback(callback)
        # SKUs whose prices were read before see the new rows
        self.env["ms.csp.sku"].invalidate_model(["price_ids"])

    def _ms_update_prices(self, rows):
        """Changed amounts of existing ``ms.csp.price`` rows in one UPDATE (see the INSERT).

        :param rows: (price id, cost, sell) triples
        """
        if not rows:
            return
        prices = self.env["ms.csp.price"].browse([price_id for price_id, _cost, _sell in rows])
        prices.check_access("write")
        amount = {price.id: _column_amount(price.currency_id) for price in prices}
        self.env.cr.execute_values(
            "UPDATE ms_csp_price SET cost = v.cost, sell = v.sell "
            "FROM (VALUES %s) AS v(id, cost, sell) WHERE ms_csp_price.id = v.id",
            [
                (price_id, amount[price_id](cost), amount[price_id](sell))
                for price_id, cost, sell in rows
            ],
            template="(%s, %s::numeric, %s::numeric)",
            page_size=1000,
        )
        prices.invalidate_recordset(["cost", "sell"])

    def _ms_variants(self, skus):
        """(sku id, term plan) -> product.product, for the SKUs' products."""
        sku_of = {sku.product_tmpl_id.id: sku.id for sku in skus if sku.product_tmpl_id}
        variants = (
            self.env["product.product"]
            .with_context(active_test=False)
            .search_fetch(
                [("product_tmpl_id", "in", list(sku_of))], ["product_tmpl_id", "ms_term_plan"]
            )
        )
        return {
            (sku_of[variant.product_tmpl_id.id], variant.ms_term_plan): variant
            for variant in variants
            if variant.ms_term_plan
        }

    def _ms_upsert_pricelist_items(self, defaults, variants, context):
        pricelists = {p.currency_id.id: p for p in context["pricelists"].values()}
        items = self.env["product.pricelist.item"]
        # one SELECT instead of records: a batch has a few thousand items to compare
        items.check_access("read")
        items.flush_model(["pricelist_id", "product_id", "fixed_price", "ms_synced"])
        self.env.cr.execute(
            SQL(
                "SELECT pricelist_id, product_id, id, fixed_price FROM product_pricelist_item "
                "WHERE ms_synced AND pricelist_id = ANY(%s) AND product_id = ANY(%s)",
                [p.id for p in pricelists.values()],
                [v.id for v in variants.values()],
            )
        )
        current = {
            (pricelist_id, product_id): (item_id, price)
            for pricelist_id, product_id, item_id, price in self.env.cr.fetchall()
        }
        to_create, updates = [], []
        # an item holds prices at the "Product Price" precision: a currency with more decimals
        # (KWD) is compared and stored as the item can hold it, or every sync would rewrite it
        digits = items._fields["fixed_price"].get_digits(self.env)
        for (sku_id, plan, _country, currency_id), (_cost, sell) in defaults.items():
            variant, pricelist = variants.get((sku_id, plan)), pricelists.get(currency_id)
            if not (variant and pricelist) or sell is None:
                continue
            if digits:
                sell = float_round(sell, precision_digits=digits[1])
            item = current.get((pricelist.id, variant.id))  # (id, fixed price)
            if not item:
                to_create.append(
                    {
                        "pricelist_id": pricelist.id,
                        "applied_on": "0_product_variant",
                        "product_tmpl_id": variant.product_tmpl_id.id,
                        "product_id": variant.id,
                        "compute_price": "fixed",
                        "fixed_price": sell,
                        "ms_synced": True,
                    }
                )
            elif not _same(item[1], sell):
                updates.append((items.browse(item[0]), {"fixed_price": sell}))
        _create_as_copies(items, to_create, ITEM_VARYING)
        _write_grouped(updates)

    def _ms_company_rate(self, instance, currencies):
        """The default price currency for the company's own prices, and its rate into it.

        The company currency when it is active on the instance, else the default currency,
        converted as ``currency._convert()`` would, with the rate read once per sync.

        :param currencies: the instance's active currencies by name
        """
        company_currency = instance.company_id.currency_id
        source = instance.default_currency_id or instance.active_currency_ids[:1]
        if company_currency.name in currencies:
            source = company_currency
        rate = source._get_conversion_rate(
            source, company_currency, instance.company_id, fields.Date.context_today(self)
        )
        return source.id, rate

    def _ms_company_prices(self, instance, skus, context):
        """SKU id -> {term plan: (cost, sell)}: the default prices in the company currency, which
        make the variants' costs, the products' sales prices and the terms' extra prices."""
        # currency.round(), without its checks for each of thousands of amounts
        rounded = functools.partial(
            float_round, precision_rounding=instance.company_id.currency_id.rounding
        )
        source_id, rate = context["company_rate"]
        prices = {}
        for sku in skus:
            for (plan, country_id, currency_id), (cost, sell) in (
                context["prices"].get(sku.code, {}).items()
            ):
                if not country_id and currency_id == source_id:
                    prices.setdefault(sku.id, {})[plan] = (
                        None if cost is None else rounded(cost * rate),
                        None if sell is None else rounded(sell * rate),
                    )
        return prices

    def _ms_upsert_list_prices(self, instance, company_prices, variants):
        """Sales prices in the company currency, for quotations without a Microsoft pricelist.

        The template's price is its cheapest term plan; each other plan adds the difference as the
        extra price of its term value.
        """
        currency = instance.company_id.currency_id
        sells = defaultdict(dict)  # template id -> {term plan: sell price in company currency}
        for sku_id, plans in company_prices.items():
            for plan, (_cost, sell) in plans.items():
                variant = variants.get((sku_id, plan))
                if variant and sell is not None:
                    sells[variant.product_tmpl_id.id][plan] = sell
        templates = self.env["product.template"].with_context(**NO_CHATTER).browse(list(sells))
        base = {template_id: min(prices.values()) for template_id, prices in sells.items()}
        updates = [
            (template, {"list_price": base[template.id]})
            for template in templates
            if not currency.is_zero(template.list_price - base[template.id])
        ]
        term_values = self.env["product.template.attribute.value"].search_fetch(
            [
                ("product_tmpl_id", "in", list(sells)),
                ("product_attribute_value_id.ms_term_plan", "!=", False),
            ],
            ["product_tmpl_id", "product_attribute_value_id", "price_extra"],
        )
        for value in term_values:
            template_id = value.product_tmpl_id.id
            plan = value.product_attribute_value_id.ms_term_plan
            if plan in sells[template_id]:
                extra = sells[template_id][plan] - base[template_id]
                if not currency.is_zero(value.price_extra - extra):
                    updates.append((value, {"price_extra": extra}))
        _write_grouped(updates)

    def _ms_upsert_costs(self, instance, company_prices, variants):
        """The variant's cost: its default cost in the company currency (converted if needed)."""
        company = instance.company_id
        company_currency = company.currency_id
        # the cost is not tracked: no chatter work per variant
        costs = (
            self.env["product.product"]
            .with_company(company)
            .with_context(**NO_CHATTER)
            .browse([variant.id for variant in variants.values()])
        )
        by_id = {variant.id: variant for variant in costs}
        updates = []
        for sku_id, plans in company_prices.items():
            for plan, (cost, _sell) in plans.items():
                variant = variants.get((sku_id, plan))
                if not variant or cost is None:
                    continue
                variant = by_id[variant.id]
                if not company_currency.is_zero(variant.standard_price - cost):
                    updates.append((variant, {"standard_price": cost}))
        _write_grouped(updates)

    # --- what a sync leaves --- #

    def _ms_records_digest(self, instance):
        """A digest of every row the sync keeps for ``instance``, as stored (``_ms_tally``)."""
        tally = defaultdict(lambda: [0, 0])
        self._ms_tally(instance, tally, SQL("TRUE"), pricelists=True)
        return _tally_digest(tally)

    def _ms_tally(self, instance, tally, skus_where=None, pricelists=False):
        """Add to ``tally`` (table -> [rows, sum of their hashes]) the rows the sync keeps of
        the instance's SKUs that match ``skus_where`` (a condition on ``ms_csp_sku``; none: no
        SKU), and with ``pricelists`` its pricelists.

        Products, variants, term lines and values, pricelist items, prices and the many2many
        links between them, each row by its stored version (``ctid`` and ``xmin``: any UPDATE,
        even of the same values, makes a new one; a few times cheaper than reading the values):
        a write to any of them, by a person or another module, and a row added or deleted, make
        another tally. Of a SKU, only the values the sync writes count (its quantity limits are
        another cron's), and its status only as sold or not (the sync makes "new" "available"
        without comparing anything). Sums add up: the tallies of a sync's batches, each taken
        in the batch's own transaction, add up to the tally of the whole instance.
        """
        self.env.flush_all()
        of_instance = SQL("ms_instance_id = %s", instance.id)
        parts = [("product_pricelist", of_instance)] if pricelists else []
        if skus_where is not None:
            parts += self._ms_sku_tally_parts(instance, skus_where, of_instance)
        self.env.cr.execute(
            SQL(" UNION ALL ").join(
                SQL(
                    # the exact sum, as text: Odoo reads numeric columns as floats
                    "(SELECT %s, count(*), coalesce(sum(hashtextextended((%s)::text, 0)), 0)::text "
                    "FROM %s t WHERE %s)",
                    table,
                    row[0] if row else SQL("t.ctid::text || t.xmin::text"),
                    SQL.identifier(table),
                    where,
                )
                for table, where, *row in parts
            )
        )
        for table, count, total in self.env.cr.fetchall():
            tally[table][0] += count
            tally[table][1] += int(total)

    def _ms_sku_tally_parts(self, instance, skus_where, of_instance):
        """(table, condition[, row]) of the rows ``_ms_tally`` counts for the SKUs."""
        skus = self.env["ms.csp.sku"]
        lines = self.env["product.template.attribute.line"]
        variants = self.env["product.product"]
        skus_where = SQL("instance_id = %s AND %s", instance.id, skus_where)
        templates = SQL("SELECT product_tmpl_id FROM ms_csp_sku WHERE %s", skus_where)
        of_templates = SQL("product_tmpl_id IN (%s)", templates)
        instance_pricelists = SQL("SELECT id FROM product_pricelist WHERE %s", of_instance)

        def ids(model, condition):
            return SQL("SELECT id FROM %s WHERE %s", SQL.identifier(model._table), condition)

        sku_columns = SQL(", ").join(
            SQL.identifier("t", name)
            for name in SKU_FIELDS
            if skus._fields[name].column_type and name != "catalog_status"
        )
        return [
            (
                skus._table,
                skus_where,
                SQL("ROW(%s, t.catalog_status = %s)", sku_columns, CATALOG_STATUS_RETIRED),
            ),
            *(
                _links_of(skus._fields[name], ids(skus, skus_where))
                for name in SKU_FIELDS
                if skus._fields[name].type == "many2many"
            ),
            ("product_template", SQL("id IN (%s)", templates)),
            (variants._table, of_templates),
            (lines._table, of_templates),
            ("product_template_attribute_value", of_templates),
            _links_of(lines._fields["value_ids"], ids(lines, of_templates)),
            _links_of(
                variants._fields["product_template_attribute_value_ids"],
                ids(variants, of_templates),
            ),
            (
                "product_pricelist_item",
                SQL("pricelist_id IN (%s) AND %s", instance_pricelists, of_templates),
            ),
            ("ms_csp_price", SQL("sku_id IN (%s)", ids(skus, skus_where))),
        ]

    # --- retirement --- #

    def _ms_retire(self, run, skus, changes):
        """Archive the products of SKUs no longer sold, unless in use: those stay, flagged."""
        templates = skus.product_tmpl_id
        in_use = templates._ms_in_use() if templates else templates
        for sku in skus:
            kept = sku.product_tmpl_id and sku.product_tmpl_id in in_use
            changes.append(
                self._ms_change(
                    run, sku, "retired", note=self.env._("Kept: still in use") if kept else False
                )
            )
        (templates - in_use).write({"active": False})
        in_use.write({"ms_kept_in_use": True})


def _links_of(field, owners):
    """(relation table, condition) of the many2many links of ``field`` from ``owners``, a query
    of their ids, for ``_ms_tally``."""
    return field.relation, SQL("%s IN (%s)", SQL.identifier(field.column1), owners)


def _tally_digest(tally):
    """The digest of a tally; tables without a row count as absent (a sync without SKUs)."""
    counted = sorted((table, rows) for table, rows in tally.items() if rows[0])
    return hashlib.sha256(repr(counted).encode()).hexdigest()


def _create_keeping_given(model, vals_list, names):
    """``model.create(vals_list)``, keeping the values given to read-only computed fields.

    Odoo computes the read-only computed (and related) fields of new records even where the
    values give them: a related value written with the row, a product's term plan. The sync
    gives such a value only as Odoo would compute it (the tests compare them with Odoo's own
    computation), so the computation of ``names``, given in every record's values, is left out.
    """
    records = model.create(vals_list)
    for name in names:
        if all(name in vals for vals in vals_list):
            model.env.remove_to_compute(model._fields[name], records)
    return records


def _create_as_copies(model, vals_list, varying, keep=()):
    """``_create_keeping_given(model, vals_list, keep)`` for records made in numbers: the first
    of each kind by the ORM, the others as its copies.

    A first sync makes a SKU and its "new" change line per product, a variant and a term value
    per term and an item per variant and currency; through the ORM, record by record, that was
    the largest part of its time. Records of one kind (the same fields given, the same values
    but ``varying``) differ only in those: the first gets every default, precomputed value and
    check of the ORM, and the ``create`` of the modules that extend the model; the others copy
    its columns in one INSERT with their own ``varying`` values, their own defaults where a
    default may differ from one record to the next (a random colour), and their many2many
    links. Then, as the ORM would after creating them: their stored fields computed from the
    ``varying`` ones are recomputed (in batch; not the given ones of ``keep``), what depends on
    those fields elsewhere is marked, the model's constraints on them and its company checks
    run. The other values are the first record's, whose creation marked what depends on them.

    The ORM makes the others too when copies could miss what it does (see ``_copies_allowed``),
    or when the first record holds other many2many values (a default of another module).

    :param varying: the fields whose values differ between records: stored columns or many2many
    """
    if not _copies_allowed(model, varying):
        return _create_keeping_given(model, vals_list, keep)
    groups = defaultdict(list)
    for vals in vals_list:
        kind = sorted((name, value) for name, value in vals.items() if name not in varying)
        groups[repr((sorted(vals), kind))].append(vals)
    prototypes = _create_keeping_given(model, [group[0] for group in groups.values()], keep)
    fields = model._fields
    links = [field for field in fields.values() if field.store and field.type == "many2many"]
    made, by_orm = {}, []  # id(values) -> record id
    for prototype, group in zip(prototypes, groups.values(), strict=True):
        made[id(group[0])] = prototype.id
        given = {fields[name].relation for name in group[0] if fields[name].type == "many2many"}
        # a many2many on the table of a given one (a variant's values, filtered) is given too
        if any(prototype[field.name] for field in links if field.relation not in given):
            by_orm += group[1:]
        elif group[1:]:
            own = _own_defaults(model, group[0])
            copies = _insert_copies(
                prototype,
                [{**{name: draw() for name, draw in own.items()}, **vals} for vals in group[1:]],
                (*varying, *own),
                keep,
            )
            made.update(zip(map(id, group[1:]), copies.ids, strict=True))
    made.update(zip(map(id, by_orm), _create_keeping_given(model, by_orm, keep).ids, strict=True))
    return model.browse([made[id(vals)] for vals in vals_list])


def _own_defaults(model, vals):
    """The fields missing from ``vals`` whose default may differ from one record to the next (a
    random colour, the time), each with a function of no argument drawing it for one record.

    As ``default_get``: a default the context or ``ir.default`` gives is the same for all, and
    the first record's; a field's own default is drawn for each, converted as it converts it.
    """
    context = model.env.context
    user_defaults = model.env["ir.default"]._get_model_defaults(model._name)
    return {
        name: functools.partial(_draw_default, field, model)
        for name, field in model._fields.items()
        if field.store
        and field.column_type
        and not field.compute
        and name not in vals
        and not constant_default(field)
        and f"default_{name}" not in context
        and name not in user_defaults
    }


def _draw_default(field, model):
    value = field.convert_to_cache(field.default(model), model, validate=False)
    return field.convert_to_write(value, model)


def _copies_allowed(model, varying):
    """Whether copies of ``model``'s records get all the ORM would give them: no ``create`` of
    another module than Odoo's own, product's and mail's (sanitized values, cleared caches) and
    this one's; no chatter to post (a mail thread's, unless the context turns it off); no
    hierarchy to maintain; a parent record of its own for each (``_inherits``)."""
    env = model.env
    return (
        all(
            cls.__module__ == "odoo.models" or cls.__module__.startswith(COPY_SAFE_CREATE)
            for cls in type(model).__mro__
            if "create" in vars(cls) or "_create" in vars(cls)
        )
        and not (
            isinstance(model, env.registry["mail.thread"])
            and not env.context.get("tracking_disable")
        )
        and not model._parent_store
        and all(parent in varying for parent in model._inherits.values())
    )


def _insert_copies(prototype, vals_list, varying, keep):
    """Insert copies of ``prototype``, one per values of ``vals_list``, which give the same
    fields (see ``_create_as_copies``); the new records."""
    model, fields, env = prototype.browse(), prototype._fields, prototype.env
    # the other values equal the prototype's (see the groups), its columns hold them
    given = [name for name in varying if name in vals_list[0]]
    columns = [name for name in given if fields[name].column_type]
    links = [name for name in given if fields[name].type == "many2many"]
    copied = [
        name
        for name, field in fields.items()
        if field.store and field.column_type and name != "id" and name not in columns
    ]
    model.check_access("create")
    model.flush_model()
    table = SQL.identifier(model._table)
    env.cr.execute(
        SQL(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            model._table,
            len(vals_list),
        )
    )
    ids = [row[0] for row in env.cr.fetchall()]
    query = SQL(
        "INSERT INTO %s (%s) SELECT %s FROM (VALUES %%s) AS v(%s) JOIN %s p ON p.id = v.prototype",
        table,
        SQL(", ").join(SQL.identifier(name) for name in ("id", *columns, *copied)),
        SQL(", ").join(
            [
                *(SQL.identifier("v", name) for name in ("id", *columns)),
                *(SQL.identifier("p", name) for name in copied),
            ]
        ),
        SQL(", ").join(SQL.identifier(name) for name in ("id", "prototype", *columns)),
        table,
    )
    casts = "".join(f", %s::{fields[name].column_type[1]}" for name in columns)
    converters = [_column_converter(fields[name], prototype) for name in columns]
    env.cr.execute_values(
        query.code,
        [
            (
                record_id,
                prototype.id,
                *(
                    convert(vals[name], vals)
                    for name, convert in zip(columns, converters, strict=True)
                ),
            )
            for record_id, vals in zip(ids, vals_list, strict=True)
        ],
        template=f"(%s, %s{casts})",
        page_size=1000,
    )
    for name in links:
        field = fields[name]
        env.cr.execute_values(
            SQL(
                "INSERT INTO %s (%s, %s) VALUES %%s ON CONFLICT DO NOTHING",
                SQL.identifier(field.relation),
                SQL.identifier(field.column1),
                SQL.identifier(field.column2),
            ).code,
            [
                (record_id, target)
                for record_id, vals in zip(ids, vals_list, strict=True)
                for target in _linked_ids(vals[name])
            ],
            page_size=1000,
        )
    records = model.browse(ids)
    # what depends on the given fields, on the copies (their stored computed fields) and elsewhere
    records.modified(given, create=True)
    for name in keep:  # given in every record's values, as Odoo computes them
        if name in given:
            env.remove_to_compute(fields[name], records)
    for field in fields.values():  # the other side of their relations does not list them yet
        if field.store and field.type in ("many2one", "many2many"):
            for inverse in model.pool.field_inverses[field]:
                env[inverse.model_name].invalidate_model([inverse.name])
    if model._name == "product.product":
        # as product's create: the variant of a combination is cached (_get_variant_id_for_...)
        env.registry.clear_cache()
    records._validate_fields(given)
    if model._check_company_auto:
        _check_companies(records, given)
    return records


def _check_companies(records, names):
    """``records._check_company(names)``, with one query per company and field over all the
    records' values instead of a domain filter per record (thousands of pricelist items); when
    one fails, the ORM's own check says which records."""
    fields = records._fields
    checked = [
        name
        for name in names
        if fields[name].relational
        and fields[name].check_company
        and not fields[name].company_dependent
    ]
    if {"company_id", "company_ids"} & set(names) or "company_id" not in fields:
        records._check_company(names)
        return
    by_company = defaultdict(list)
    for record in records:
        by_company[record.company_id].append(record.id)
    for company, ids in by_company.items():
        group = records.browse(ids)
        for name in checked:
            values = group.sudo().mapped(name).with_context(active_test=False)
            domain = values and values._check_company_domain(company)
            if domain and len(values) != values.search_count([("id", "in", values.ids), *domain]):
                group._check_company([name])


def _column_converter(field, record):
    """``field.convert_to_column_insert`` for copies of ``record``, once per distinct value (a
    monetary amount's column depends on its currency, given with the values: each time)."""
    if field.type == "monetary":
        return lambda value, vals: field.convert_to_column_insert(value, record, vals)
    # keyed by type too: False, 0 and 0.0 are equal keys, but not the same cell of a text column
    convert = functools.cache(lambda _type, value: field.convert_to_column_insert(value, record))
    return lambda value, vals: convert(type(value), value)


def _linked_ids(commands):
    """The ids a many2many value of ``create`` links: ids, ``(6, 0, ids)`` or ``(4, id)``."""
    ids = []
    for command in commands:
        if isinstance(command, int):
            ids.append(command)
        elif command[0] == 6:
            ids += command[2]
        elif command[0] == 4:
            ids.append(command[1])
        else:
            raise ValueError(f"unsupported many2many command for a copy: {command!r}")
    return ids


def _skip_image_computations(records):
    """Leave uncomputed what new ``records``, made without an image, would derive from one.

    Odoo computes the resized copies of a new product's image and whether it can be zoomed,
    from an image that is not there: for thousands of new products, a tenth of a first sync. The
    stored fields computed from the record's own images only are taken off the computations;
    they read as empty, which is what they would hold.
    """
    for field in records._fields.values():
        depends = records.pool.field_depends.get(field)
        if (
            field.store
            and field.compute
            and depends
            and all("." not in path and records._fields[path].type == "binary" for path in depends)
        ):
            records.env.remove_to_compute(field, records)


def _add_precomputed_once(model, vals_list, keys):
    """Fill the precomputed fields of ``vals_list``, computed once per distinct ``keys`` values.

    Odoo computes a precomputed field on a draft record for each created record. For records
    whose precomputed values depend only on ``keys`` (a Microsoft product's: what makes its kind,
    see ``PRODUCT_KIND_FIELDS``), the draft of the first record with given ``keys`` values gives
    those of the others.
    """
    names = [
        name
        for name, field in model._fields.items()
        if field.store and field.compute and field.precompute
    ]
    computed = {}
    for vals in vals_list:
        missing = tuple(name for name in names if name not in vals)
        if not missing:
            continue
        key = (missing, *(vals.get(name) for name in keys))
        if key not in computed:
            draft = model.new(
                {
                    name: value
                    for name, value in vals.items()
                    if not model._fields[name].relational or model._fields[name].type == "many2one"
                }
            )
            computed[key] = {
                name: model._fields[name].convert_to_write(draft[name], draft) for name in missing
            }
        vals.update(computed[key])


def _write_grouped(updates):
    """Apply (record, values) pairs with one ``write`` per model and distinct values."""
    groups = {}
    for record, values in updates:
        key = (record._name, repr(sorted(values.items())))
        groups.setdefault(key, (record, values, []))[2].append(record.id)
    for record, values, ids in groups.values():
        record.browse(ids).write(values)


def _column_amount(currency):
    """How the ORM writes an amount in ``currency`` to a Monetary column: rounded, as text."""
    rounding, digits = currency.rounding, currency.decimal_places
    return lambda value: float_repr(float_round(value or 0.0, precision_rounding=rounding), digits)


def _float(value):
    return float(value) if value is not None else None


def _same(current, new):
    """Whether a stored amount holds ``new``; both are rounded to their currency already (the
    snapshot rounds every price), so only float noise may differ."""
    if new is None:
        return not current
    return math.isclose(current or 0.0, new, rel_tol=1e-12, abs_tol=1e-9)
