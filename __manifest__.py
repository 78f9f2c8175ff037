{
    "name": "Weekly Subscriptions",
    "summary": "Bill subscriptions every N weeks, months or years, on each "
               "subscriber's own send day, in advance or in arrears",
    "description": """
Recurring billing at the rhythm you deliver: meal boxes every week, razor
blades every 4 or 6 weeks, cleaning every 2 weeks, rent every month.
Plans set the rhythm, terms, renewal and notice; each subscription is a
sales order with its own start date and send weekday, and shows its exact
schedule of periods and invoice dates.
""",
    "version": "19.0.1.6.0",
    "category": "Sales/Subscriptions",
    "author": "Weekly Subscriptions team",
    "website": "https://github.com/sale-weekly-subscription",
    "license": "LGPL-3",
    "depends": ["sale", "account", "account_edi_ubl_cii", "base_iban", "portal"],
    "external_dependencies": {"python": ["schwifty", "python-dateutil", "python-stdnum", "lxml"]},
    "data": [
        "security/sale_weekly_subscription_security.xml",
        "security/ir.model.access.csv",
        "data/sale_recurring_close_reason_data.xml",
        "data/sale_recurring_pause_reason_data.xml",
        "data/sale_recurring_return_reason_data.xml",
        "data/mail_activity_type_data.xml",
        "data/mail_template_data.xml",
        "data/ir_cron_data.xml",
        "data/sepa_data.xml",
        "data/account_payment_method_data.xml",
        "views/sale_recurring_plan_views.xml",
        "views/sale_recurring_close_reason_views.xml",
        "views/sale_recurring_return_reason_views.xml",
        "views/sale_order_views.xml",
        "views/sale_recurring_pause_views.xml",
        "views/sale_recurring_cancel_request_views.xml",
        "wizard/sale_recurring_pause_wizard_views.xml",
        "wizard/sale_recurring_skip_wizard_views.xml",
        "wizard/sale_order_recurring_close_views.xml",
        "wizard/sale_order_recurring_preview_views.xml",
        "wizard/sale_order_recurring_catch_up_views.xml",
        "wizard/sale_order_recurring_change_views.xml",
        "views/account_move_views.xml",
        "wizard/sale_recurring_sepa_import_views.xml",
        "views/sepa_views.xml",
        "wizard/sale_recurring_sepa_run_views.xml",
        "wizard/sale_recurring_sepa_return_views.xml",
        "views/sale_recurring_forecast_views.xml",
        "wizard/sale_recurring_forecast_report_views.xml",
        "views/sale_recurring_mrr_views.xml",
        "views/sale_recurring_upcoming_invoice_views.xml",
        "views/res_config_settings_views.xml",
        "views/menus.xml",
        "views/portal_templates.xml",
        "report/sale_order_report_templates.xml",
        "report/account_invoice_report_templates.xml",
        "report/expected_revenue_templates.xml",
    ],
    "assets": {
        # the graph view is lazy-loaded in Odoo 19: a graph extension goes with it
        "web.assets_backend_lazy": [
            "sale_weekly_subscription/static/src/mrr_dashboard/*",
        ],
        "web.assets_tests": [
            "sale_weekly_subscription/static/tests/tours/*.js",
        ],
    },
    "demo": [
        "demo/sale_weekly_subscription_demo.xml",
    ],
    "application": True,
}
