import { registry } from "@web/core/registry";

// /my -> "Licenses" card -> the list -> a license's page with its Microsoft details.
registry.category("web_tour.tours").add("ms_perpetual_assets_portal", {
    url: "/my",
    steps: () => [
        {
            content: "The Licenses card shows once its count is known",
            trigger: ".o_portal_index_card a[href='/my/perpetual-licenses']",
            run: "click",
        },
        {
            content: "The list shows the customer's license",
            trigger: "tr.o_ms_perpetual_license_row a",
            run: "click",
        },
        {
            content: "The license page shows its Perpetual ID and order alias",
            trigger: ".o_ms_perpetual_license:contains('ALIAS-0001-0'):contains('ALIAS-0001')",
        },
    ],
});
