import { registry } from "@web/core/registry";

// A subscriber's week on the portal: skips a delivery, changes the next box,
// then starts ending their subscription, is offered a pause first, and takes it.
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
            content: "Skip the last delivery listed (after the pause offered below)",
            trigger: "tr.o_portal_delivery:last button.o_portal_skip",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "It is marked skipped, and can be unskipped until its cut-off",
            trigger: "tr.o_portal_delivery_skipped button.o_portal_unskip",
        },
        {
            content: "Change the next box: 3 instead of 1",
            trigger: "form.o_portal_change_form input[name=quantity]",
            run: "edit 3",
        },
        {
            content: "Save the change",
            trigger: "form.o_portal_change_form button.o_portal_change_submit",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The change is saved and listed",
            trigger: ".o_portal_change_done",
        },
        {
            content: "The next invoice shows the change",
            trigger: "table.o_portal_line_changes td:contains('3 x')",
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
