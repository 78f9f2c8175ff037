import { registry } from "@web/core/registry";

// A subscriber pauses their subscription for 2 weeks from the portal, then
// cancels that pause again.
registry.category("web_tour.tours").add("sale_weekly_subscription_portal_pause", {
    url: "/my/subscriptions",
    steps: () => [
        {
            content: "Open the subscription",
            trigger: "a.o_portal_subscription_link",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The next invoice is shown",
            trigger: ".o_portal_next_invoice:contains('/')",
        },
        {
            content: "Pause for 2 weeks",
            trigger: "select#pause_weeks",
            run: "select 2",
        },
        {
            content: "Confirm the pause",
            trigger: "button.o_portal_pause_submit",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The pause is scheduled",
            trigger: ".o_portal_pause_done",
        },
        {
            content: "It is listed, 2 weeks",
            trigger: "tr.o_portal_pause_scheduled td:contains('2')",
        },
        {
            content: "Cancel it",
            trigger: "button.o_portal_pause_cancel",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The pause is cancelled",
            trigger: ".o_portal_pause_cancelled",
        },
    ],
});
