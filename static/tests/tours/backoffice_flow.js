import { registry } from "@web/core/registry";

// What a new accountant does first, from the main menu: a plan, a subscription on it, confirm,
// pause, run billing now, and the direct-debit file of what was billed.

function inDays(days) {
    // the date input of the en_US user the test logs in: MM/DD/YYYY
    const day = new Date();
    day.setDate(day.getDate() + days);
    const pad = (value) => String(value).padStart(2, "0");
    return `${pad(day.getMonth() + 1)}/${pad(day.getDate())}/${day.getFullYear()}`;
}

function pick(field, text) {
    return [
        {
            content: `Type ${text} in ${field}`,
            trigger: `.o_field_widget[name=${field}] input`,
            run: `edit ${text}`,
        },
        {
            content: `Choose ${text}`,
            trigger: `.o-autocomplete--dropdown-item a:contains('${text}')`,
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("sale_weekly_subscription_backoffice", {
    url: "/odoo",
    steps: () => [
        {
            content: "The main menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Subscriptions is an app of its own",
            trigger: ".o_app[data-menu-xmlid='sale_weekly_subscription.sale_subscription_menu']",
            run: "click",
        },
        {
            content: "It opens on the subscriptions",
            trigger: ".o_breadcrumb:contains('Subscriptions')",
        },
        {
            content: "Configuration",
            trigger: ".o_menu_sections [data-menu-xmlid='sale_weekly_subscription.sale_subscription_config_menu']",
            run: "click",
        },
        {
            content: "Plans",
            trigger: ".dropdown-item[data-menu-xmlid='sale_weekly_subscription.sale_recurring_plan_menu']",
            run: "click",
        },
        {
            content: "The plans",
            trigger: ".o_breadcrumb:contains('Plans')",
        },
        {
            content: "A new plan",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Its name",
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour weekly box",
        },
        {
            content: "Its payment method",
            trigger: ".o_field_widget[name=payment_method] .o_select_menu_toggler",
            run: "click",
        },
        {
            content: "SEPA direct debit",
            trigger: ".o_select_menu_item:contains('SEPA direct debit')",
            run: "click",
        },
        {
            content: "Add a product",
            trigger: ".o_field_widget[name=line_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        ...pick("product_id", "Tour meal box"),
        {
            content: "Save the plan",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The plan is saved",
            trigger: ".o_form_saved, .o_form_status_indicator:not(:has(.o_form_button_save:visible))",
        },
        {
            content: "Subscriptions",
            trigger: ".o_menu_sections [data-menu-xmlid='sale_weekly_subscription.sale_order_subscription_menu']",
            run: "click",
        },
        {
            content: "The subscriptions",
            trigger: ".o_breadcrumb:contains('Subscriptions')",
        },
        {
            content: "A new subscription",
            trigger: ".o_control_panel_main_buttons button.btn-primary:contains('New')",
            run: "click",
        },
        ...pick("partner_id", "Tour Customer"),
        ...pick("recurring_plan_id", "Tour weekly box"),
        {
            content: "The plan's product is on the subscription",
            trigger: ".o_field_widget[name=order_line] td:contains('Tour meal box')",
        },
        {
            content: "The Subscription tab",
            trigger: ".o_notebook a[name=subscription], .o_notebook a:contains('Subscription')",
            run: "click",
        },
        ...pick("recurring_mandate_id", "TOUR-MANDATE"),
        {
            content: "Confirm",
            trigger: "button[name=action_confirm]",
            run: "click",
        },
        {
            content: "It is in progress",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('In Progress')",
        },
        {
            content: "Pause it",
            trigger: "button[name=action_recurring_pause]",
            run: "click",
        },
        {
            content: "From a date",
            trigger: ".modal .o_field_widget[name=start_mode] input[data-value='date']",
            run: "click",
        },
        {
            content: "The first day paused",
            trigger: ".modal .o_field_widget[name=start_date] button",
            run: "click",
        },
        {
            content: "In two weeks, so that this week is still billed",
            trigger: ".modal .o_field_widget[name=start_date] input",
            run: `edit ${inDays(14)}`,
        },
        {
            content: "For one week",
            trigger: ".modal .o_field_widget[name=weeks] input",
            run: "edit 1",
        },
        {
            content: "Confirm the pause",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The subscription has its pause",
            trigger: "button[name=action_view_recurring_pauses]:contains('1')",
        },
        {
            content: "Back to the subscriptions",
            trigger: ".o_breadcrumb .breadcrumb-item a",
            run: "click",
        },
        {
            content: "Run billing now",
            trigger: "button[name=action_recurring_run_billing_now]",
            run: "click",
        },
        {
            content: "It says what it billed",
            trigger: ".o_notification:contains('Billing run done')",
        },
        {
            content: "The apps",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Invoicing",
            trigger: ".o_app[data-menu-xmlid='account.menu_finance']",
            run: "click",
        },
        {
            content: "Customers",
            trigger: ".o_menu_sections [data-menu-xmlid='account.menu_finance_receivables']",
            run: "click",
        },
        {
            content: "Direct Debit Run",
            trigger: ".dropdown-item[data-menu-xmlid='sale_weekly_subscription.account_sepa_run_menu']",
            run: "click",
        },
        {
            content: "The collection date",
            trigger: ".modal .o_field_widget[name=requested_date] button",
            run: "click",
        },
        {
            content: "Collect in a month, after the pre-notification",
            trigger: ".modal .o_field_widget[name=requested_date] input",
            run: `edit ${inDays(30)}`,
        },
        {
            content: "Leave the date field",
            trigger: ".modal .modal-title",
            run: "click",
        },
        {
            content: "The billed invoice is offered",
            trigger: ".modal .o_field_widget[name=line_ids] td:contains('Tour Customer')",
        },
        {
            content: "Create the file",
            trigger: ".modal button[name=action_create]",
            run: "click",
        },
        {
            content: "The batch and its file",
            trigger: ".o_form_view .o_field_widget[name=xml_file]",
        },
    ],
});
