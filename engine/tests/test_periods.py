"""Date rules of engine.periods, with fixed dates (see README, "Date rules")."""

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from engine import periods as p

D = date


def take(rhythm, start, count, **kwargs):
    gen = p.iter_periods(rhythm, start, **kwargs)
    return [next(gen) for _ in range(count)]


def spans(found):
    return [(x.start, x.end, x.invoice_date) for x in found]


# -- the reference example: Wed 2 Dec 2026, every 2 weeks, Monday, in advance --

def test_from_start_every_two_weeks_across_year_end():
    rhythm = p.Rhythm(p.WEEK, 2, p.ADVANCE, send_weekday=0)
    assert spans(take(rhythm, D(2026, 12, 2), 4)) == [
        # latest Monday on or before 2 Dec is 30 Nov, before the start: the start
        (D(2026, 12, 2), D(2026, 12, 15), D(2026, 12, 2)),
        (D(2026, 12, 16), D(2026, 12, 29), D(2026, 12, 14)),
        (D(2026, 12, 30), D(2027, 1, 12), D(2026, 12, 28)),
        (D(2027, 1, 13), D(2027, 1, 26), D(2027, 1, 11)),
    ]


def test_aligned_every_two_weeks_across_year_end():
    rhythm = p.Rhythm(p.WEEK, 2, p.ADVANCE, send_weekday=0, anchoring=p.ALIGNED)
    found = take(rhythm, D(2026, 12, 2), 4)
    assert spans(found) == [
        (D(2026, 12, 2), D(2026, 12, 6), D(2026, 12, 2)),
        (D(2026, 12, 7), D(2026, 12, 20), D(2026, 12, 7)),
        (D(2026, 12, 21), D(2027, 1, 3), D(2026, 12, 21)),
        (D(2027, 1, 4), D(2027, 1, 17), D(2027, 1, 4)),
    ]
    lead_in = found[0]
    assert (lead_in.full_start, lead_in.full_end) == (D(2026, 11, 23), D(2026, 12, 6))
    assert lead_in.factor == Fraction(5, 14)
    assert lead_in.is_lead_in and lead_in.is_prorated
    assert [x.factor for x in found[1:]] == [1, 1, 1]


def test_aligned_start_on_send_day_has_no_lead_in():
    rhythm = p.Rhythm(p.WEEK, 1, send_weekday=0, anchoring=p.ALIGNED)
    first = take(rhythm, D(2026, 12, 7), 1)[0]
    assert (first.start, first.end, first.factor) == (D(2026, 12, 7), D(2026, 12, 13), 1)


def test_in_arrears_bills_first_send_day_after_the_period():
    rhythm = p.Rhythm(p.WEEK, 1, p.ARREARS, send_weekday=0)
    assert spans(take(rhythm, D(2026, 12, 2), 2)) == [
        (D(2026, 12, 2), D(2026, 12, 8), D(2026, 12, 14)),
        (D(2026, 12, 9), D(2026, 12, 15), D(2026, 12, 21)),
    ]
    # a period ending on the eve of the send day is invoiced the next day
    sunday_end = p.Rhythm(p.WEEK, 1, p.ARREARS, send_weekday=0)
    assert take(sunday_end, D(2026, 12, 7), 1)[0].invoice_date == D(2026, 12, 14)


def test_friday_every_two_weeks_in_advance():
    rhythm = p.Rhythm(p.WEEK, 2, p.ADVANCE, send_weekday=4)
    found = take(rhythm, D(2026, 11, 30), 2)
    assert [x.invoice_date for x in found] == [D(2026, 11, 30), D(2026, 12, 11)]
    assert all(x.invoice_date.weekday() == 4 for x in found[1:])


def test_every_six_weeks_and_fifty_two():
    six = take(p.Rhythm(p.WEEK, 6), D(2027, 1, 4), 2)
    assert [(x.start, x.end) for x in six] == [
        (D(2027, 1, 4), D(2027, 2, 14)), (D(2027, 2, 15), D(2027, 3, 28))]
    year = take(p.Rhythm(p.WEEK, 52), D(2026, 1, 5), 1)[0]
    assert year.end == D(2027, 1, 3) and year.days == 364


@pytest.mark.parametrize("bad", [
    {"unit": "fortnight"}, {"interval": 0}, {"interval": 53}, {"timing": "later"},
    {"send_weekday": 7}, {"anchoring": "moon"},
])
def test_rhythm_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        p.Rhythm(**bad)


# -- ISO weeks and labels -------------------------------------------------------

def test_label_two_weeks():
    assert p.period_label(D(2026, 11, 30), D(2026, 12, 13)) == "weeks 49\u201350 2026, 30 Nov \u2013 13 Dec 2026"


def test_label_one_week_names_its_year_and_writes_the_month_once():
    assert p.period_label(D(2027, 3, 22), D(2027, 3, 28)) == "week 12 2027, 22\u201328 Mar 2027"
    assert p.period_label(D(2027, 3, 22), D(2027, 4, 18)) == "weeks 12\u201315 2027, 22 Mar \u2013 18 Apr 2027"


def test_label_of_a_52_week_period_names_both_years():
    # the tester's case: 28 Mar 2027 (a Sunday, week 12 of 2027) to 25 Mar 2028 (week 12 of 2028)
    assert D(2027, 3, 28).isocalendar()[:2] == (2027, 12) and D(2028, 3, 25).isocalendar()[:2] == (2028, 12)
    assert p.period_label(D(2027, 3, 28), D(2028, 3, 25)) == \
        "week 12 2027 \u2013 week 12 2028, 28 Mar 2027 \u2013 25 Mar 2028"
    assert p.iso_weeks(D(2027, 3, 28), D(2028, 3, 25)) == "12 2027 \u2013 12 2028"


def test_label_iso_week_53_of_2026():
    # 2026 has an ISO week 53: Mon 28 Dec 2026 - Sun 3 Jan 2027, all of it in ISO year 2026
    assert D(2026, 12, 28).isocalendar()[:2] == (2026, 53)
    assert p.period_label(D(2026, 12, 28), D(2027, 1, 3)) == "week 53 2026, 28 Dec 2026 \u2013 3 Jan 2027"
    assert p.period_label(D(2026, 12, 21), D(2027, 1, 3)) == \
        "weeks 52\u201353 2026, 21 Dec 2026 \u2013 3 Jan 2027"
    assert p.period_label(D(2026, 12, 28), D(2027, 1, 10)) == \
        "week 53 2026 \u2013 week 1 2027, 28 Dec 2026 \u2013 10 Jan 2027"
    # 1 Jan 2027 is a Friday of week 53 of 2026: the ISO year, not the calendar year, is named
    assert p.period_label(D(2027, 1, 1), D(2027, 1, 1)) == "week 53 2026, 1 Jan 2027"


def test_label_year_end_without_week_53():
    # 2027 has no week 53: 27 Dec 2027 is week 52, 3 Jan 2028 is week 1
    assert p.iso_weeks(D(2027, 12, 27), D(2028, 1, 9)) == "52 2027 \u2013 1 2028"
    assert p.period_label(D(2027, 12, 27), D(2028, 1, 9)) == \
        "week 52 2027 \u2013 week 1 2028, 27 Dec 2027 \u2013 9 Jan 2028"
    # 30 Dec 2024 (a Monday) already is week 1 of 2025
    assert p.period_label(D(2024, 12, 30), D(2025, 1, 5)) == "week 1 2025, 30 Dec 2024 \u2013 5 Jan 2025"


def test_label_of_one_day_is_one_date():
    assert p.period_label(D(2028, 2, 29), D(2028, 2, 29)) == "week 9 2028, 29 Feb 2028"  # a leap day
    assert p.period_label(D(2028, 2, 29), D(2028, 2, 29), unit=p.MONTH) == "29 Feb 2028"
    assert p.period_label(D(2028, 2, 28), D(2028, 3, 5)) == "week 9 2028, 28 Feb \u2013 5 Mar 2028"


def test_label_months_and_translation_hooks():
    assert p.period_label(D(2027, 1, 31), D(2027, 2, 27), unit=p.MONTH) == "31 Jan \u2013 27 Feb 2027"
    assert p.period_label(D(2028, 2, 1), D(2028, 2, 29), unit=p.MONTH) == "1\u201329 Feb 2028"
    assert p.period_label(D(2027, 1, 1), D(2027, 12, 31), unit=p.YEAR) == "1 Jan \u2013 31 Dec 2027"
    french = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
              "sept.", "oct.", "nov.", "déc.")
    words = p.WeekWords(one="semaine %(week)s %(year)s", several="semaines %(first)s\u2013%(last)s %(year)s",
                        across="semaine %(first)s %(first_year)s \u2013 semaine %(last)s %(last_year)s")
    assert p.period_label(D(2026, 11, 30), D(2026, 12, 13), months=french, weeks=words) == \
        "semaines 49\u201350 2026, 30 nov. \u2013 13 déc. 2026"
    assert p.period_label(D(2026, 12, 28), D(2027, 1, 10), months=french, weeks=words) == \
        "semaine 53 2026 \u2013 semaine 1 2027, 28 déc. 2026 \u2013 10 janv. 2027"


# -- months and years: month-end clamping and leap days --------------------------

def test_month_periods_never_chain():
    found = take(p.Rhythm(p.MONTH, 1), D(2027, 1, 31), 4)
    assert [(x.start, x.end) for x in found] == [
        (D(2027, 1, 31), D(2027, 2, 27)),
        (D(2027, 2, 28), D(2027, 3, 30)),
        (D(2027, 3, 31), D(2027, 4, 29)),
        (D(2027, 4, 30), D(2027, 5, 30)),
    ]


def test_month_periods_in_a_leap_year():
    found = take(p.Rhythm(p.MONTH, 1), D(2028, 1, 31), 2)
    assert [(x.start, x.end) for x in found] == [
        (D(2028, 1, 31), D(2028, 2, 28)), (D(2028, 2, 29), D(2028, 3, 30))]


def test_year_periods_from_a_leap_day():
    found = take(p.Rhythm(p.YEAR, 1), D(2028, 2, 29), 5)
    assert [x.start for x in found] == [
        D(2028, 2, 29), D(2029, 2, 28), D(2030, 2, 28), D(2031, 2, 28), D(2032, 2, 29)]
    assert found[0].end == D(2029, 2, 27)


def test_month_invoice_dates_in_advance_and_arrears():
    advance = take(p.Rhythm(p.MONTH, 3, p.ADVANCE), D(2026, 11, 30), 2)
    assert [x.invoice_date for x in advance] == [D(2026, 11, 30), D(2027, 2, 28)]
    arrears = take(p.Rhythm(p.MONTH, 1, p.ARREARS), D(2026, 12, 1), 2)
    assert [x.invoice_date for x in arrears] == [D(2027, 1, 1), D(2027, 2, 1)]


def test_aligned_month_lead_in_runs_to_month_end():
    found = take(p.Rhythm(p.MONTH, 1, anchoring=p.ALIGNED), D(2027, 1, 15), 2)
    lead_in = found[0]
    assert (lead_in.start, lead_in.end, lead_in.factor) == (D(2027, 1, 15), D(2027, 1, 31), Fraction(17, 31))
    assert (found[1].start, found[1].end) == (D(2027, 2, 1), D(2027, 2, 28))


def test_aligned_year_starts_on_first_january():
    found = take(p.Rhythm(p.YEAR, 1, anchoring=p.ALIGNED), D(2028, 3, 1), 2)
    assert found[0].factor == Fraction(306, 366)  # 2028 is a leap year
    assert found[1].start == D(2029, 1, 1)


def test_holidays_do_not_move_invoice_dates():
    # Easter Monday 2027 is 29 March: invoices are still dated on the send day
    found = take(p.Rhythm(p.WEEK, 1, send_weekday=0), D(2027, 3, 22), 2)
    assert found[1].invoice_date == D(2027, 3, 29)


# -- end dates, terms and proration ---------------------------------------------

def test_end_date_mid_period_prorates_the_last_period():
    rhythm = p.Rhythm(p.WEEK, 1, send_weekday=0)
    found = list(p.iter_periods(rhythm, D(2026, 12, 7), end=D(2026, 12, 16)))
    assert [(x.start, x.end, x.factor) for x in found] == [
        (D(2026, 12, 7), D(2026, 12, 13), 1), (D(2026, 12, 14), D(2026, 12, 16), Fraction(3, 7))]
    assert not found[1].is_lead_in


def test_end_before_the_aligned_anchor():
    rhythm = p.Rhythm(p.WEEK, 1, send_weekday=0, anchoring=p.ALIGNED)
    found = list(p.iter_periods(rhythm, D(2026, 12, 2), end=D(2026, 12, 4)))
    assert [(x.start, x.end) for x in found] == [(D(2026, 12, 2), D(2026, 12, 4))]
    assert list(p.iter_periods(rhythm, D(2026, 12, 2), end=D(2026, 12, 1))) == []


def test_fixed_term_ends_after_its_last_period():
    rhythm = p.Rhythm(p.WEEK, 2, send_weekday=0)
    assert p.term_end(rhythm, D(2026, 12, 2), 4) == D(2027, 1, 26)
    aligned = p.Rhythm(p.WEEK, 2, send_weekday=0, anchoring=p.ALIGNED)
    assert p.term_end(aligned, D(2026, 12, 2), 4) == D(2027, 1, 31)
    assert p.term_end(p.Rhythm(p.MONTH, 1), D(2027, 1, 31), 1) == D(2027, 2, 27)
    assert p.term_end(p.Rhythm(p.YEAR, 1), D(2028, 2, 29), 1) == D(2029, 2, 27)


def test_periods_after_and_next_and_period_on():
    rhythm = p.Rhythm(p.WEEK, 2, send_weekday=0)
    start = D(2026, 12, 2)
    nxt = p.next_period(rhythm, start, invoiced_until=D(2026, 12, 29))
    assert (nxt.start, nxt.invoice_date) == (D(2026, 12, 30), D(2026, 12, 28))
    assert len(p.periods_after(rhythm, start, limit=6)) == 6
    assert p.next_period(rhythm, start, invoiced_until=D(2026, 12, 15), end=D(2026, 12, 15)) is None
    current = p.period_on(rhythm, start, D(2027, 1, 1))
    assert (current.start, current.end) == (D(2026, 12, 30), D(2027, 1, 12))
    assert p.period_on(rhythm, start, D(2026, 12, 1)) is None
    assert p.period_on(rhythm, start, D(2027, 1, 1), end=D(2026, 12, 31)) is None


def test_notice():
    assert p.add_notice(D(2026, 11, 27), 30, "day") == D(2026, 12, 27)
    assert p.add_notice(D(2026, 11, 27), 2, "week") == D(2026, 12, 11)
    with pytest.raises(ValueError):
        p.add_notice(D(2026, 11, 27), 2, "month")


def test_prorate_rounds_to_the_currency():
    assert p.prorate("10.00", Fraction(5, 14)) == Decimal("3.57")
    assert p.prorate("0.01", Fraction(1, 2)) == Decimal("0.01")
    assert p.prorate("0.01", Fraction(1, 2), lead_in=False) == Decimal("0.00")
    assert p.prorate("100", Fraction(1, 3), rounding="0.05") == Decimal("33.35")
    assert p.prorate("1000", Fraction(1, 3), rounding="1") == Decimal("333")


def test_lead_in_and_tail_add_up_to_whole_periods():
    # Wed 2 Dec, aligned to Monday: 5 lead-in days, 2 full periods, 9 tail days
    rhythm = p.Rhythm(p.WEEK, 2, send_weekday=0, anchoring=p.ALIGNED)
    start = D(2026, 12, 2)
    end = D(2027, 1, 12)
    found = list(p.iter_periods(rhythm, start, end=end))
    total = sum(p.period_amount("10.01", x) for x in found)
    assert total == Decimal("30.03")


def test_rest_of_a_cut_period_is_billed_after_a_reopen():
    # weekly Mon-Sun, billed up to Wed 11 Mar (a close date), then reopened
    rhythm = p.Rhythm(p.WEEK, 1, send_weekday=0)
    found = p.periods_after(rhythm, D(2026, 3, 2), invoiced_until=D(2026, 3, 11), limit=2)
    assert [(x.start, x.end, x.invoice_date) for x in found] == [
        (D(2026, 3, 12), D(2026, 3, 15), D(2026, 3, 9)), (D(2026, 3, 16), D(2026, 3, 22), D(2026, 3, 16))]
    assert found[0].factor == Fraction(4, 7) and found[0].is_lead_in
    # the two parts of the cut week add up to the week, to the cent
    head = next(p.iter_periods(rhythm, D(2026, 3, 9), end=D(2026, 3, 11)))
    assert p.period_amount("10.01", head) + p.period_amount("10.01", found[0]) == Decimal("10.01")


def test_extend_term_keeps_the_schedule_anchor():
    monthly = p.Rhythm(p.MONTH, 1)
    assert p.extend_term(monthly, D(2027, 1, 31), D(2027, 2, 27), 1) == D(2027, 3, 30)
    assert p.extend_term(monthly, D(2027, 1, 31), D(2027, 2, 27), 2) == D(2027, 4, 29)
    # a term cut in mid-period is completed first
    weekly = p.Rhythm(p.WEEK, 1)
    assert p.extend_term(weekly, D(2026, 12, 7), D(2026, 12, 16), 1) == D(2026, 12, 20)
    yearly = p.Rhythm(p.YEAR, 1)
    assert p.extend_term(yearly, D(2028, 2, 29), D(2029, 2, 27), 3) == D(2032, 2, 28)


def test_cutoff_tuesday_2359_for_a_monday_box():
    # Monday 8 March 2027; 6 days before at 23:59 -> Tuesday 2 March 23:59, open until 23:59:59
    monday = date(2027, 3, 8)
    assert p.cutoff(monday, 6, 23 * 60 + 59) == datetime(2027, 3, 2, 23, 59)
    assert p.is_before_cutoff(datetime(2027, 3, 2, 23, 59, 59), monday, 6, 1439)
    assert not p.is_before_cutoff(datetime(2027, 3, 3, 0, 0, 0), monday, 6, 1439)


def test_cutoff_at_the_hour_and_across_the_year_end():
    # a box of Monday 4 January 2027 (ISO week 1), 2 days before at 10:00 -> Saturday 2 January
    day = date(2027, 1, 4)
    assert p.cutoff(day, 2, 600) == datetime(2027, 1, 2, 10, 0)
    assert p.is_before_cutoff(datetime(2027, 1, 2, 10, 0, 59), day, 2, 600)
    assert not p.is_before_cutoff(datetime(2027, 1, 2, 10, 1), day, 2, 600)
    # week 53 of 2026 starts on Monday 28 December 2026: 0 days, 00:00 -> the minute of midnight
    assert p.cutoff(date(2026, 12, 28), 0, 0) == datetime(2026, 12, 28, 0, 0)
    # leap day
    assert p.cutoff(date(2028, 3, 1), 1, 1439) == datetime(2028, 2, 29, 23, 59)


def test_cutoff_refuses_a_time_outside_the_day():
    with pytest.raises(ValueError):
        p.cutoff(date(2027, 3, 8), 1, 24 * 60)
    with pytest.raises(ValueError):
        p.cutoff(date(2027, 3, 8), -1, 0)


# -- skips ----------------------------------------------------------------------

def test_deliveries_list_the_skipped_send_days_in_their_place():
    monday = p.Rhythm(p.WEEK, 1, p.ADVANCE, 0, p.ALIGNED)
    # week 53 of 2026 (28 Dec 2026 - 3 Jan 2027) is skipped, the week of 18 Jan is paused
    skip = p.Pause(D(2026, 12, 28), D(2027, 1, 3))
    pause = p.Pause(D(2027, 1, 18), D(2027, 1, 24))
    found = p.deliveries(monday, D(2026, 11, 30), D(2026, 12, 21), 5, pauses=(skip, pause), skips=(skip,))
    assert [(period.start, skipped) for period, skipped in found] == [
        (D(2026, 12, 21), False), (D(2026, 12, 28), True), (D(2027, 1, 4), False), (D(2027, 1, 11), False),
        (D(2027, 1, 25), False)]
    skipped = found[1][0]
    assert (skipped.end, skipped.invoice_date, skipped.is_prorated) == (D(2027, 1, 3), D(2026, 12, 28), False)
    # the same send days as without the skip: a skip covers one whole period
    plain = p.deliveries(monday, D(2026, 11, 30), D(2026, 12, 21), 5, pauses=(pause,))
    assert [period.start for period, _ in plain] == [period.start for period, _ in found]


def test_deliveries_stop_at_the_end_and_start_from_the_first_day():
    every_two = p.Rhythm(p.WEEK, 2, p.ARREARS, 4, p.FROM_START)
    found = p.deliveries(every_two, D(2026, 12, 4), D(2026, 12, 5), 8, end=D(2027, 1, 28))
    # 4 Dec is before the first day; the last period is cut by the end
    assert [(period.start, period.end) for period, _ in found] == [
        (D(2026, 12, 18), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 1, 14)), (D(2027, 1, 15), D(2027, 1, 28))]


def test_skips_around_counts_the_fullest_12_weeks_holding_the_day():
    days = [D(2026, 12, 14), D(2026, 12, 28), D(2027, 1, 11)]
    assert p.skips_around(days, D(2027, 1, 11)) == 3
    # 84 days: 14 Dec and 7 Mar are 83 days apart, in one window; 8 Mar is out of it
    assert p.skips_around([D(2026, 12, 14), D(2027, 3, 7)], D(2027, 3, 7)) == 2
    assert p.skips_around([D(2026, 12, 14), D(2027, 3, 8)], D(2027, 3, 8)) == 1
    # a window holding the new day may reach forward to skips already agreed
    assert p.skips_around([D(2027, 1, 4), D(2027, 2, 1), D(2027, 3, 1)], D(2027, 1, 4)) == 3
    # skips long before do not count
    assert p.skips_around([D(2026, 1, 5), D(2026, 1, 12), D(2026, 12, 28)], D(2026, 12, 28)) == 1
