"""The lead-in (engine.periods.bills): its own invoice, merged with the first full period, or free."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice, pairwise, takewhile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import forecast as f
from engine import periods as p
from engine import schedule as s

D = date
ALIGNED = p.Rhythm(p.WEEK, 1, p.ADVANCE, send_weekday=0, anchoring=p.ALIGNED)
ARREARS = replace(ALIGNED, timing=p.ARREARS)
MONTHLY = p.Rhythm(p.MONTH, 1, p.ADVANCE, anchoring=p.ALIGNED)
SUN_21_MAR = D(2027, 3, 21)  # a one-day lead-in before Monday 22 Mar 2027 (ISO week 12)
PRICE = Decimal("15.80")  # a day of it: 2.257 -> 2.26


def sched(rhythm=ALIGNED, start=SUN_21_MAR, policy=p.SEPARATE, days=0, **values):
    values.setdefault("lines", (s.Line(PRICE),))
    return s.Schedule(rhythm=rhythm, segment_start=start, subscription_start=start,
                      lead_in=p.LeadIn(policy, days), **values)


def first(schedule, count):
    return list(islice(s.invoices(schedule), count))


def summary(invoices):
    return [([(x.start, x.end) for x in i.periods], [x.start for x in i.free], i.period.invoice_date, i.untaxed)
            for i in invoices]


def test_separate_is_todays_invoice_of_its_own():
    assert summary(first(sched(), 2)) == [
        ([(SUN_21_MAR, SUN_21_MAR)], [], SUN_21_MAR, Decimal("2.26")),
        ([(D(2027, 3, 22), D(2027, 3, 28))], [], D(2027, 3, 22), PRICE)]


def test_merge_bills_both_periods_on_the_first_full_periods_invoice():
    walk = first(sched(policy=p.MERGE), 2)
    assert summary(walk) == [
        ([(SUN_21_MAR, SUN_21_MAR), (D(2027, 3, 22), D(2027, 3, 28))], [], D(2027, 3, 22), Decimal("18.06")),
        ([(D(2027, 3, 29), D(2027, 4, 4))], [], D(2027, 3, 29), PRICE)]
    merged = walk[0]
    assert (merged.period.start, merged.period.end, merged.bill.end) == (SUN_21_MAR, D(2027, 3, 28), D(2027, 3, 28))
    assert merged.is_prorated and not walk[1].is_prorated


def test_merge_in_arrears_waits_for_the_end_of_the_first_full_period():
    separate = first(sched(ARREARS), 2)
    assert [i.period.invoice_date for i in separate] == [D(2027, 3, 22), D(2027, 3, 29)]
    merged = first(sched(ARREARS, policy=p.MERGE), 2)
    assert summary(merged)[0] == (
        [(SUN_21_MAR, SUN_21_MAR), (D(2027, 3, 22), D(2027, 3, 28))], [], D(2027, 3, 29), Decimal("18.06"))
    assert merged[1].period.invoice_date == D(2027, 4, 5)


def test_merge_short_merges_only_a_lead_in_shorter_than_its_days():
    wed = D(2027, 3, 24)  # a lead-in of 5 days (24-28 Mar), 5/7 of 15.80 = 11.29
    assert len(first(sched(start=wed, policy=p.MERGE_SHORT, days=5), 1)[0].periods) == 1
    assert first(sched(start=wed, policy=p.MERGE_SHORT, days=5), 1)[0].untaxed == Decimal("11.29")
    merged = first(sched(start=wed, policy=p.MERGE_SHORT, days=6), 1)[0]
    assert len(merged.periods) == 2 and merged.untaxed == Decimal("11.29") + PRICE
    assert len(first(sched(policy=p.MERGE_SHORT, days=2), 1)[0].periods) == 2  # 1 day < 2


def test_free_lead_in_is_settled_by_the_first_invoice():
    walk = first(sched(policy=p.FREE), 2)
    assert summary(walk) == [
        ([(D(2027, 3, 22), D(2027, 3, 28))], [SUN_21_MAR], D(2027, 3, 22), PRICE),
        ([(D(2027, 3, 29), D(2027, 4, 4))], [], D(2027, 3, 29), PRICE)]
    # the invoice itself bills the full period only; it settles the lead-in too
    assert (walk[0].period.start, walk[0].bill.start, walk[0].bill.end) == (
        D(2027, 3, 22), SUN_21_MAR, D(2027, 3, 28))


def test_a_schedule_ending_in_its_lead_in():
    ended = {"end": SUN_21_MAR}
    assert summary(first(sched(policy=p.MERGE, **ended), 5)) == [
        ([(SUN_21_MAR, SUN_21_MAR)], [], SUN_21_MAR, Decimal("2.26"))]
    free = first(sched(policy=p.FREE, **ended), 5)
    assert len(free) == 1 and not free[0].is_invoiced and free[0].untaxed == 0
    assert (free[0].bill.start, free[0].bill.end, free[0].period.invoice_date) == (SUN_21_MAR, SUN_21_MAR, SUN_21_MAR)
    assert f.expected_invoices(sched(policy=p.FREE, **ended), D(2027, 3, 1), D(2027, 12, 31)) == []


def test_no_merge_across_a_pause():
    # paused from the first full period on: the lead-in is not followed by its full period
    pause = p.Pause(D(2027, 3, 22), D(2027, 4, 4))
    walk = first(sched(policy=p.MERGE, pauses=(pause,)), 2)
    assert summary(walk) == [
        ([(SUN_21_MAR, SUN_21_MAR)], [], SUN_21_MAR, Decimal("2.26")),
        ([(D(2027, 4, 5), D(2027, 4, 11))], [], D(2027, 4, 5), PRICE)]


def test_a_billed_lead_in_is_never_billed_again():
    # billed on its own (say before the plan's option changed): the next invoice is the full period alone
    for policy in p.LEAD_IN_POLICIES:
        after = first(sched(policy=policy, days=3, invoiced_until=SUN_21_MAR), 1)[0]
        assert [(x.start, x.end) for x in after.periods] == [(D(2027, 3, 22), D(2027, 3, 28))] and not after.free


def test_only_the_subscriptions_own_lead_in():
    # after a pause ending on a Wednesday the schedule picks up with a lead-in of its own: billed as it comes
    mon = D(2027, 3, 22)
    pause = p.Pause(D(2027, 3, 29), D(2027, 3, 30))
    walk = first(sched(start=mon, policy=p.FREE, pauses=(pause,)), 3)
    assert [(i.period.start, i.period.end, i.untaxed) for i in walk] == [
        (mon, D(2027, 3, 28), PRICE), (D(2027, 3, 31), D(2027, 4, 4), Decimal("11.29")),
        (D(2027, 4, 5), D(2027, 4, 11), PRICE)]
    assert not any(i.free for i in walk)


def test_iso_week_53_and_year_end():
    # Sun 3 Jan 2027 is the last day of ISO week 53 of 2026; merged with week 1 of 2027
    merged = first(sched(start=D(2027, 1, 3), policy=p.MERGE), 1)[0]
    assert (merged.period.start, merged.period.end, merged.period.invoice_date) == (
        D(2027, 1, 3), D(2027, 1, 10), D(2027, 1, 4))
    assert p.period_label(merged.period.start, merged.period.end) == \
        "week 53 2026 \u2013 week 1 2027, 3\u201310 Jan 2027"
    # a monthly plan started on 31 Dec: the lead-in of one day goes with January
    year_end = first(sched(MONTHLY, D(2026, 12, 31), p.MERGE, lines=(s.Line(Decimal("310.00")),)), 1)[0]
    assert [(x.start, x.end) for x in year_end.periods] == [
        (D(2026, 12, 31), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 1, 31))]
    assert year_end.untaxed == Decimal("10.00") + Decimal("310.00")  # 1/31 of 310.00
    assert year_end.period.invoice_date == D(2027, 1, 1)


def test_leap_day():
    # a monthly plan started on 29 Feb 2028: lead-in 29 Feb (1 of 29 days), merged with March
    walk = first(sched(MONTHLY, D(2028, 2, 29), p.MERGE_SHORT, 7, lines=(s.Line(Decimal("290.00")),)), 2)
    assert [(x.start, x.end) for x in walk[0].periods] == [
        (D(2028, 2, 29), D(2028, 2, 29)), (D(2028, 3, 1), D(2028, 3, 31))]
    assert walk[0].untaxed == Decimal("300.00") and walk[0].period.invoice_date == D(2028, 3, 1)
    assert walk[1].period.start == D(2028, 4, 1)


def test_the_forecast_follows_the_option():
    months = (D(2027, 3, 1), 2)
    assert f.invoices_by_month(sched(), *months) == {
        D(2027, 3, 1): (3, Decimal("2.26") + 2 * PRICE), D(2027, 4, 1): (4, 4 * PRICE)}
    assert f.invoices_by_month(sched(policy=p.MERGE), *months) == {
        D(2027, 3, 1): (2, Decimal("2.26") + 2 * PRICE), D(2027, 4, 1): (4, 4 * PRICE)}
    assert f.invoices_by_month(sched(policy=p.FREE), *months) == {
        D(2027, 3, 1): (2, 2 * PRICE), D(2027, 4, 1): (4, 4 * PRICE)}


@pytest.mark.parametrize("bad", [{"policy": "later"}, {"policy": p.MERGE_SHORT}, {"policy": p.MERGE_SHORT,
                                                                                   "merge_days": -1}])
def test_lead_in_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        p.LeadIn(**bad)


# -- properties -------------------------------------------------------------------

rhythms = st.builds(p.Rhythm, unit=st.sampled_from([p.WEEK, p.WEEK, p.MONTH, p.YEAR]), interval=st.integers(1, 4),
                    timing=st.sampled_from(p.TIMINGS), send_weekday=st.integers(0, 6),
                    anchoring=st.sampled_from(p.ANCHORINGS))
lead_ins = st.one_of(st.sampled_from([p.LeadIn(p.SEPARATE), p.LeadIn(p.MERGE), p.LeadIn(p.FREE)]),
                     st.integers(1, 40).map(lambda days: p.LeadIn(p.MERGE_SHORT, days)))
prices = st.lists(st.decimals(min_value=0, max_value=900, places=2), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None)
@given(rhythms, st.dates(min_value=D(2024, 1, 1), max_value=D(2028, 12, 31)), lead_ins, prices,
       st.one_of(st.none(), st.integers(0, 400)), st.integers(0, 120))
def test_every_day_is_settled_once_in_order_and_reruns_bill_the_rest(rhythm, start, lead_in, amounts, length,
                                                                      pause_offset):
    end = start + timedelta(days=length) if length is not None else None
    pause_start = start + timedelta(days=pause_offset)
    pauses = (p.Pause(pause_start, p.pause_end(pause_start, 1)),) if pause_offset % 2 else ()
    lines = tuple(s.Line(amount) for amount in amounts)
    grouped = sched(rhythm, start, lead_in.policy, lead_in.merge_days, end=end, pauses=pauses, lines=lines)
    plain = replace(grouped, lead_in=p.LeadIn())
    walk, each = first(grouped, 12), first(plain, 14)
    # the bills settle exactly the schedule's periods, each once, in order
    settled = [x for i in walk for x in sorted(i.free + i.periods, key=lambda x: x.start)]
    assert settled == [i.period for i in each][:len(settled)]
    assert all(a.bill.end < b.bill.start for a, b in pairwise(walk))
    assert all(a.period.invoice_date <= b.period.invoice_date for a, b in pairwise(walk))
    # only the first invoice is grouped; what it bills is what the separate invoices bill, less a free lead-in
    assert all(len(i.periods) == 1 and not i.free for i in walk[1:])
    if walk:
        head = walk[0]
        assert head.untaxed == sum((i.untaxed for i in each if i.period in head.periods), Decimal(0))
        assert all(p.is_opening_lead_in(x, start) for x in head.free + head.periods[:-1])
    # a rerun after any number of invoices bills the rest, never a settled day again
    for done in range(1, min(len(walk), 4)):
        again = first(replace(grouped, invoiced_until=walk[done - 1].bill.end), len(walk) - done)
        assert [i.bill for i in again] == [i.bill for i in walk[done:]]
    # the forecast counts the invoices the schedule makes, and nothing for a free lead-in
    if walk:
        last_day = walk[-1].period.invoice_date
        made = takewhile(lambda i: i.period.invoice_date <= last_day, s.invoices(grouped))
        assert f.expected_invoices(grouped, start, last_day) == [
            (i.period.invoice_date, i.untaxed) for i in made if i.is_invoiced]
