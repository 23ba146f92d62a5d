import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// Back office, a Microsoft CSP manager: a perpetual license whose provisioning failed is found
// under Microsoft CSP > Perpetual Licenses, its error read, and retried through the confirmation.
// The license and the failure are set up by the Python test (test_backend_tour.py).
registry.category("web_tour.tours").add("ms_perpetual_assets_backend_retry", {
    steps: () => [
        ...stepUtils.goToAppSteps("ms_csp_base.menu_ms_csp_root", "Open Microsoft CSP"),
        {
            content: "Open Perpetual Licenses",
            trigger: ".o_main_navbar [data-menu-xmlid='ms_perpetual_assets.menu_ms_perpetual_licences']",
            run: "click",
        },
        {
            content: "The license shows its failed provisioning",
            trigger: ".o_list_view .o_data_row:contains('Tour Perpetual License') td[name=sync_status]:contains('Failed')",
            run: "click",
        },
        {
            content: "The form says why",
            trigger: ".o_form_view .alert:contains('Provisioning failed'):contains('Tour checkout refused')",
        },
        {
            content: "Retry",
            trigger: ".o_form_view button[name=action_ms_retry]",
            run: "click",
        },
        {
            content: "The confirmation says what continuing does",
            trigger: ".modal:contains('a perpetual license is provisioned in Microsoft Partner Center'):contains('nothing is ordered twice')",
        },
        {
            trigger: ".modal button[name=action_continue]",
            run: "click",
        },
        {
            content: "The license waits for the provisioning engine",
            trigger: "body:not(:has(.modal)) .o_form_view .o_field_widget[name=sync_status]:contains('Pending')",
        },
    ],
});

// After the engine and the Perpetual ID poll ran: the license carries its Microsoft ids.
registry.category("web_tour.tours").add("ms_perpetual_assets_backend_synced", {
    steps: () => [
        ...stepUtils.goToAppSteps("ms_csp_base.menu_ms_csp_root", "Open Microsoft CSP"),
        {
            trigger: ".o_main_navbar [data-menu-xmlid='ms_perpetual_assets.menu_ms_perpetual_licences']",
            run: "click",
        },
        {
            content: "Synchronized in the list",
            trigger: ".o_list_view .o_data_row:contains('Tour Perpetual License') td[name=sync_status]:contains('Synchronized')",
            run: "click",
        },
        {
            content: "Perpetual Order ID, its alias and the Perpetual ID are shown",
            trigger: ".o_form_view .o_field_widget[name=ms_order_id] span:not(:empty)",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=perpetual_id] span:contains('-')",
        },
        {
            content: "No error any more",
            trigger: ".o_form_view:not(:has(.alert:contains('Provisioning failed')))",
        },
    ],
});
