-- A neutralized copy of a database must not reach Partner Center with production credentials.
UPDATE ms_csp_instance
   SET client_id = NULL, client_secret = NULL, connection_state = 'not_tested';
DELETE FROM ms_csp_credential;
UPDATE ir_cron
   SET active = FALSE
 WHERE id IN (SELECT res_id FROM ir_model_data
               WHERE module = 'ms_csp_base' AND model = 'ir.cron');
