"""The TARGET2 calendar (engine.target2), 2024-2032, with computed Easter dates."""

from datetime import date, timedelta

import pytest

from engine import target2 as t

D = date
EASTER = {  # published Gregorian Easter Sundays
    2024: D(2024, 3, 31), 2025: D(2025, 4, 20), 2026: D(2026, 4, 5), 2027: D(2027, 3, 28),
    2028: D(2028, 4, 16), 2029: D(2029, 4, 1), 2030: D(2030, 4, 21), 2031: D(2031, 4, 13),
    2032: D(2032, 3, 28),
}


@pytest.mark.parametrize("year", sorted(EASTER))
def test_easter_and_closing_days(year):
    easter = t.easter_sunday(year)
    assert easter == EASTER[year]
    assert t.closing_days(year) == {
        D(year, 1, 1), easter - timedelta(days=2), easter + timedelta(days=1),
        D(year, 5, 1), D(year, 12, 25), D(year, 12, 26)}
    assert not t.is_business_day(easter - timedelta(days=2))  # Good Friday
    assert not t.is_business_day(easter + timedelta(days=1))  # Easter Monday
    assert t.is_business_day(easter + timedelta(days=2))  # the Tuesday after


def test_business_days_in_a_year_2024_2032():
    # 2026: 261 weekdays, minus 1 Jan (Thu), Good Friday, Easter Monday, 1 May (Fri), 25 Dec (Fri); 26 Dec is Saturday
    days = [D(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    assert sum(t.is_business_day(day) for day in days) == 256
    for year in range(2024, 2033):
        every = [D(year, 1, 1) + timedelta(days=n) for n in range((D(year + 1, 1, 1) - D(year, 1, 1)).days)]
        weekdays_closed = {day for day in t.closing_days(year) if day.weekday() < 5}
        assert sum(t.is_business_day(day) for day in every) == sum(day.weekday() < 5 for day in every) - len(
            weekdays_closed)


def test_collection_date_moves_to_a_business_day_after_the_lead_time():
    # asked for Saturday 28 Nov 2026 on Friday 27 Nov: Monday 30 Nov
    assert t.collection_date(D(2026, 11, 28), today=D(2026, 11, 27)) == D(2026, 11, 30)
    # asked for today: D-1 means the next business day at the earliest
    assert t.collection_date(D(2026, 11, 27), today=D(2026, 11, 27)) == D(2026, 11, 30)
    # Christmas: 25 (Fri) and 26 (Sat) Dec 2026 closed, then Sunday: Monday 28 Dec
    assert t.collection_date(D(2026, 12, 25), today=D(2026, 12, 1)) == D(2026, 12, 28)
    # Easter 2027: Good Friday 26 Mar, Easter Monday 29 Mar -> Tuesday 30 Mar
    assert t.collection_date(D(2027, 3, 26), today=D(2027, 3, 1)) == D(2027, 3, 30)
    # New Year 2027 is a Friday; a run made on Thursday 31 Dec with a lead time of 2 business days
    assert t.collection_date(D(2027, 1, 1), today=D(2026, 12, 31), lead_days=2) == D(2027, 1, 5)
    # 1 May 2028 is a Monday
    assert t.collection_date(D(2028, 4, 29), today=D(2028, 4, 1)) == D(2028, 5, 2)
    # a date far enough ahead stays as asked
    assert t.collection_date(D(2026, 12, 15), today=D(2026, 11, 27)) == D(2026, 12, 15)


def test_a_lead_time_of_zero_still_collects_one_business_day_later():
    # asked for today (Tuesday 1 Dec 2026) with no lead time: Wednesday
    assert t.collection_date(D(2026, 12, 1), D(2026, 12, 1), 0) == D(2026, 12, 2)
    # made on Thursday 24 Dec: 25 Dec is a TARGET2 holiday and 26-27 Dec a weekend, so Monday 28 Dec
    assert t.collection_date(D(2026, 12, 24), D(2026, 12, 24), 0) == D(2026, 12, 28)
