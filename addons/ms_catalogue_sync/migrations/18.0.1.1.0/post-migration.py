"""Microsoft SKUs: the comma-separated ``term_plans`` become links to the Microsoft Term values."""

from odoo.tools.sql import column_exists


def migrate(cr, version):
    if not column_exists(cr, "ms_csp_sku", "term_plans"):
        return
    cr.execute("""
        INSERT INTO ms_csp_sku_product_attribute_value_rel
               (ms_csp_sku_id, product_attribute_value_id)
        SELECT sku.id, value.id
          FROM ms_csp_sku sku
          CROSS JOIN LATERAL unnest(string_to_array(sku.term_plans, ',')) AS plan(key)
          JOIN product_attribute_value value ON value.ms_term_plan = plan.key
        ON CONFLICT DO NOTHING
    """)
    cr.execute("ALTER TABLE ms_csp_sku DROP COLUMN term_plans")
