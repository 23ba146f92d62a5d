import contextlib
import logging

from psycopg2 import errors

from odoo import api, fields, models

from .ms_csp_sku import TERM_PLAN_SELECTION

_logger = logging.getLogger(__name__)

SYNC_LOCK_NAMESPACE = 7_261_001  # pg advisory lock: one sync per instance at a time


class MsCspSyncRun(models.Model):
    """One "Get Services Definition" of an instance: what it did and what it changed."""

    _name = "ms.csp.sync.run"
    _description = "Microsoft Catalogue Sync Run"
    _order = "date_start desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    instance_id = fields.Many2one("ms.csp.instance", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="instance_id.company_id", store=True)
    state = fields.Selection(
        [("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        required=True,
        default="queued",
        index=True,
    )
    trigger = fields.Selection([("manual", "Button"), ("cron", "Scheduled")], default="manual")
    requested_by_id = fields.Many2one("res.users", string="Requested by", readonly=True)
    date_start = fields.Datetime(required=True, default=fields.Datetime.now)
    date_end = fields.Datetime()
    duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 1))
    sku_total = fields.Integer(string="SKUs")
    sku_done = fields.Integer(string="SKUs processed")
    progress = fields.Float(compute="_compute_progress")
    new_count = fields.Integer(string="New SKUs")
    retired_count = fields.Integer(string="Retired SKUs")
    price_change_count = fields.Integer(string="Price changes")
    product_created_count = fields.Integer(string="Products created")
    product_updated_count = fields.Integer(string="Products updated")
    skipped_row_count = fields.Integer(
        string="Malformed rows skipped",
        help="Price-sheet rows that could not be read, in currencies the instance does not use: "
        "skipped, and listed in the log. A malformed row the instance uses fails the sync.",
    )
    error_message = fields.Text()
    log = fields.Text()
    change_ids = fields.One2many("ms.csp.sync.change", "run_id", string="Updated products")

    @api.depends("instance_id.name", "date_start")
    def _compute_name(self):
        for run in self:
            run.name = f"{run.instance_id.name} {fields.Datetime.to_string(run.date_start)}"

    @api.depends("sku_total", "sku_done")
    def _compute_progress(self):
        for run in self:
            run.progress = 100.0 * run.sku_done / run.sku_total if run.sku_total else 0.0

    # === THE WORKER === #

    @api.model
    def _ms_cron_sync_worker(self, commit=True):
        """One queued sync per callback; Odoo's cron calls again while others wait.

        :param commit: commit each step (the cron); tests pass ``False``
        """
        self._ms_close_interrupted(commit)
        with self._ms_claim_next() as run:
            if run:
                run.instance_id.sudo()._ms_sync_run(run, commit)
        remaining = self.search_count([("state", "=", "queued")])
        self.env["ir.cron"]._notify_progress(done=len(run), remaining=remaining)
        if remaining and not run:
            # every waiting run's instance is being synced: look again in a minute
            cron = self.env.ref("ms_catalogue_sync.cron_ms_csp_sync_worker")
            cron._trigger(at=fields.Datetime.add(fields.Datetime.now(), minutes=1))

    @api.model
    def _ms_close_interrupted(self, commit):
        """Runs left "running" by a worker that died: their instance is free, so they failed."""
        for run in self.search([("state", "=", "running")]):
            with run._ms_claimed(states=("running",)) as interrupted:
                if interrupted:
                    run._ms_interrupted()
                    if commit:
                        self.env.cr.commit()  # pylint: disable=invalid-commit

    def _ms_interrupted(self):
        self.write(
            {
                "state": "failed",
                "date_end": fields.Datetime.now(),
                "error_message": self.env._(
                    "Interrupted; the batches written are complete. Run Get Services "
                    "Definition again to finish."
                ),
            }
        )
        self.instance_id.filtered(lambda instance: instance.last_sync_state == "running").write(
            {"last_sync_state": "failed"}
        )

    @contextlib.contextmanager
    def _ms_claim_next(self):
        """The oldest queued run whose instance no one else syncs, held until the block ends."""
        for run in self.search([("state", "=", "queued")], order="id"):
            with run._ms_claimed() as claimed:
                if claimed:
                    yield run
                    return
        yield self.browse()

    @contextlib.contextmanager
    def _ms_claimed(self, states=("queued",)):
        """Hold this run's instance for a sync: yields whether the run (in ``states``) is ours.

        The lock is a transaction-level advisory lock on a cursor of its own, never committed:
        it ends with the block, or with the connection if the worker dies, so no crash can leave
        an instance locked (ir.cron locks its jobs the same way). The run's own row is then
        locked in the worker's transaction to see it as it is now: a run another worker just
        finished is not run again.
        """
        self.ensure_one()
        with self.env.registry.cursor() as lock_cr:
            lock_cr.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)",
                (SYNC_LOCK_NAMESPACE, self.instance_id.id),
            )
            if not lock_cr.fetchone()[0]:
                yield False
                return
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(
                        "SELECT state FROM ms_csp_sync_run WHERE id = %s "
                        "FOR NO KEY UPDATE SKIP LOCKED",
                        (self.id,),
                    )
                    row = self.env.cr.fetchone()
            except errors.SerializationFailure:
                row = None  # changed by a worker since this transaction began
            self.invalidate_recordset(["state"])
            yield bool(row and row[0] in states)

    def _ms_notify_requester(self):
        """Tell the person who pressed the button how the sync ended (a notification)."""
        self.ensure_one()
        if not self.requested_by_id or self.trigger != "manual":
            return
        kind = "success" if self.state == "done" else "danger"
        self.requested_by_id._bus_send(
            "simple_notification",
            {
                "type": kind,
                "sticky": kind == "danger",
                "title": self.env._("Get Services Definition: %s", self.instance_id.name),
                "message": self.error_message or (self.log or "").strip().splitlines()[-1:][0],
            },
        )

    def _ms_log_skipped_rows(self, skipped_rows, listed=20):
        """Count the malformed rows a snapshot skipped and list them (the first ``listed``)."""
        self.ensure_one()
        if not skipped_rows:
            return
        lines = "; ".join(f"{country} {error}" for country, error in skipped_rows[:listed])
        more = len(skipped_rows) - listed
        self.skipped_row_count = len(skipped_rows)
        self._ms_log(
            self.env._(
                "Skipped %(count)s malformed price rows in currencies this instance does not use: "
                "%(lines)s%(more)s",
                count=len(skipped_rows),
                lines=lines,
                more=self.env._(" and %s more.", more) if more > 0 else ".",
            )
        )

    def _ms_log(self, message):
        self.ensure_one()
        stamp = fields.Datetime.to_string(fields.Datetime.now())
        self.log = f"{self.log or ''}{stamp} {message}\n"

    def action_open_changes(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ms_catalogue_sync.action_ms_csp_sync_change"
        )
        action["domain"] = [("run_id", "=", self.id)]
        return action


class MsCspSyncChange(models.Model):
    """One line of "Updated products": a new or retired SKU, or a price change."""

    _name = "ms.csp.sync.change"
    _description = "Microsoft Catalogue Change"
    _order = "run_id desc, change_type, id"

    run_id = fields.Many2one("ms.csp.sync.run", required=True, ondelete="cascade", index=True)
    instance_id = fields.Many2one(related="run_id.instance_id", store=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True)
    date = fields.Datetime(related="run_id.date_start", store=True)
    sku_id = fields.Many2one("ms.csp.sku", ondelete="cascade", index=True)
    sku_code = fields.Char(related="sku_id.code")
    product_tmpl_id = fields.Many2one("product.template", string="Product")
    change_type = fields.Selection(
        [
            ("new", "New SKU"),
            ("retired", "No longer available"),
            ("back", "Available again"),
            ("price", "Price change"),
        ],
        required=True,
        index=True,
    )
    term_plan = fields.Selection(TERM_PLAN_SELECTION)
    currency_id = fields.Many2one("res.currency")
    # amounts of different currencies: never summed in group totals
    old_cost = fields.Monetary(currency_field="currency_id", aggregator=None)
    new_cost = fields.Monetary(currency_field="currency_id", aggregator=None)
    old_price = fields.Monetary(
        string="Old sell price", currency_field="currency_id", aggregator=None
    )
    new_price = fields.Monetary(
        string="New sell price", currency_field="currency_id", aggregator=None
    )
    note = fields.Char()
