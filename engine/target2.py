"""The TARGET2 (T2) calendar: the days SEPA direct debits settle.

Pure Python: this module never imports ``odoo``.  T2 is closed on Saturdays,
Sundays, 1 January, Good Friday, Easter Monday, 1 May, 25 and 26 December.
Easter is computed (the Gregorian computus of Meeus/Jones/Butcher), never
looked up in a list.
"""

from datetime import date, timedelta
from functools import cache

ONE_DAY = timedelta(days=1)


def easter_sunday(year):
    """Easter Sunday of a Gregorian ``year``."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the computus' own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def closing_days(year):
    """The weekday closing days of T2 in ``year`` (weekends come on top)."""
    easter = easter_sunday(year)
    return {
        date(year, 1, 1),
        easter - timedelta(days=2),  # Good Friday
        easter + ONE_DAY,  # Easter Monday
        date(year, 5, 1),
        date(year, 12, 25),
        date(year, 12, 26),
    }


@cache
def _closed(year):
    return frozenset(closing_days(year))


def is_business_day(day):
    return day.weekday() < 5 and day not in _closed(day.year)


def next_business_day(day):
    """``day`` itself when T2 is open, else the next day it is."""
    while not is_business_day(day):
        day += ONE_DAY
    return day


def add_business_days(day, count):
    """The ``count``-th T2 business day after ``day`` (``day`` itself when 0 and open)."""
    if count <= 0:
        return next_business_day(day)
    while count:
        day += ONE_DAY
        if is_business_day(day):
            count -= 1
    return day


# the rulebook's D-1: the collection is at least one TARGET2 business day after the file
MIN_LEAD_DAYS = 1


def collection_date(requested, today, lead_days=1):
    """The collection date of a run asked for ``requested``: the first T2 business day on
    or after it that is at least ``lead_days`` business days after ``today``, and never less than
    one (the rulebook's D-1: a file is never collected on the day it is made)."""
    earliest = add_business_days(today, max(lead_days, MIN_LEAD_DAYS))
    return next_business_day(max(requested, earliest))
