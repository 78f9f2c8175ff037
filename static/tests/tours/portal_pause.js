import { registry } from "@web/core/registry";

// A subscriber pauses their subscription for 2 weeks from the portal, then
// cancels that pause again, confirming it first.
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
            trigger: "a.o_portal_pause_cancel",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Nothing is cancelled before the subscriber confirms",
            trigger: ".o_portal_pause_cancel_confirm:contains('Deliveries and billing then go on as usual')",
        },
        {
            content: "The pause is still scheduled",
            trigger: "tr.o_portal_pause_scheduled",
        },
        {
            content: "Confirm the cancellation",
            trigger: "button.o_portal_pause_cancel_yes",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The pause is cancelled",
            trigger: ".o_portal_pause_cancelled",
        },
        {
            content: "No pause is left to cancel",
            trigger: "body:not(:has(.o_portal_pause_cancel))",
        },
    ],
});
