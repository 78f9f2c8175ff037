"""One subscription's invoices to come (engine.schedule): amounts, deductions, tax-included lines."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import forecast as f
from engine import periods as p
from engine import schedule as s

D = date
MONDAYS = p.Rhythm(p.WEEK, 1, p.ADVANCE, send_weekday=0)
ALIGNED = p.Rhythm(p.WEEK, 1, p.ADVANCE, send_weekday=0, anchoring=p.ALIGNED)


NOV_2 = D(2026, 11, 2)


def sched(rhythm=MONDAYS, start=NOV_2, **values):
    values.setdefault("lines", (s.Line(Decimal("45.45")),))
    return s.Schedule(rhythm=rhythm, segment_start=start, subscription_start=start, **values)


def first(schedule, count):
    walk = s.invoices(schedule)
    return [next(walk) for _ in range(count)]


def test_a_deduction_lowers_the_first_invoice_after_its_pause():
    # paused 16-29 Nov after being invoiced up to 22 Nov: 7 paid days (45.45) carried over
    pause = p.Pause(D(2026, 11, 16), D(2026, 11, 29))
    carried = s.Deduction(key=1, after=pause.end, amount=Decimal("45.45"))
    walk = first(sched(invoiced_until=D(2026, 11, 15), pauses=(pause,), deductions=(carried,)), 2)
    assert [(i.period.start, i.untaxed, i.deductions, i.pending) for i in walk] == [
        (D(2026, 11, 30), Decimal("0.00"), (carried,), 0), (D(2026, 12, 7), Decimal("45.45"), (), 0)]


def test_a_deduction_that_does_not_fit_waits_for_the_next_invoice():
    big = s.Deduction(key=1, after=D(2026, 11, 1), amount=Decimal("50.00"))
    small = s.Deduction(key=2, after=D(2026, 11, 1), amount=Decimal("10.00"))
    lines = (s.Line(Decimal("45.45")), s.Line(Decimal("10.00")))
    walk = first(sched(lines=lines, deductions=(big, small)), 2)
    assert [(i.untaxed, i.deductions) for i in walk] == [
        (Decimal("5.45"), (big,)), (Decimal("45.45"), (small,))]
    # already carried by an invoice: not deducted again
    assert next(s.invoices(sched(lines=lines, deductions=(big, small)), taken={1, 2})).untaxed == Decimal("55.45")


def test_the_forecast_counts_the_deduction():
    pause = p.Pause(D(2026, 11, 16), D(2026, 11, 29))
    carried = s.Deduction(key=1, after=pause.end, amount=Decimal("12.99"))
    plain = sched(invoiced_until=D(2026, 11, 15), pauses=(pause,))
    deducting = sched(invoiced_until=D(2026, 11, 15), pauses=(pause,), deductions=(carried,))
    before = f.expected_by_month(plain, D(2026, 11, 1), 2)
    after = f.expected_by_month(deducting, D(2026, 11, 1), 2)
    assert before[D(2026, 11, 1)] - after[D(2026, 11, 1)] == Decimal("12.99")  # invoiced on Mon 30 Nov
    assert before[D(2026, 12, 1)] == after[D(2026, 12, 1)]


def test_a_tax_included_price_is_prorated_taxed_then_untaxed():
    # 39.93 including 21 %: 33.00 untaxed; a lead-in of 5 of 7 days prorates 39.93 to 28.52,
    # whose untaxed part is 23.57 (28.52 / 1.21 = 23.5702), not 5/7 of 33.00 (23.5714 -> 23.57 too)
    def untaxed(amount):
        return (amount / Decimal("1.21")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    line = s.Line(untaxed=Decimal("33.00"), base=Decimal("39.93"), to_untaxed=untaxed)
    walk = first(sched(ALIGNED, D(2026, 11, 4), lines=(line,)), 2)
    assert walk[0].period.is_prorated
    assert s.line_base(line, walk[0].period) == Decimal("28.52")
    assert walk[0].untaxed == untaxed(Decimal("28.52"))
    assert walk[1].untaxed == Decimal("33.00")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.decimals(min_value=0, max_value=500, places=2), min_size=1, max_size=4),
       st.lists(st.decimals(min_value=Decimal("0.01"), max_value=300, places=2), max_size=4),
       st.integers(0, 60))
def test_deductions_are_each_carried_once_and_never_below_zero(amounts, deducted, offset):
    start = D(2026, 11, 2)
    lines = tuple(s.Line(amount) for amount in amounts)
    after = date.fromordinal(start.toordinal() + offset)
    deductions = tuple(s.Deduction(key=n, after=after, amount=a) for n, a in enumerate(deducted))
    walk = first(sched(lines=lines, deductions=deductions), 80)
    carried = [d.key for invoice in walk for d in invoice.deductions]
    assert len(carried) == len(set(carried))
    assert all(invoice.untaxed >= 0 for invoice in walk)
    for invoice in walk:
        assert invoice.untaxed + sum(d.amount for d in invoice.deductions) == s.period_untaxed(
            sched(lines=lines), invoice.period)
