"""The one way the suite works through Partner Center in the background.

A model that inherits ``ms.csp.background.job`` says which of its rows are due (an SQL condition
on its own table) and what one unit of work is; the mixin runs the cron's loop: claim one due row
with ``FOR NO KEY UPDATE SKIP LOCKED`` (so two workers never take the same row), do its work,
commit, report progress, and come back while rows remain or when the next one falls due.
"""

import time

from psycopg2.errors import SerializationFailure

from odoo import api, fields, models
from odoo.tools import SQL

CLAIM_ATTEMPTS = 5
BATCH_SIZE = 50  # units of work per cron run; the cron runs again at once while work remains
TIME_BUDGET = 60  # seconds per cron run: well within Odoo's cron time limit (120 s default)


class MsCspBackgroundJob(models.AbstractModel):
    _name = "ms.csp.background.job"
    _description = "Microsoft CSP: background work on claimed records"

    # === WHAT A MODEL DEFINES === #

    def _ms_job_due_sql(self):
        """``SQL`` condition on the model's table: the rows due for work now."""
        raise NotImplementedError

    def _ms_job_order_sql(self):
        """``SQL`` ordering of the due rows (oldest first by default)."""
        return SQL("id")

    def _ms_job_run(self, clients, commit):
        """Do the work of one claimed record (``self``); ``clients`` caches job-mode clients per
        instance (see :meth:`_ms_job_client`)."""
        raise NotImplementedError

    def _ms_job_cron(self):
        """The ``ir.cron`` record that runs this model's work."""
        raise NotImplementedError

    def _ms_job_next_at(self):
        """When the next row not yet due falls due (``None``: the rows say nothing)."""
        return None

    # === THE LOOP === #

    @api.model
    def _ms_job_process(self, batch_size=BATCH_SIZE, time_budget=TIME_BUDGET, commit=True):
        """Work through due records, one at a time, until none is due or the budget is spent.

        :param commit: commit after each record (the cron); tests pass ``False``
        :return: how many records were worked on
        """
        started, done, clients = time.monotonic(), 0, {}
        if commit:  # claim on a fresh snapshot
            self.env.cr.commit()  # pylint: disable=invalid-commit
        try:
            while done < batch_size and time.monotonic() - started < time_budget:
                record = self._ms_job_claim_next(fresh_snapshot=commit)
                if not record:
                    break
                record._ms_job_run(clients, commit)
                done += 1
                if commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
        finally:
            for client in clients.values():
                client.close()
        remaining = self._ms_job_count_due()
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        cron = self._ms_job_cron().sudo()
        if remaining and not self.env.context.get("ir_cron_progress_id"):
            cron._trigger()  # called outside ir.cron: come back for the rest
        next_at = self._ms_job_next_at()
        if next_at and next_at > fields.Datetime.now():
            cron._trigger(at=next_at)
        return done

    @api.model
    def _ms_job_claim_next(self, fresh_snapshot=False):
        """Lock the next due record for this transaction, skipping those other workers hold.

        ``FOR NO KEY UPDATE`` does not block inserts that reference the row (messages, steps).
        A record another worker changed after this transaction's snapshot cannot be locked
        (``SerializationFailure``, repeatable read): with ``fresh_snapshot`` (nothing uncommitted)
        the transaction is rolled back and the claim repeated on a new snapshot; otherwise
        nothing is claimed.
        """
        self.flush_model()
        for _attempt in range(CLAIM_ATTEMPTS):
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(
                        SQL(
                            "SELECT id FROM %s WHERE %s ORDER BY %s LIMIT 1 "
                            "FOR NO KEY UPDATE SKIP LOCKED",
                            SQL.identifier(self._table),
                            self._ms_job_due_sql(),
                            self._ms_job_order_sql(),
                        ),
                        log_exceptions=False,
                    )
                    row = self.env.cr.fetchone()
                    return self.browse(row[0]) if row else self.browse()
            except SerializationFailure:
                if not fresh_snapshot:
                    break
                self.env.cr.rollback()  # pylint: disable=invalid-commit
        return self.browse()

    @api.model
    def _ms_job_count_due(self):
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM %s WHERE %s",
                SQL.identifier(self._table),
                self._ms_job_due_sql(),
            )
        )
        return self.env.cr.fetchone()[0]

    def _ms_job_client(self, clients, instance):
        """One job-mode client per instance and cron run (its access token is reused)."""
        if instance.id not in clients:
            clients[instance.id] = instance._ms_client(job_mode=True)
        return clients[instance.id]
