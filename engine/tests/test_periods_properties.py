"""Property tests of engine.periods (hypothesis)."""

import itertools
import re
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import periods as p

starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
week_rhythms = st.builds(
    p.Rhythm,
    unit=st.just(p.WEEK),
    interval=st.integers(1, 52),
    timing=st.sampled_from(p.TIMINGS),
    send_weekday=st.integers(0, 6),
    anchoring=st.sampled_from(p.ANCHORINGS),
)
any_rhythms = st.one_of(
    week_rhythms,
    st.builds(p.Rhythm, unit=st.sampled_from([p.MONTH, p.YEAR]), interval=st.integers(1, 24),
              timing=st.sampled_from(p.TIMINGS), anchoring=st.sampled_from(p.ANCHORINGS)),
)
cents = st.integers(1, 10_000_000).map(lambda c: Decimal(c) / 100)


def first(rhythm, start, count, end=None):
    gen = p.iter_periods(rhythm, start, end=end)
    out = []
    for period in gen:
        out.append(period)
        if len(out) == count:
            break
    return out


@settings(max_examples=300)
@given(any_rhythms, starts, st.integers(1, 40))
def test_periods_are_contiguous_and_never_overlap(rhythm, start, count):
    found = first(rhythm, start, count)
    assert found[0].start == start
    for before, after in itertools.pairwise(found):
        assert after.start == before.end + timedelta(days=1)
    for period in found:
        assert period.start <= period.end
        assert period.full_start <= period.start and period.end <= period.full_end
        assert 0 < period.factor <= 1
    assert all(x.factor == 1 for x in found[1:])


@settings(max_examples=300)
@given(week_rhythms, starts, st.integers(1, 30))
def test_invoice_date_is_the_send_weekday_or_the_start(rhythm, start, count):
    for period in first(rhythm, start, count):
        assert period.invoice_date.weekday() == rhythm.send_weekday or period.invoice_date == start
        assert period.invoice_date >= start
        if rhythm.timing == p.ADVANCE:
            assert period.invoice_date <= period.start
            assert (period.start - period.invoice_date).days < 7 or period.invoice_date == start
        else:
            assert 0 < (period.invoice_date - period.end).days <= 7


@settings(max_examples=300)
@given(week_rhythms, starts, st.integers(1, 8), cents)
def test_prorated_year_adds_up_to_the_full_periods(rhythm, start, whole, price):
    """Whatever the start, a span of whole periods bills whole periods, to the cent."""
    period_days = 7 * rhythm.interval
    end = start + timedelta(days=whole * period_days - 1)
    found = list(p.iter_periods(rhythm, start, end=end))
    assert found[-1].end == end
    assert sum((x.factor for x in found), Fraction(0)) == whole
    assert sum(p.period_amount(price, x) for x in found) == price * whole


@settings(max_examples=200)
@given(any_rhythms, starts, st.integers(0, 800))
def test_period_on_finds_the_period_of_each_day(rhythm, start, offset):
    day = start + timedelta(days=offset)
    found = p.period_on(rhythm, start, day)
    assert found.start <= day <= found.end


@settings(max_examples=200)
@given(any_rhythms, starts, st.integers(1, 12))
def test_term_end_is_the_end_of_a_period(rhythm, start, count):
    end = p.term_end(rhythm, start, count)
    found = list(p.iter_periods(rhythm, start, end=end))
    assert found[-1].end == end and not found[-1].is_prorated
    full = [x for x in found if not x.is_prorated]
    assert len(full) == count


EMPTY_RANGE = re.compile(r"\b(\d+)\u2013\1\b")


@settings(max_examples=500)
@given(starts, st.integers(0, 800), st.sampled_from(p.UNITS))
def test_no_label_reads_like_an_empty_range(start, length, unit):
    """Never '12–12' nor '2 Dec – 2 Dec': a range is written only between two different values, and each
    week of a period of two ISO years is named with its year."""
    end = start + timedelta(days=length)
    label = p.period_label(start, end, unit=unit)
    assert not EMPTY_RANGE.search(label), label
    assert str(end.year) in label and str(end.day) in label
    if length == 0:
        assert "\u2013" not in label, label
    if unit == p.WEEK:
        (first_year, first, _), (last_year, last, _) = start.isocalendar(), end.isocalendar()
        if first_year != last_year:
            assert f"week {first} {first_year} \u2013 week {last} {last_year}" in label, label
        elif first != last:
            assert label.startswith(f"weeks {first}\u2013{last} {first_year}, "), label
        else:
            assert label.startswith(f"week {first} {first_year}, "), label
