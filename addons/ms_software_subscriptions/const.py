"""Constants of Microsoft software subscriptions: templates per term plan, states, cut-offs."""

from datetime import date

from odoo.addons.ms_catalogue_sync.const import (
    TERM_PLAN_P1Y_ANNUAL,
    TERM_PLAN_P3Y_ANNUAL,
    TERM_PLAN_P3Y_TRIENNIAL,
)

# Partner Center turns auto-renew on by default for software subscriptions bought on or after
# this day, off for older ones.
AUTO_RENEW_DEFAULT_FROM = date(2021, 10, 14)
# context key: a write of auto-renew comes from Partner Center (or reverts to it), nothing to push
NO_AUTO_RENEW_PUSH = "ms_auto_renew_no_push"

# The invoicing rhythm of a term plan: the billing plan, not the term (P3Y billed annually is
# invoiced every year).
SUBSCRIPTION_TEMPLATE_BY_TERM_PLAN = {
    TERM_PLAN_P1Y_ANNUAL: "ms_software_subscriptions.subscription_template_ms_annual",
    TERM_PLAN_P3Y_ANNUAL: "ms_software_subscriptions.subscription_template_ms_annual",
    TERM_PLAN_P3Y_TRIENNIAL: "ms_software_subscriptions.subscription_template_ms_triennial",
}

STATUSES = [("active", "Active"), ("expired", "Expired"), ("cancelled", "Cancelled")]
# Partner Center's subscription status -> ours (others, e.g. suspended, leave ours unchanged)
STATUS_BY_PARTNER_CENTER_STATUS = {
    "active": "active",
    "expired": "expired",
    "deleted": "cancelled",
    "cancelled": "cancelled",
    "disabled": "cancelled",
}

SYNC_STATES = [("pending", "Pending"), ("synchronized", "Synchronized"), ("failed", "Failed")]
# The provisioning's state -> the subscription's Provisioning Sync Status: synchronized as soon
# as Partner Center placed the order (ids and expiry follow through polling).
SYNC_STATE_BY_PROVISIONING_STATE = {
    "pending": "pending",
    "cart": "pending",
    "submitted": "pending",
    "ordered": "synchronized",
    "fulfilled": "synchronized",
    "failed": "failed",
}

REFRESH_CRON_XMLID = "ms_software_subscriptions.cron_ms_software_subscription_refresh"
MANAGER_GROUP = "ms_csp_base.group_ms_csp_manager"

# Notifications (each switchable in the settings; on by default, see data/ir_config_parameter.xml)
PARAM_NOTIFY_PROVISIONING_FAILURE = "ms_software_subscriptions.notify_provisioning_failure"
PARAM_NOTIFY_EXPIRY_REMINDER = "ms_software_subscriptions.notify_expiry_reminder"
PROVISIONING_FAILURE_TEMPLATE_XMLID = (
    "ms_software_subscriptions.mail_template_ms_provisioning_failed"
)
EXPIRY_REMINDER_TEMPLATE_XMLID = "ms_software_subscriptions.mail_template_ms_expiry_reminder"
# the customer is reminded this many days before the Software Expiration Date (auto-renew off)
EXPIRY_REMINDER_DAYS = 30
