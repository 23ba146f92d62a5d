"""Benchmark of "Get Services Definition" against Odoo's standard importer.

Against the Partner Center simulator (5,000 SKUs by default) with an instance selling in 5
countries (US, GB, DE, FR, GR) in 3 active currencies (USD, EUR, and ILS, which those markets do
not price in: converted from USD with a conversion rate), it times, in a throwaway database with
``ms_catalogue_sync`` and ``ms_csp_simulator`` (the simulator environment) installed, no demo data:

- the first sync, which creates everything, split into reading Partner Center and writing;
- a second sync that finds nothing new, and checks that it wrote no ``product.template``,
  ``product.product``, ``product.pricelist.item`` or ``ms.csp.price`` row (none created, updated
  or deleted: each row's stored version is compared). Microsoft's data, the instance's settings
  and the synced records all being as the first sync left them, it parses no price sheet;
- for comparison, no target: a third sync after one pricelist item was changed by hand, which
  reads and compares everything (and repairs that item, the one row it writes);

then, in a copy of the fresh database, Odoo's standard importer (``load()``, one call per model as
the import dialog makes it, each committed) on what an administrator would import by hand to get
the same result: the products (templates with their Microsoft Term values, hence the same
variants) and the pricelist items (one per variant and currency). Records are referenced by
external id (categories, units, term values) or database id (pricelists, products of the items),
the cheapest references for ``load()``: the importer is timed at its fastest. SKUs, per-country
prices and variant costs, which the sync also writes, are not imported.

    python3 benchmarks/catalogue_sync.py [--skus 5000] [--keep]

Targets (on a quiet machine: the load average is printed): first sync <= 0.15 x the importer's
time (aim 0.1); the no-change sync writes none of those rows and takes <= 0.03 x the importer's
time (aim 0.02). The exit status is 1 when a target fails, 2 when the
benchmark could not run. The set-up is the project's (``scripts/devenv.py``); the measurement
runs inside Odoo in the suite's virtual environment (this script again, with ``--inside``). The
simulator runs in a process of its own, as Partner Center is remote: its CPU time is not Odoo's;
and it renders its price sheets before the clock starts, as Partner Center serves them as files.
"""

import argparse
import contextlib
import multiprocessing
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import devenv  # noqa: E402 - the project's set-up, found through the path above

MODULES = "ms_catalogue_sync,ms_csp_simulator"  # the simulator environment is the demo addon's
SYNC_DATABASE = "mscsp_bench_sync"
LOAD_DATABASE = "mscsp_bench_load"
HTTP_PORT = 8369  # never served: the measurement opens the registry without HTTP
COUNTRIES = ("US", "GB", "DE", "FR", "GR")
CURRENCIES = ("USD", "EUR", "ILS")
ILS_PER_USD = 3.7
FIRST_SYNC_TARGET = 0.15
SECOND_SYNC_TARGET = 0.03
UNTOUCHED_TABLES = ("product_template", "product_product", "product_pricelist_item", "ms_csp_price")
TEMPLATE_IMPORT_FIELDS = [
    "name",
    "default_code",
    "type",
    "service_tracking",
    "categ_id/id",
    "uom_id/id",
    "uom_po_id/id",
    "sale_ok",
    "purchase_ok",
    "list_price",
    "description_sale",
    "company_id/id",
    "attribute_line_ids/attribute_id/id",
    "attribute_line_ids/value_ids/id",
]
ITEM_IMPORT_FIELDS = [
    "pricelist_id/.id",
    "applied_on",
    "product_tmpl_id/.id",
    "product_id/.id",
    "compute_price",
    "fixed_price",
    "ms_synced",
]


class BenchmarkError(RuntimeError):
    """The benchmark could not measure what it should; the message says why."""


# === RESULTS === #


@dataclass
class SyncTiming:
    seconds: float
    fetch_seconds: float
    unchanged: bool  # Microsoft's data and the records found as the last sync left them

    @property
    def apply_seconds(self):
        return self.seconds - self.fetch_seconds

    def describe(self):
        what = "nothing compared: unchanged" if self.unchanged else "everything compared"
        return (
            f"{self.seconds:7.2f} s  (read Partner Center {self.fetch_seconds:.2f} s, "
            f"write Odoo {self.apply_seconds:.2f} s; {what})"
        )


@dataclass
class ImportTiming:
    seconds: dict = field(default_factory=dict)  # model -> seconds
    rows: dict = field(default_factory=dict)  # model -> rows given to load()
    created: dict = field(default_factory=dict)  # what the import made -> count

    @property
    def total(self):
        return sum(self.seconds.values())


# === ORCHESTRATION (the machine's python3, standard library only) === #


def run_benchmark(args):
    """Set up the project, make the throwaway databases, measure inside Odoo, clean up."""
    odoo_src, reason = devenv.setup()
    if not odoo_src:
        raise devenv.SetupError(f"the benchmark needs Odoo 18.0: {reason}")
    pg = devenv.Postgres()
    try:
        pg.start()
        conf = devenv.write_odoo_conf(odoo_src, pg, devenv.free_port(HTTP_PORT))
        create_databases(pg, conf)
        devenv.banner(f"Measuring ({args.skus:,} simulator SKUs)")
        inside = [
            devenv.venv_python(),
            Path(__file__).resolve(),
            "--inside",
            conf,
            "--skus",
            args.skus,
        ]
        return devenv.run(inside, check=False, cwd=ROOT).returncode
    finally:
        if args.keep:
            devenv.say(f"kept the databases {SYNC_DATABASE} and {LOAD_DATABASE}")
        else:
            for database in (SYNC_DATABASE, LOAD_DATABASE):
                with contextlib.suppress(Exception):
                    pg.drop_database(database)
        stop_cluster_if_unused(pg)


def create_databases(pg, conf):
    """A fresh database with the module and no demo data, and a copy of it for the importer."""
    for database in (SYNC_DATABASE, LOAD_DATABASE):
        pg.drop_database(database)
    devenv.banner(f"Creating {SYNC_DATABASE} with {MODULES} (no demo data)")
    devenv.run(
        devenv.odoo_cmd(
            conf,
            "-d",
            SYNC_DATABASE,
            "-i",
            MODULES,
            "--without-demo=all",
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
        )
    )
    pg.psql_value("postgres", f'CREATE DATABASE "{LOAD_DATABASE}" TEMPLATE "{SYNC_DATABASE}"')


def stop_cluster_if_unused(pg):
    """Stop the embedded cluster if this run started it and no other database is in use."""
    if not pg.started_here:
        return
    others = pg.psql_value(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE datname "
        "IS NOT NULL AND pid <> pg_backend_pid()",
    )
    if others:
        devenv.say(f"PostgreSQL left running: {others} other connection(s) use it")
        pg.started_here = False
        return
    pg.stop()


# === MEASUREMENT (inside Odoo, in the suite's virtual environment) === #


def measure(conf, sku_count):
    import odoo

    odoo.tools.config.parse_config(
        ["-c", str(conf), "--no-http", "--log-level=warn"], setup_logging=True
    )
    with simulator_process(sku_count) as simulator:
        sync_registry = odoo.modules.registry.Registry(SYNC_DATABASE)
        instance_id = configure_instance(sync_registry, simulator)
        first = timed_sync(sync_registry, instance_id)
        counts = synced_counts(sync_registry, instance_id)
        mark, versions = database_now(sync_registry), row_versions(sync_registry)
        second = timed_sync(sync_registry, instance_id)
        written = rows_written(sync_registry, versions)
        sku_written = sku_rows_written_since(sync_registry, mark)
        change_one_item_by_hand(sync_registry, instance_id)
        versions = row_versions(sync_registry)
        third = timed_sync(sync_registry, instance_id)
        repaired = rows_written(sync_registry, versions)
    importer = timed_import(
        odoo.modules.registry.Registry(LOAD_DATABASE), *import_rows(sync_registry, instance_id)
    )
    return report(
        sku_count, first, (second, written, sku_written), (third, repaired), counts, importer
    )


def _serve_simulator(sku_count, connection):
    """The simulator's own process: start, say where, serve until told to stop."""
    from partner_center.simulator import Simulator, SimulatorSettings

    simulator = Simulator(
        SimulatorSettings(seed=1, sku_count=sku_count, order_complete_delay=0, fulfilment_delay=0)
    ).start()
    try:
        simulator.prerender_price_sheets(COUNTRIES)
        connection.send(
            {
                name: getattr(simulator, name)
                for name in (
                    "base_url",
                    "ca_file",
                    "partner_tenant_id",
                    "client_id",
                    "client_secret",
                    "initial_refresh_token",
                )
            }
        )
        connection.recv()
    finally:
        simulator.stop()


@contextlib.contextmanager
def simulator_process(sku_count):
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve_simulator, args=(sku_count, theirs), daemon=True)
    process.start()
    try:
        if not ours.poll(120):
            raise BenchmarkError("the simulator did not start within 120 s")
        yield ours.recv()
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        process.join(15)
        if process.is_alive():
            process.terminate()


@contextlib.contextmanager
def environment(registry):
    """A superuser environment on a new cursor, committed at the end (as a request would be)."""
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


def configure_instance(registry, simulator):
    """The instance under test: 5 countries, USD, EUR and ILS (converted from USD)."""
    with environment(registry) as env:
        currencies = (
            env["res.currency"].with_context(active_test=False).search([("name", "in", CURRENCIES)])
        )
        currencies.active = True
        by_name = {currency.name: currency for currency in currencies}
        env["ms.csp.conversion.rate"].create(
            {
                "currency_id": by_name["ILS"].id,
                "base_currency_id": by_name["USD"].id,
                "rate": ILS_PER_USD,
                "date": "2020-01-01",
            }
        )
        instance = env["ms.csp.instance"].create(
            {
                "name": "Benchmark",
                "environment": "simulator",
                "simulator_url": simulator["base_url"],
                "simulator_ca_file": simulator["ca_file"],
                "partner_tenant_id": simulator["partner_tenant_id"],
                "client_id": simulator["client_id"],
                "client_secret": simulator["client_secret"],
                "refresh_token": simulator["initial_refresh_token"],
                "country_ids": [(6, 0, env["res.country"].search([("code", "in", COUNTRIES)]).ids)],
                "active_currency_ids": [(6, 0, currencies.ids)],
                "default_currency_id": by_name["USD"].id,
            }
        )
        return instance.id


def timed_sync(registry, instance_id):
    """One Get Services Definition in a new environment (as a cron worker would run it)."""
    from odoo.addons.ms_catalogue_sync.models import ms_csp_instance

    original = ms_csp_instance.fetch_snapshot
    fetch_seconds, snapshots = [], []

    def timed_fetch(*args, **kwargs):
        started = time.perf_counter()
        try:
            snapshots.append(original(*args, **kwargs))
            return snapshots[-1]
        finally:
            fetch_seconds.append(time.perf_counter() - started)

    with environment(registry) as env, patch.object(ms_csp_instance, "fetch_snapshot", timed_fetch):
        started = time.perf_counter()
        run = env["ms.csp.instance"].browse(instance_id)._ms_get_services_definition()
        seconds = time.perf_counter() - started
        if run.state != "done":
            raise BenchmarkError(f"the sync failed: {run.error_message}")
    return SyncTiming(seconds, sum(fetch_seconds), snapshots == [None])


SYNCED_COUNTS = {
    "SKUs": "SELECT count(*) FROM ms_csp_sku WHERE instance_id = %(instance)s",
    "product templates": "SELECT count(*) FROM product_template WHERE ms_instance_id = "
    "%(instance)s",
    "variants": "SELECT count(*) FROM product_product p JOIN product_template t "
    "ON t.id = p.product_tmpl_id WHERE t.ms_instance_id = %(instance)s",
    "pricelist items": "SELECT count(*) FROM product_pricelist_item i JOIN product_pricelist p "
    "ON p.id = i.pricelist_id WHERE p.ms_instance_id = %(instance)s",
    "prices (ms.csp.price)": "SELECT count(*) FROM ms_csp_price WHERE instance_id = "
    "%(instance)s",
}


def change_one_item_by_hand(registry, instance_id):
    """What a pricelist manager might do: change the price of one synced pricelist item."""
    with environment(registry) as env:
        item = env["product.pricelist.item"].search(
            [("pricelist_id.ms_instance_id", "=", instance_id), ("ms_synced", "=", True)],
            limit=1,
        )
        item.fixed_price += 1


def synced_counts(registry, instance_id):
    with environment(registry) as env:
        counts = {}
        for label, query in SYNCED_COUNTS.items():
            env.cr.execute(query, {"instance": instance_id})
            counts[label] = env.cr.fetchone()[0]
        return counts


def database_now(registry):
    with environment(registry) as env:
        env.cr.execute("SELECT now() AT TIME ZONE 'UTC'")
        return env.cr.fetchone()[0]


def row_versions(registry):
    """Table -> {id: the row's stored version} for ``UNTOUCHED_TABLES``.

    Any UPDATE gives a row a new version (a new place, ``ctid``, stamped with its transaction,
    ``xmin``), whether or not its values change; ``ms_csp_price`` has no ``write_date``.
    """
    with environment(registry) as env:
        versions = {}
        for table in UNTOUCHED_TABLES:
            env.cr.execute(f"SELECT id, ctid::text || ':' || xmin::text FROM {table}")  # noqa: S608
            versions[table] = dict(env.cr.fetchall())
        return versions


def rows_written(registry, before):
    """Rows of ``UNTOUCHED_TABLES`` created, updated or deleted since ``before`` was read."""
    after = row_versions(registry)
    return {
        table: sum(
            1
            for row_id in before[table].keys() | after[table].keys()
            if before[table].get(row_id) != after[table].get(row_id)
        )
        for table in UNTOUCHED_TABLES
    }


def sku_rows_written_since(registry, mark):
    """SKUs created or written after ``mark`` (Odoo stamps both)."""
    with environment(registry) as env:
        env.cr.execute(
            "SELECT count(*) FROM ms_csp_sku WHERE write_date > %s OR create_date > %s",
            (mark, mark),
        )
        return env.cr.fetchone()[0]


# --- the importer --- #


def import_rows(registry, instance_id):
    """What an administrator would import to get the synced products and pricelist items.

    :return: (synced template ids, their rows for ``TEMPLATE_IMPORT_FIELDS``, pricelist items as
              (currency, synced template id, term plan, price))
    """
    with environment(registry) as env:
        templates = (
            env["product.template"]
            .with_context(active_test=False)
            .search([("ms_instance_id", "=", instance_id)], order="id")
        )
        xmlids = {}
        for records in (
            templates.categ_id,
            templates.uom_id | templates.uom_po_id,
            templates.company_id,
            templates.attribute_line_ids.attribute_id,
            templates.attribute_line_ids.value_ids,
        ):
            xmlids.update(
                {(records._name, rid): xid for rid, xid in records.get_external_id().items()}
            )
        template_rows = [_template_row(template, xmlids) for template in templates]
        items = env["product.pricelist.item"].search(
            [("pricelist_id.ms_instance_id", "=", instance_id), ("ms_synced", "=", True)]
        )
        item_rows = [
            (
                item.pricelist_id.currency_id.name,
                item.product_tmpl_id.id,
                item.product_id.ms_term_plan,
                item.fixed_price,
            )
            for item in items
        ]
        return templates.ids, template_rows, item_rows


def _template_row(template, xmlids):
    """The import row of a synced product; its code is the SKU's, as the sync gives it."""
    line = template.attribute_line_ids[:1]
    return [
        template.name,
        template.ms_sku_id.code,
        template.type,
        template.service_tracking,
        xmlids[("product.category", template.categ_id.id)],
        xmlids[("uom.uom", template.uom_id.id)],
        xmlids[("uom.uom", template.uom_po_id.id)],
        str(int(template.sale_ok)),
        str(int(template.purchase_ok)),
        str(template.list_price),
        template.description_sale or "",
        xmlids[("res.company", template.company_id.id)],
        xmlids[("product.attribute", line.attribute_id.id)] if line else "",
        ",".join(xmlids[("product.attribute.value", value.id)] for value in line.value_ids),
    ]


def timed_import(registry, synced_template_ids, template_rows, item_rows):
    """``load()`` the products, then their pricelist items, each call committed."""
    timing = ImportTiming()
    pricelists = create_import_pricelists(registry)
    template_ids = _timed_load(
        registry, timing, "product.template", TEMPLATE_IMPORT_FIELDS, template_rows
    )
    with environment(registry) as env:
        # load() answers the ids in the order of the rows: the synced template's import
        imported = dict(zip(synced_template_ids, template_ids, strict=True))
        variants = _variants_by_plan(env["product.template"].browse(template_ids))
        timing.created["templates"] = len(template_ids)
        timing.created["variants"] = len(variants)
        rows = [
            [
                str(pricelists[currency]),
                "0_product_variant",
                str(imported[template_id]),
                str(variants[imported[template_id], plan]),
                "fixed",
                str(price),
                "1",
            ]
            for currency, template_id, plan, price in item_rows
        ]
    ids = _timed_load(registry, timing, "product.pricelist.item", ITEM_IMPORT_FIELDS, rows)
    timing.created["pricelist items"] = len(ids)
    return timing


def _timed_load(registry, timing, model, fields, rows):
    """One ``load()`` in its own committed transaction, timed into ``timing``; the new ids."""
    with environment(registry) as env:
        started = time.perf_counter()
        ids = _load(env, model, fields, rows)
        env.cr.commit()
        timing.seconds[model] = time.perf_counter() - started
        timing.rows[model] = len(rows)
    return ids


def create_import_pricelists(registry):
    """The administrator's three pricelists, made before the import: currency -> id."""
    with environment(registry) as env:
        currencies = (
            env["res.currency"].with_context(active_test=False).search([("name", "in", CURRENCIES)])
        )
        currencies.active = True
        return {
            currency.name: env["product.pricelist"]
            .create({"name": f"Microsoft ({currency.name})", "currency_id": currency.id})
            .id
            for currency in currencies
        }


def _load(env, model, fields, rows):
    """The import dialog's call: ``load()`` with its context; fails on any error message."""
    result = env[model].with_context(import_file=True).load(fields, rows)
    errors = [message for message in result["messages"] if message.get("type") == "error"]
    if errors or not result["ids"]:
        raise BenchmarkError(f"importing {model} failed: {errors[:3]}")
    return result["ids"]


def _variants_by_plan(templates):
    """(template id, term plan) -> variant id, for the imported templates."""
    by_plan = {}
    for variant in templates.product_variant_ids:
        plans = variant.product_template_attribute_value_ids.product_attribute_value_id.mapped(
            "ms_term_plan"
        )
        by_plan[variant.product_tmpl_id.id, plans[0] if plans else "one_time"] = variant.id
    return by_plan


# --- report --- #


def report(sku_count, first, no_change, after_edit, counts, importer):
    """Print the figures and the verdict on each target; the exit status."""
    second, written, sku_written = no_change
    third, repaired = after_edit
    print(
        f"\nCatalogue sync: {sku_count:,} simulator SKUs, countries {' '.join(COUNTRIES)}, "
        f"currencies {' '.join(CURRENCIES)} (ILS = USD x {ILS_PER_USD}); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"  first sync      {first.describe()}")
    print("    " + ", ".join(f"{count:,} {label}" for label, count in counts.items()))
    print(f"  no-change sync  {second.describe()}")
    print(
        "    rows written: "
        + ", ".join(f"{table} {count}" for table, count in written.items())
        + f"; ms_csp_sku {sku_written} (their status goes from new to available)"
    )
    print(f"  after one pricelist item changed by hand (no target)  {third.describe()}")
    print("    rows written: " + ", ".join(f"{table} {n}" for table, n in repaired.items()))
    print(f"Odoo's importer (load(), one call per model, committed): {importer.total:.2f} s")
    for model, seconds in importer.seconds.items():
        print(f"  {model:24} {importer.rows[model]:>7,} rows  {seconds:7.2f} s")
    print("    made " + ", ".join(f"{count:,} {what}" for what, count in importer.created.items()))
    return verdict(first, second, written, importer.total)


def verdict(first, second, written, importer_seconds):
    """PASS or FAIL per target, then overall; the exit status."""
    checks = [
        (
            f"first sync <= {FIRST_SYNC_TARGET} x importer",
            first.seconds,
            FIRST_SYNC_TARGET * importer_seconds,
        ),
        (
            f"no-change sync <= {SECOND_SYNC_TARGET} x importer",
            second.seconds,
            SECOND_SYNC_TARGET * importer_seconds,
        ),
    ]
    print("Targets:")
    passed = True
    for label, seconds, limit in checks:
        ok = seconds <= limit
        passed &= ok
        print(
            f"  {label:34} {seconds:7.2f} s vs {limit:6.2f} s  "
            f"(ratio {seconds / importer_seconds:.3f})  {'PASS' if ok else 'FAIL'}"
        )
    untouched = not any(written.values())
    passed &= untouched
    print(
        f"  {'no-change sync writes no row':34} {sum(written.values()):>7} rows"
        f"{'':27}{'PASS' if untouched else 'FAIL'}"
    )
    print(f"RESULT: {'PASS' if passed else 'FAIL'}", flush=True)
    return 0 if passed else 1


# === ENTRY POINT === #


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5000, help="simulator SKUs (at most 5,000)")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--inside", metavar="ODOO_CONF", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ["TZ"] = "UTC"  # what odoo-bin sets before importing Odoo
    try:
        if args.inside:
            return measure(args.inside, args.skus)
        return run_benchmark(args)
    except (BenchmarkError, devenv.SetupError, subprocess.CalledProcessError) as error:
        print(f"ERROR: {error}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
