import { registry } from "@web/core/registry";

// A subscriber starts ending their subscription from the portal, is offered a
// pause first, and takes it.
registry.category("web_tour.tours").add("sale_weekly_subscription_portal_end", {
    url: "/my/subscriptions",
    steps: () => [
        {
            content: "Open the subscription",
            trigger: "a.o_portal_subscription_link",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "End my subscription",
            trigger: "a.o_portal_end_link",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The earliest last day is shown",
            trigger: ".o_portal_end_earliest:contains('20')",
        },
        {
            content: "Tell why",
            trigger: "select#end_reason",
            run: "selectByLabel Too expensive",
        },
        {
            content: "Continue",
            trigger: "button.o_portal_end_next",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "A pause is offered first, with its dates",
            trigger: ".o_portal_end_offer:contains('weeks instead, from')",
        },
        {
            content: "Nothing is ended yet",
            trigger: "button.o_portal_end_yes",
        },
        {
            content: "Pause instead",
            trigger: "button.o_portal_end_pause",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The pause is scheduled",
            trigger: ".o_portal_pause_done",
        },
        {
            content: "It is listed",
            trigger: "tr.o_portal_pause_scheduled",
        },
    ],
});
