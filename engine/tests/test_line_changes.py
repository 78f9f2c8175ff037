"""Dated line changes (engine.schedule.Change): one period only, or from a period on."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import forecast as f
from engine import periods as p
from engine import schedule as s

D = date
MONDAYS = p.Rhythm(p.WEEK, 1, p.ADVANCE, send_weekday=0)
ALIGNED = p.Rhythm(p.WEEK, 1, p.ADVANCE, send_weekday=0, anchoring=p.ALIGNED)
NOV_2 = D(2026, 11, 2)  # a Monday
BOX, COFFEE = Decimal("39.90"), Decimal("12.50")


def sched(lines, rhythm=MONDAYS, start=NOV_2, **values):
    return s.Schedule(rhythm=rhythm, segment_start=start, subscription_start=start, lines=lines, **values)


def amounts(schedule, count):
    walk = s.invoices(schedule)
    return [(invoice.period.start, invoice.untaxed) for invoice in (next(walk) for _ in range(count))]


def once(key, start, untaxed):
    return s.Change(key=key, start=start, end=start, line=s.Line(Decimal(untaxed)))


def from_on(key, start, untaxed):
    return s.Change(key=key, start=start, line=s.Line(Decimal(untaxed)))


def test_a_change_for_one_period_bills_that_period_only():
    coffee = s.Line(COFFEE, changes=(once(1, D(2026, 11, 16), "37.50"),))  # 3 bags instead of 1
    assert amounts(sched((s.Line(BOX), coffee)), 4) == [
        (D(2026, 11, 2), Decimal("52.40")), (D(2026, 11, 9), Decimal("52.40")),
        (D(2026, 11, 16), Decimal("77.40")), (D(2026, 11, 23), Decimal("52.40"))]


def test_a_change_from_a_period_on_bills_every_period_from_it():
    coffee = s.Line(COFFEE, changes=(from_on(1, D(2026, 11, 16), "25.00"),))
    assert [amount for _day, amount in amounts(sched((coffee,)), 4)] == [
        COFFEE, COFFEE, Decimal("25.00"), Decimal("25.00")]


def test_a_one_period_change_wins_over_a_change_from_then_on_and_the_line_returns_to_it():
    coffee = s.Line(COFFEE, changes=(from_on(1, D(2026, 11, 9), "25.00"), once(2, D(2026, 11, 16), "0")))
    assert [amount for _day, amount in amounts(sched((coffee,)), 4)] == [
        COFFEE, Decimal("25.00"), Decimal("0.00"), Decimal("25.00")]


def test_the_latest_change_from_then_on_holds():
    coffee = s.Line(COFFEE, changes=(from_on(1, D(2026, 11, 9), "25.00"), from_on(2, D(2026, 11, 23), "50.00")))
    assert [amount for _day, amount in amounts(sched((coffee,)), 4)] == [
        COFFEE, Decimal("25.00"), Decimal("25.00"), Decimal("50.00")]
    assert s.last_change((coffee,)) == D(2026, 11, 23)


def test_a_decrease_to_zero_bills_nothing_for_the_line():
    coffee = s.Line(COFFEE, changes=(once(1, D(2026, 11, 9), "0"),))
    assert amounts(sched((coffee,)), 2)[1] == (D(2026, 11, 9), Decimal("0.00"))


def test_a_prorated_period_prorates_the_changed_line():
    # aligned to Mondays, started on a Thursday: the lead-in 5-8 Nov is 4 of 7 days
    coffee = s.Line(Decimal("14.00"), changes=(once(1, D(2026, 11, 5), "28.00"),))
    first = next(s.invoices(sched((coffee,), rhythm=ALIGNED, start=D(2026, 11, 5))))
    assert (first.period.start, first.is_prorated, first.untaxed) == (D(2026, 11, 5), True, Decimal("16.00"))
    assert s.line_base(coffee, first.period) == Decimal("16.00")


def test_the_full_amount_of_the_mrr_leaves_the_changes_out():
    coffee = s.Line(COFFEE, changes=(from_on(1, D(2026, 11, 9), "25.00"),))
    assert s.full_amount(sched((coffee,))) == COFFEE


@settings(max_examples=60, deadline=None)
@given(week=st.integers(0, 20), scope=st.sampled_from(["once", "from"]), quantity=st.integers(0, 5),
       months=st.integers(1, 6))
def test_the_forecast_equals_the_invoices_with_changes(week, scope, quantity, months):
    start = NOV_2 + timedelta(weeks=week)
    untaxed = COFFEE * quantity
    change = once(1, start, untaxed) if scope == "once" else from_on(1, start, untaxed)
    schedule = sched((s.Line(BOX), s.Line(COFFEE, changes=(change,))))
    last = f.month_start(NOV_2) + timedelta(days=31 * months)
    expected = f.expected_invoices(schedule, NOV_2, last)
    walked = []
    for invoice in s.invoices(schedule):
        if invoice.period.invoice_date > last:
            break
        walked.append((invoice.period.invoice_date, invoice.untaxed))
    assert expected == walked
