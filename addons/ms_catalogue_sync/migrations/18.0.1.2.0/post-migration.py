"""Microsoft prices per country keep no audit columns: the sync run says who wrote them and when.

Odoo forgets the four fields of a model that stops logging access, but leaves their columns, and
with them the checks of two user references on every row the sync inserts.
"""

from odoo.tools.sql import column_exists

AUDIT_COLUMNS = ("create_uid", "create_date", "write_uid", "write_date")


def migrate(cr, version):
    for column in AUDIT_COLUMNS:
        if column_exists(cr, "ms_csp_price", column):
            cr.execute(f'ALTER TABLE ms_csp_price DROP COLUMN "{column}"')  # noqa: S608
