from odoo import api, fields, models

from .ms_csp_sku import TERM_PLAN_SELECTION


class MsCspSyncRun(models.Model):
    """One "Get Services Definition" of an instance: what it did and what it changed."""

    _name = "ms.csp.sync.run"
    _description = "Microsoft Catalogue Sync Run"
    _order = "date_start desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    instance_id = fields.Many2one("ms.csp.instance", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="instance_id.company_id", store=True)
    state = fields.Selection(
        [("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        required=True, default="running", index=True)
    trigger = fields.Selection([("manual", "Button"), ("cron", "Scheduled")], default="manual")
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

    def _ms_log(self, message):
        self.ensure_one()
        stamp = fields.Datetime.to_string(fields.Datetime.now())
        self.log = f"{self.log or ''}{stamp} {message}\n"

    def action_open_changes(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ms_catalogue_sync.action_ms_csp_sync_change")
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
        [("new", "New SKU"), ("retired", "No longer available"),
         ("back", "Available again"), ("price", "Price change")],
        required=True, index=True)
    term_plan = fields.Selection(TERM_PLAN_SELECTION)
    currency_id = fields.Many2one("res.currency")
    old_cost = fields.Monetary(currency_field="currency_id")
    new_cost = fields.Monetary(currency_field="currency_id")
    old_price = fields.Monetary(string="Old sell price", currency_field="currency_id")
    new_price = fields.Monetary(string="New sell price", currency_field="currency_id")
    note = fields.Char()
