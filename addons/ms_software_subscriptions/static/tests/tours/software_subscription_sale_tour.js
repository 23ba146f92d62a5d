import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// A salesperson sells a Microsoft software subscription to a reseller for its end customer:
// the unit price follows the end customer's market, then the order is confirmed.
// Names and prices are set by the Python test (test_sale_tour.py).
registry.category("web_tour.tours").add("ms_software_subscriptions_sale", {
    steps: () => [
        {
            content: "Set the customer: the reseller",
            trigger: ".o_field_widget[name=partner_id] input",
            run: "edit Reseller Ltd",
        },
        {
            trigger: ".o-autocomplete--dropdown-menu a:contains('Reseller Ltd')",
            run: "click",
        },
        {
            content: "Add the Microsoft software subscription",
            trigger: ".o_field_x2many_list_row_add a:contains('Add a product')",
            run: "click",
        },
        {
            trigger: ".o_selected_row div[name=product_template_id] input",
            run: "edit Tour Software Subscription",
        },
        {
            trigger: ".o-autocomplete--dropdown-menu a:contains('Tour Software Subscription')",
            run: "click",
        },
        {
            content: "Keep the proposed term plan",
            trigger: ".o_sale_product_configurator_dialog button[name=sale_product_configurator_confirm_button]",
            run: "click",
        },
        {
            trigger: "body:not(:has(.o_sale_product_configurator_dialog))",
        },
        {
            content: "Leave the line",
            trigger: "a[name=order_lines]",
            run: "click",
        },
        {
            content: "The reseller's own market price",
            trigger: ".o_data_row:not(.o_selected_row) td[name=price_unit]:contains('400.00')",
        },
        {
            content: "Set the End customer: a company in another country",
            trigger: ".o_field_widget[name=ms_end_customer_id] input",
            run: "edit Tailspin Toys",
        },
        {
            trigger: ".o-autocomplete--dropdown-menu a:contains('Tailspin Toys GmbH')",
            run: "click",
        },
        {
            content: "The price is corrected to the end customer's market",
            trigger: ".o_data_row td[name=price_unit]:contains('525.00')",
        },
        {
            content: "Confirm the order",
            trigger: ".o_form_view button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The order is confirmed",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Sales Order')",
        },
    ],
});

// Back office: Microsoft CSP > Software Subscriptions lists the order's subscription, synchronized.
registry.category("web_tour.tours").add("ms_software_subscriptions_backend_list", {
    steps: () => [
        ...stepUtils.goToAppSteps("ms_csp_base.menu_ms_csp_root", "Open Microsoft CSP"),
        {
            content: "Open Software Subscriptions",
            trigger: ".o_main_navbar [data-menu-xmlid='ms_software_subscriptions.menu_ms_software_subscriptions']",
            run: "click",
        },
        {
            content: "The end customer's subscription is synchronized",
            trigger: ".o_list_view .o_data_row:contains('Tailspin Toys GmbH') td[name=ms_sync_state]:contains('Synchronized')",
        },
    ],
});
