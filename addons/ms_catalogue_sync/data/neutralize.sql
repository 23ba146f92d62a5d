-- A neutralized copy of a database must not sync from Partner Center on its own.
UPDATE ir_cron
   SET active = FALSE
 WHERE id IN (SELECT res_id FROM ir_model_data
               WHERE module = 'ms_catalogue_sync' AND model = 'ir.cron');
