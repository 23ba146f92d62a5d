import { registry } from "@web/core/registry";

// /my -> "Software Subscriptions" card -> the list -> the synchronized subscription's page.
registry.category("web_tour.tours").add("ms_software_subscriptions_portal", {
    url: "/my",
    steps: () => [
        {
            content: "The Software Subscriptions card shows once its count is known",
            trigger: ".o_portal_index_card a[href='/my/software-subscriptions']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The list shows the synchronized subscription",
            trigger: "tr.o_ms_software_subscription_row a:contains('Tour seats for HQ')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The subscription page shows its name and Microsoft Order ID",
            trigger: "#ms_software_subscription_content:contains('Tour seats for HQ') .o_ms_order_id span:not(:empty)",
        },
    ],
});
