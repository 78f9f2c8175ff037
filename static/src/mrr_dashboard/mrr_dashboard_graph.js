import { Component, onWillStart } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { graphView } from "@web/views/graph/graph_view";
import { GraphRenderer } from "@web/views/graph/graph_renderer";

/** The key figures of the current company this month, computed and formatted by the server. */
export class MrrKeyFigures extends Component {
    static template = "sale_weekly_subscription.MrrKeyFigures";
    static props = {};

    setup() {
        this.orm = useService("orm");
        onWillStart(async () => {
            this.figures = await this.orm.call("sale.recurring.mrr.month", "get_dashboard_key_figures", []);
        });
    }
}

/** The dashboard's graph, with the key figures above it. */
export class MrrDashboardGraphRenderer extends GraphRenderer {
    static template = "sale_weekly_subscription.MrrDashboardGraphRenderer";
    static components = { ...GraphRenderer.components, MrrKeyFigures };
}

registry.category("views").add("sale_recurring_mrr_dashboard_graph", {
    ...graphView,
    Renderer: MrrDashboardGraphRenderer,
});
