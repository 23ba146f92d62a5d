"""Microsoft SKUs: their Partner Center ids become ``ms_product_ref`` and ``ms_sku_ref`` (text)."""

from odoo.tools.sql import column_exists, rename_column

RENAMED = {"ms_product_id": "ms_product_ref", "ms_sku_id": "ms_sku_ref"}


def migrate(cr, version):
    for old, new in RENAMED.items():
        if column_exists(cr, "ms_csp_sku", old) and not column_exists(cr, "ms_csp_sku", new):
            rename_column(cr, "ms_csp_sku", old, new)
