"""A change of quantity, price or product inside a period already invoiced in advance: the
prorated correction (plan option "Changes in an Invoiced Period")."""

from decimal import Decimal

from odoo import fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tools import format_amount, format_date, formatLang

from ..engine import periods, schedule
from .sale_order import RUNNING_STATES

# what a correction corrects: the fields that change a line's amount or what it delivers
CHANGED_FIELDS = frozenset({"product_id", "product_uom_qty", "price_unit", "discount"})
# the context key (or the wizard's field) naming the day a change takes effect
EFFECTIVE_DATE = "recurring_effective_date"


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    def write(self, vals):
        """A change of quantity, price, discount or product of a running subscription's line, with
        its effective date in the context (``recurring_effective_date``, as the "Change a Line"
        dialog writes it, or an RPC caller), follows the plan's rule for a change inside an invoiced
        period (``sale.order._recurring_correct``).  Without a date, a change applies from the next
        period not yet invoiced, as it always did."""
        day = self.env.context.get(EFFECTIVE_DATE)
        if not day or not CHANGED_FIELDS & vals.keys():
            return super().write(vals)
        day = fields.Date.to_date(day)
        changing = self.filtered(lambda line: line.order_id.recurring_plan_id and line.order_id.state == "sale"
                                 and line._recurring_is_billed_per_period())
        orders = changing.order_id
        orders._recurring_check_change_date(day)
        # as a pause does: a billing run holding the subscription would race with the correction
        if orders._recurring_lock_rows() != orders:
            raise UserError(self.env._(
                "Subscription %(order)s is being billed right now; try again in a moment.",
                order=orders[0].display_name))
        before = {line: line._recurring_change_snapshot() for line in changing}
        result = super().write(vals)
        for order in orders.with_context(**{EFFECTIVE_DATE: False}):
            mine = {line: snap for line, snap in before.items() if line.order_id == order}
            order._recurring_correct(mine, day)
        return result

    def _compute_product_updatable(self):
        """A running subscription's line may change its product although periods of it were invoiced
        (Odoo's sale forbids it once a line is invoiced): each period is billed on its own, so the
        change applies from its effective date (a correction) or from the next period.  A one-off line
        billed already keeps its product."""
        result = super()._compute_product_updatable()
        for line in self.filtered(lambda line: not line.product_updatable and line.order_id.recurring_plan_id
                                  and line.state == "sale" and not line.order_id.locked
                                  and not line.is_downpayment and not line.recurring_one_off):
            line.product_updatable = True
        return result

    def _recurring_change_snapshot(self):
        """What this line was before a change, for the correction's label."""
        self.ensure_one()
        return {"product": self.product_id, "quantity": self.product_uom_qty, "price_unit": self.price_unit,
                "discount": self.discount}


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def action_recurring_change_line(self):
        """The "Change a Line" dialog: a quantity, price or product from an effective date."""
        self.ensure_one()
        self._recurring_check_change_date(self._recurring_today())
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Change a Line"),
            "res_model": "sale.order.recurring.change",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id, "default_line_id": self.order_line.filtered(
                lambda line: line._recurring_is_billed_per_period())[:1].id},
        }

    def _recurring_check_change_date(self, day):
        """A change with an effective date: on a running subscription, not before it starts, and not in the
        future after the days invoiced (it would then change the days before it too: that is a change of a
        later period, not a correction)."""
        for order in self:
            if order.recurring_state not in RUNNING_STATES:
                raise ValidationError(self.env._(
                    "Subscription %(order)s: a line can be changed with an effective date only while the "
                    "subscription runs.", order=order.display_name))
            if day < order.recurring_start_date:
                raise ValidationError(self.env._(
                    "Subscription %(order)s: the field 'Effective Date' (%(day)s) is before the subscription "
                    "starts (%(start)s).", order=order.display_name, day=format_date(self.env, day),
                    start=format_date(self.env, order.recurring_start_date)))
            until = order.recurring_invoiced_until
            if day > order._recurring_today() and (not until or day > until + periods.ONE_DAY):
                raise ValidationError(self.env._(
                    "Subscription %(order)s: the field 'Effective Date' (%(day)s) is in the future and after the "
                    "days invoiced: the change would apply to the days before it too. Change it from today or "
                    "from the next period not yet invoiced (%(next)s).", order=order.display_name,
                    day=format_date(self.env, day),
                    next=format_date(self.env, (until + periods.ONE_DAY) if until else order.recurring_start_date)))

    def _recurring_correct(self, before, day):
        """Lines of this subscription changed from ``day`` (``before``: {line: snapshot before the change}):
        when its plan prorates and ``day`` falls in a period invoiced already, correct the rest of each
        invoiced period at once (``_recurring_make_corrections``); else the change applies from the next
        period not yet invoiced.  Returns the corrections made."""
        self.ensure_one()
        Move = self.env["account.move"]
        until = self.recurring_invoiced_until
        if self.recurring_plan_id.mid_period_changes != "prorate" or not until or day > until:
            return Move
        # as superuser, as a pause's credit note: a salesperson may change a line without the right
        # to read, post or send the invoices it corrects
        corrections = self.sudo()._recurring_make_corrections(before, day)
        for correction in corrections:
            self.message_post(body=self.env._(
                "%(document)s %(name)s corrects %(invoice)s for the change from %(day)s: %(amount)s.",
                document=dict(correction._fields["move_type"]._description_selection(self.env))[
                    correction.move_type],
                name=correction.name or "-", invoice=correction.recurring_corrected_move_id.name or "-",
                day=format_date(self.env, day), amount=format_amount(self.env, correction.amount_total,
                                                                     correction.currency_id)))
        return corrections

    def _recurring_corrected_invoices(self, day):
        """The period invoices with paid days from ``day`` on: what a change from ``day`` corrects."""
        self.ensure_one()
        until = self.recurring_invoiced_until
        return self.recurring_invoice_ids.filtered(
            lambda move: move.move_type == "out_invoice" and move.state != "cancel" and not move.recurring_correction
            and move.recurring_period_end and move.recurring_period_end >= day
            and move.recurring_period_start <= until).sorted("recurring_period_start")

    def _recurring_make_corrections(self, before, day):
        """One correction per period invoice with paid days from ``day``: an invoice when the change costs
        more, a credit note when it costs less (net over its lines: a product changed for a cheaper one
        credits the old product and charges the new one on one credit note), dated ``day``, posted and
        sent as the plan posts and sends its invoices (``_recurring_correct`` calls it as superuser)."""
        self.ensure_one()
        Move = self.env["account.move"]
        corrections = Move
        for invoice in self._recurring_corrected_invoices(day):
            lines = [vals for line, snapshot in before.items()
                     for vals in self._recurring_correction_line_vals(invoice, line.with_env(self.env), snapshot, day)]
            if not lines:
                continue
            corrections |= self._recurring_create_correction(invoice, lines, day)
        if not corrections:
            return corrections
        plan = self.recurring_plan_id
        if plan.auto_post:
            corrections._recurring_post()
            for correction in corrections.filtered(lambda move: move.move_type == "out_refund"):
                correction._recurring_match_correction()
            corrections._recurring_send()
        return corrections

    def _recurring_period_of_span(self, start, end):
        """The engine ``Period`` an invoice line bills (``start``-``end``): its full period from the
        schedule, so that it prorates as the billing run prorated it; a span the schedule no longer knows
        (before a restart of the schedule) counts as a full period."""
        full = periods.period_on(day=start, **self._recurring_schedule().period_args())
        if full and full.start <= start:
            return periods.Period(start, end, start, full.full_start, full.full_end)
        return periods.Period(start, end, start, start, end)

    def _recurring_charged(self, invoice, line, start, end):
        """What ``invoice`` and its corrections charge so far for ``line`` over its period ``start``-``end``:
        {product: (period amount, the invoice line that charged it)}, the amount as a prorated period
        prorates it (the taxed total when the price includes a tax)."""
        Line = self.env["sale.order.line"]
        charged = {}
        for aml in invoice.invoice_line_ids.filtered(
                lambda aml: line in aml.sale_line_ids and aml.recurring_period_start == start
                and aml.recurring_period_end == end):
            base = Line._recurring_base_line(aml.price_subtotal, aml.price_total, aml.tax_ids, self,
                                             aml.product_id).prorated_base
            amount, _old = charged.get(aml.product_id, (Decimal(0), aml))
            charged[aml.product_id] = (amount + Decimal(str(base)), aml)
        corrections = self.recurring_invoice_ids.filtered(
            lambda move: move.recurring_correction and move.state != "cancel"
            and move.recurring_corrected_move_id == invoice).sorted("id")
        for aml in corrections.invoice_line_ids.filtered(
                lambda aml: line in aml.sale_line_ids and aml.recurring_period_start == start
                and aml.recurring_period_end == end):
            charged[aml.product_id] = (Decimal(str(aml.recurring_base_after)), aml)
        return charged

    def _recurring_correction_line_vals(self, invoice, line, snapshot, day):
        """The correction lines of ``invoice`` for ``line`` changed from ``day``: per period the invoice
        bills for it (two when a lead-in was merged), one line per product charged or to charge, of the
        corrected days' share of the difference (``engine.periods.correction_amount``), as a charge
        (positive) or a credit (negative)."""
        rounding = self.currency_id.rounding
        until = self.recurring_invoiced_until
        spans = sorted({(aml.recurring_period_start, aml.recurring_period_end)
                        for aml in invoice.invoice_line_ids
                        if line in aml.sale_line_ids and aml.recurring_period_start})
        result = []
        for start, end in spans:
            corrected = periods.corrected_days(start, end, day, until)
            if not corrected:
                continue
            period = self._recurring_period_of_span(start, end)
            after = schedule.line_base(line._recurring_engine_line(), period, rounding)
            charged = self._recurring_charged(invoice, line, start, end)
            label = self._recurring_correction_label(line, snapshot, period, corrected)
            for product in list(charged) + [line.product_id] * (line.product_id not in charged):
                was, aml = charged.get(product, (Decimal(0), None))
                now = after if product == line.product_id else Decimal(0)
                amount = periods.correction_amount(was, now, start, end, day, rounding, until)
                if not amount:
                    continue
                vals = line._prepare_invoice_line(quantity=1.0, price_unit=float(amount), discount=0.0, name=label)
                if product != line.product_id:  # the old product, credited with its own taxes
                    vals.update(product_id=product.id, product_uom_id=aml.product_uom_id.id,
                                tax_ids=[Command.set(aml.tax_ids.ids)])
                if line.analytic_distribution:
                    vals["analytic_distribution"] = line.analytic_distribution
                vals.update(recurring_period_start=start, recurring_period_end=end,
                            recurring_base_before=float(was), recurring_base_after=float(now))
                result.append(vals)
        return result

    def _recurring_correction_label(self, line, snapshot, period, corrected):
        """'Correction: 2 → 3 × Coffee beans' and the days corrected, with the period label
        (``engine.periods.period_label``), in the customer's language."""
        env = self.with_context(lang=self.partner_id.lang or self.env.lang).env
        first, last, days = corrected

        def quantity(value):
            return formatLang(env, value, digits=0 if float(value).is_integer() else 2)

        def price(value, discount):
            text = format_amount(env, value, self.currency_id)
            return env._("%(price)s less %(discount)s%%", price=text, discount=quantity(discount)) \
                if discount else text
        old_product, new_product = snapshot["product"], line.product_id
        priced = (snapshot["price_unit"], snapshot["discount"]) != (line.price_unit, line.discount)
        if old_product == new_product and not priced:
            change = env._("%(old)s → %(new)s × %(product)s", old=quantity(snapshot["quantity"]),
                           new=quantity(line.product_uom_qty), product=new_product.display_name)
        elif old_product == new_product:
            change = env._("%(quantity)s × %(product)s at %(old)s → %(new)s",
                           quantity=quantity(line.product_uom_qty), product=new_product.display_name,
                           old=price(snapshot["price_unit"], snapshot["discount"]),
                           new=price(line.price_unit, line.discount))
        else:
            change = env._("%(old_quantity)s × %(old)s → %(new_quantity)s × %(new)s",
                           old_quantity=quantity(snapshot["quantity"]), old=old_product.display_name,
                           new_quantity=quantity(line.product_uom_qty), new=new_product.display_name)
        return env._("Correction: %(change)s, %(label)s (%(days)s of %(full)s days)", change=change,
                     label=self._recurring_period_label(first, last), days=days, full=period.full_days)

    def _recurring_create_correction(self, invoice, lines, day):
        """The correction of ``invoice`` with ``lines`` (charges positive, credits negative): an invoice
        when they add up to a charge (or to nothing: a product changed for one at the same price), a
        credit note when they add up to a credit."""
        total = sum((Decimal(str(vals["price_unit"])) for vals in lines), Decimal(0))
        refund = total < 0
        if refund:
            lines = [{**vals, "price_unit": -vals["price_unit"]} for vals in lines]
        order = self.sudo().with_company(invoice.company_id)
        vals = order._prepare_invoice()
        vals.pop("transaction_ids", None)  # a payment belongs to the order's first sale
        vals.update({
            "move_type": "out_refund" if refund else "out_invoice",
            "journal_id": invoice.journal_id.id,
            "invoice_date": day,
            "fiscal_position_id": invoice.fiscal_position_id.id,
            "invoice_origin": invoice.name,
            "ref": self.env._("Correction of %(invoice)s", invoice=invoice.name or ""),
            "recurring_order_id": self.id,
            "recurring_correction": True,
            "recurring_corrected_move_id": invoice.id,
            "recurring_period_start": max(day, invoice.recurring_period_start),
            "recurring_period_end": min(invoice.recurring_period_end, self.recurring_invoiced_until),
            # the MRR from the change on (sale.recurring.mrr reads it for the month ends it covers)
            "recurring_monthly_amount": float(self._recurring_monthly_amount()),
            "invoice_line_ids": [Command.create(vals) for vals in lines],
        })
        if refund:
            # as a pause's credit note: no customer IBAN on it, and it reverses the period's invoice
            vals.update(partner_bank_id=False, reversed_entry_id=invoice.id)
        else:
            vals.update(order._recurring_sepa_vals())
        return self.env["account.move"].sudo().with_company(invoice.company_id).with_context(
            tracking_disable=True, mail_create_nolog=True).create(vals)


class AccountMove(models.Model):
    _inherit = "account.move"

    def _recurring_match_correction(self):
        """A posted correction credit note is matched with the invoice it corrects while that is unpaid."""
        self.ensure_one()
        invoice = self.recurring_corrected_move_id.sudo()
        if self.state != "posted" or invoice.state != "posted" or invoice.payment_state in ("paid", "in_payment"):
            return
        open_lines = (invoice + self.sudo()).line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable" and not line.reconciled)
        if len(open_lines) > 1:
            open_lines.reconcile()
