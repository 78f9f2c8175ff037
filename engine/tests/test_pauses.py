"""Pauses in the schedule (engine.periods), with fixed dates and properties."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import periods as p

D = date
WEEKLY_MON = p.Rhythm(p.WEEK, 1, p.ADVANCE, send_weekday=0)
TWO_WEEKS_MON = p.Rhythm(p.WEEK, 2, p.ADVANCE, send_weekday=0)


def spans(found):
    return [(x.start, x.end, x.invoice_date) for x in found]


def take(rhythm, start, count, pauses=(), **kwargs):
    return p.periods_after(rhythm, start, limit=count, pauses=pauses, **kwargs)


def test_pause_end_counts_whole_weeks():
    assert p.pause_end(D(2026, 12, 7), 1) == D(2026, 12, 13)
    assert p.pause_end(D(2026, 12, 28), 3) == D(2027, 1, 17)
    with pytest.raises(ValueError):
        p.pause_end(D(2026, 12, 7), 0)
    with pytest.raises(ValueError):
        p.Pause(D(2026, 12, 7), D(2026, 12, 6))


def test_pause_at_a_boundary_needs_no_correction():
    # weekly from Mon 30 Nov 2026; 2 weeks paused from Mon 14 Dec
    pause = p.Pause(D(2026, 12, 14), p.pause_end(D(2026, 12, 14), 2))
    found = take(WEEKLY_MON, D(2026, 11, 30), 4, pauses=[pause])
    assert spans(found) == [
        (D(2026, 11, 30), D(2026, 12, 6), D(2026, 11, 30)),
        (D(2026, 12, 7), D(2026, 12, 13), D(2026, 12, 7)),
        # 14-27 Dec paused: billing picks up on Mon 28 Dec, ISO week 53
        (D(2026, 12, 28), D(2027, 1, 3), D(2026, 12, 28)),
        (D(2027, 1, 4), D(2027, 1, 10), D(2027, 1, 4)),
    ]
    assert not any(x.is_prorated for x in found)
    assert p.iso_weeks(found[2].start, found[2].end) == "53"


def test_pause_in_mid_period_cuts_and_restarts_the_rhythm():
    # every 2 weeks from Wed 2 Dec 2026, Monday send day; pause from Mon 21 Dec for 3 weeks
    pause = p.Pause(D(2026, 12, 21), p.pause_end(D(2026, 12, 21), 3))
    assert pause.end == D(2027, 1, 10)
    found = take(TWO_WEEKS_MON, D(2026, 12, 2), 4, pauses=[pause])
    assert spans(found) == [
        (D(2026, 12, 2), D(2026, 12, 15), D(2026, 12, 2)),
        # cut the day before the pause: 5 of 14 days
        (D(2026, 12, 16), D(2026, 12, 20), D(2026, 12, 14)),
        # the day after the pause ends starts full 2-week periods; the send day stays Monday
        (D(2027, 1, 11), D(2027, 1, 24), D(2027, 1, 11)),
        (D(2027, 1, 25), D(2027, 2, 7), D(2027, 1, 25)),
    ]
    cut = found[1]
    assert (cut.days, cut.full_days, cut.is_lead_in) == (5, 14, False)
    assert p.period_amount(Decimal("59.90"), cut) == Decimal("21.39")  # 59.90 x 5/14 = 21.392...


def test_every_two_weeks_paused_for_an_odd_number_of_weeks():
    # 2-weekly from Mon 4 Jan 2027; 3 weeks paused at the boundary of 18 Jan
    pause = p.Pause(D(2027, 1, 18), p.pause_end(D(2027, 1, 18), 3))
    found = take(TWO_WEEKS_MON, D(2027, 1, 4), 3, pauses=[pause])
    assert spans(found) == [
        (D(2027, 1, 4), D(2027, 1, 17), D(2027, 1, 4)),
        (D(2027, 2, 8), D(2027, 2, 21), D(2027, 2, 8)),
        (D(2027, 2, 22), D(2027, 3, 7), D(2027, 2, 22)),
    ]
    # aligned on Mondays: an odd pause keeps the periods on whole weeks too
    aligned = p.Rhythm(p.WEEK, 2, p.ADVANCE, send_weekday=0, anchoring=p.ALIGNED)
    assert spans(take(aligned, D(2027, 1, 4), 2, pauses=[pause]))[1] == (D(2027, 2, 8), D(2027, 2, 21), D(2027, 2, 8))


def test_pause_across_year_end_and_week_53_in_arrears():
    rhythm = p.Rhythm(p.WEEK, 1, p.ARREARS, send_weekday=4)  # Fridays, in arrears
    pause = p.Pause(D(2026, 12, 24), D(2027, 1, 6))  # Thu 24 Dec - Wed 6 Jan: 2 weeks
    found = take(rhythm, D(2026, 12, 17), 3, pauses=[pause])
    assert spans(found) == [
        (D(2026, 12, 17), D(2026, 12, 23), D(2026, 12, 25)),
        (D(2027, 1, 7), D(2027, 1, 13), D(2027, 1, 15)),
        (D(2027, 1, 14), D(2027, 1, 20), D(2027, 1, 22)),
    ]


def test_month_plan_paused_mid_month_restarts_from_the_day_after():
    rhythm = p.Rhythm(p.MONTH, 1, p.ADVANCE)
    pause = p.Pause(D(2027, 2, 15), p.pause_end(D(2027, 2, 15), 2))  # 15-28 Feb 2027
    found = take(rhythm, D(2027, 1, 1), 3, pauses=[pause])
    assert spans(found) == [
        (D(2027, 1, 1), D(2027, 1, 31), D(2027, 1, 1)),
        (D(2027, 2, 1), D(2027, 2, 14), D(2027, 2, 1)),
        (D(2027, 3, 1), D(2027, 3, 31), D(2027, 3, 1)),
    ]
    # leap year: 2 weeks from 16 Feb 2028 end on 29 Feb
    assert p.pause_end(D(2028, 2, 16), 2) == D(2028, 2, 29)


def test_invoiced_period_in_mid_pause_credit_and_carry_over_match_to_the_cent():
    # 59.90 invoiced in advance for 16-29 Dec; a pause from 21 Dec leaves 9 of 14 days unused
    assert p.unused_share(D(2026, 12, 16), D(2026, 12, 29), D(2026, 12, 21)) == (9, 14)
    given_back = p.unused_amount(Decimal("59.90"), D(2026, 12, 16), D(2026, 12, 29), D(2026, 12, 21))
    assert given_back == Decimal("38.51")  # 59.90 x 9/14 = 38.507
    # what stays billed is exactly what the cut period would have billed
    rhythm = TWO_WEEKS_MON
    pause = p.Pause(D(2026, 12, 21), D(2027, 1, 10))
    cut = take(rhythm, D(2026, 12, 16), 1, pauses=[pause])[0]
    assert (cut.start, cut.end) == (D(2026, 12, 16), D(2026, 12, 20))
    assert p.period_amount(Decimal("59.90"), cut) + given_back == Decimal("59.90")
    # nothing unused before the period, all of it when the pause starts on day one
    assert p.unused_amount(Decimal("59.90"), D(2026, 12, 16), D(2026, 12, 29), D(2026, 12, 30)) == 0
    assert p.unused_amount(Decimal("59.90"), D(2026, 12, 16), D(2026, 12, 29), D(2026, 12, 1)) == Decimal("59.90")


def test_two_pauses_in_one_paid_period_never_give_back_a_day_twice():
    # 310.00 for 1-31 Jan; a pause from 20 Jan gives back 12 days, a later one from 10 Jan only 10 more
    first = p.unused_amount(Decimal("310"), D(2027, 1, 1), D(2027, 1, 31), D(2027, 1, 20))
    second = p.unused_amount(Decimal("310"), D(2027, 1, 1), D(2027, 1, 31), D(2027, 1, 10),
                             paid_until=D(2027, 1, 19))
    assert (first, second) == (Decimal("120.00"), Decimal("100.00"))
    # 59.90 for 14 days: back from day 6 to 9, then from day 3 to 5: kept + both = invoiced
    a = p.unused_amount(Decimal("59.90"), D(2027, 1, 4), D(2027, 1, 17), D(2027, 1, 9))
    b = p.unused_amount(Decimal("59.90"), D(2027, 1, 4), D(2027, 1, 17), D(2027, 1, 6), paid_until=D(2027, 1, 8))
    kept = p.period_amount(Decimal("59.90"), p.Period(D(2027, 1, 4), D(2027, 1, 5), D(2027, 1, 4),
                                                      D(2027, 1, 4), D(2027, 1, 17)))
    assert kept + a + b == Decimal("59.90")
    assert p.unused_amount(Decimal("59.90"), D(2027, 1, 4), D(2027, 1, 17), D(2027, 1, 9),
                           paid_until=D(2027, 1, 8)) == 0


def test_half_cent_rounds_so_both_parts_add_up():
    # 0.07 x 3/14 = 0.015: given back half up (0.02); the 11 days kept, a period
    # cut at its end, round half down (0.055 -> 0.05)
    assert p.unused_amount(Decimal("0.07"), D(2027, 1, 4), D(2027, 1, 17), D(2027, 1, 15)) == Decimal("0.02")
    pause = p.Pause(D(2027, 1, 15), D(2027, 1, 21))
    kept = next(p.iter_schedule(TWO_WEEKS_MON, D(2027, 1, 4), pauses=[pause]))
    assert p.period_amount(Decimal("0.07"), kept) == Decimal("0.05")


def test_next_boundary_and_period_on_in_a_pause():
    pause = p.Pause(D(2026, 12, 14), D(2026, 12, 27))
    assert p.next_boundary(WEEKLY_MON, D(2026, 11, 30), D(2026, 12, 2)) == D(2026, 12, 7)
    assert p.next_boundary(WEEKLY_MON, D(2026, 11, 30), D(2026, 12, 7)) == D(2026, 12, 7)
    assert p.next_boundary(WEEKLY_MON, D(2026, 11, 30), D(2026, 12, 15), pauses=[pause]) == D(2026, 12, 28)
    assert p.period_on(WEEKLY_MON, D(2026, 11, 30), D(2026, 12, 20), pauses=[pause]) is None
    assert p.period_on(WEEKLY_MON, D(2026, 11, 30), D(2026, 12, 29), pauses=[pause]).start == D(2026, 12, 28)


def test_fixed_term_pushed_back_by_the_paused_weeks():
    # 4 weekly periods from 30 Nov end on 27 Dec; 2 paused weeks push the end to 10 Jan
    end = p.term_end(WEEKLY_MON, D(2026, 11, 30), 4)
    pause = p.Pause(D(2026, 12, 7), D(2026, 12, 20))
    pushed = end + timedelta(days=pause.days)
    assert pushed == D(2027, 1, 10)
    found = list(p.iter_schedule(WEEKLY_MON, D(2026, 11, 30), end=pushed, pauses=[pause]))
    assert len(found) == 4 and not any(x.is_prorated for x in found)
    # a renewal counts periods of the paused schedule
    assert p.extend_term(WEEKLY_MON, D(2026, 11, 30), pushed, 2, pauses=[pause]) == D(2027, 1, 24)


def test_rolling_twelve_months_of_paused_days():
    pauses = [p.Pause(D(2026, 1, 5), D(2026, 1, 25)),   # 3 weeks
              p.Pause(D(2026, 12, 14), D(2027, 1, 3)),  # 3 weeks, within 12 months of the first
              p.Pause(D(2027, 6, 7), D(2027, 6, 13))]   # 1 week
    assert p.paused_days_between(pauses, D(2026, 1, 1), D(2026, 12, 31)) == 21 + 18
    # the 12 months to 3 Jan 2027 hold 6 weeks; those to 13 Jun 2027 hold 3 + 1 weeks
    assert p.max_paused_days_in_a_year(pauses) == 42
    assert p.max_paused_days_in_a_year(pauses[1:]) == 28


def test_shifted_invoice_dates_pair_each_invoice_with_its_old_date():
    pause = p.Pause(D(2026, 12, 14), D(2026, 12, 27))
    pairs = p.shifted_invoice_dates(WEEKLY_MON, D(2026, 11, 30), invoiced_until=D(2026, 12, 6),
                                    pauses=[pause], count=3)
    assert [(x.invoice_date, old) for x, old in pairs] == [
        (D(2026, 12, 7), D(2026, 12, 7)),
        (D(2026, 12, 28), D(2026, 12, 14)),
        (D(2027, 1, 4), D(2026, 12, 21)),
    ]


# -- properties ----------------------------------------------------------------

rhythms = st.builds(
    p.Rhythm,
    unit=st.sampled_from([p.WEEK, p.WEEK, p.MONTH]),
    interval=st.integers(1, 6),
    timing=st.sampled_from(p.TIMINGS),
    send_weekday=st.integers(0, 6),
    anchoring=st.sampled_from(p.ANCHORINGS),
)
starts = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def paused_schedules(draw):
    rhythm = draw(rhythms)
    start = draw(starts)
    pauses, day = [], start
    for _ in range(draw(st.integers(1, 3))):
        day += timedelta(days=draw(st.integers(0, 120)))
        weeks = draw(st.integers(1, 8))
        pauses.append(p.Pause(day, p.pause_end(day, weeks)))
        day = pauses[-1].end + timedelta(days=draw(st.integers(1, 60)))
    end = day + timedelta(days=draw(st.integers(0, 200)))
    return rhythm, start, pauses, end


@settings(max_examples=400, deadline=None)
@given(paused_schedules())
def test_invoices_after_pauses_cover_exactly_the_unpaused_days(case):
    rhythm, start, pauses, end = case
    found = list(p.iter_schedule(rhythm, start, end=end, pauses=pauses))
    covered = set()
    for period in found:
        days = {period.start + timedelta(days=n) for n in range(period.days)}
        assert not days & covered, "a day is billed twice"
        covered |= days
        assert period.full_start <= period.start <= period.end <= period.full_end
    paused = {x.start + timedelta(days=n) for x in pauses for n in range(x.days)}
    every_day = {start + timedelta(days=n) for n in range((end - start).days + 1)}
    assert covered == every_day - paused
    # periods in order, invoice dates never before the start
    assert all(a.end < b.start for a, b in pairwise(found))
    assert all(x.invoice_date >= start for x in found)


@settings(max_examples=300, deadline=None)
@given(paused_schedules(), st.integers(1, 10_000_000))
def test_given_back_plus_kept_is_what_was_invoiced(case, cents):
    rhythm, start, pauses, _end = case
    amount = Decimal(cents) / 100
    period = next(p.iter_periods(rhythm, start))
    pause_start = pauses[0].start
    kept_period = next(p.iter_schedule(rhythm, start, pauses=[p.Pause(pause_start, pauses[0].end)]), None)
    given_back = p.unused_amount(amount, period.start, period.end, pause_start)
    assert 0 <= given_back <= amount
    if pause_start <= period.start:
        assert given_back == amount
    elif pause_start > period.end:
        assert given_back == 0
    elif not period.is_prorated:
        assert kept_period.end == pause_start - timedelta(days=1)
        assert p.period_amount(amount, kept_period) + given_back == amount
