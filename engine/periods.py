"""Billing periods, invoice dates and proration.

Pure Python: this module never imports ``odoo``.  The models call it and
pytest tests it directly.  Every rule below is written up in the README
("Date rules") and every one has a test with fixed dates.

Vocabulary
----------
rhythm
    How a plan repeats: every N weeks, months or years, billed in advance or
    in arrears, on a send weekday, with periods counted from the start date
    or aligned to the send day.
anchor
    The first day of the first *full* period.  With "from the start date"
    it is the start date.  With "aligned" it is the first send day on or
    after the start (weeks) or the first 1st of a month / 1 January (months,
    years); the days before it form one prorated lead-in period.
segment start
    The day a schedule is (re)computed from.  A subscription starts a new
    segment when its plan or send weekday changes: the new rhythm applies
    from the next period not yet invoiced.
pause
    Days without service, hence without billing.  The period a pause starts
    in is cut the day before (and prorated unless the pause starts on a
    period boundary); the schedule then starts a new segment the day after
    the pause ends, with the same rhythm and send weekday.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import islice

from dateutil.relativedelta import relativedelta

WEEK, MONTH, YEAR = "week", "month", "year"
ADVANCE, ARREARS = "advance", "arrears"
FROM_START, ALIGNED = "start", "aligned"

UNITS = (WEEK, MONTH, YEAR)
TIMINGS = (ADVANCE, ARREARS)
ANCHORINGS = (FROM_START, ALIGNED)
MAX_WEEKS = 52
# the bounds of every input the engine takes, defined here once; the models refuse what is outside
MAX_INTERVAL = {WEEK: MAX_WEEKS, MONTH: 1200, YEAR: 100}
MAX_PAUSE_WEEKS = 260  # five years
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)  # a subscription's dates lie in between
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rhythm:
    """How a plan repeats.  ``send_weekday`` is 0 for Monday ... 6 for Sunday."""

    unit: str = WEEK
    interval: int = 1
    timing: str = ADVANCE
    send_weekday: int = 0
    anchoring: str = FROM_START

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, not {self.unit!r}")
        if self.timing not in TIMINGS:
            raise ValueError(f"timing must be one of {TIMINGS}, not {self.timing!r}")
        if self.anchoring not in ANCHORINGS:
            raise ValueError(f"anchoring must be one of {ANCHORINGS}, not {self.anchoring!r}")
        if not 0 <= self.send_weekday <= 6:
            raise ValueError(f"send_weekday must be 0..6, not {self.send_weekday!r}")
        top = MAX_INTERVAL[self.unit]
        if not 1 <= self.interval <= top:
            raise ValueError(f"interval must be 1..{top} for {self.unit}s, not {self.interval!r}")

    def shift(self, day, count):
        """``day`` moved by ``count`` whole periods, always from ``day`` itself.

        Months and years are never added one after another, so 31 Jan + 1
        month is 28/29 Feb and 31 Jan + 2 months is 31 Mar.
        """
        if self.unit == WEEK:
            return day + timedelta(weeks=self.interval * count)
        if self.unit == MONTH:
            return day + relativedelta(months=self.interval * count)
        return day + relativedelta(years=self.interval * count)


@dataclass(frozen=True)
class Period:
    """One billing period; ``full_start``/``full_end`` bound the full period it is part of."""

    start: date
    end: date
    invoice_date: date
    full_start: date
    full_end: date

    @property
    def days(self):
        return (self.end - self.start).days + 1

    @property
    def full_days(self):
        return (self.full_end - self.full_start).days + 1

    @property
    def factor(self):
        """Share of the full period's price this period bills, prorated by days."""
        return Fraction(self.days, self.full_days)

    @property
    def is_prorated(self):
        return self.days != self.full_days

    @property
    def is_lead_in(self):
        """A prorated period cut at its start (the days before an aligned anchor)."""
        return self.start != self.full_start


def weekday_on_or_before(day, weekday):
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def weekday_on_or_after(day, weekday):
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def anchor_date(rhythm, segment_start):
    """First day of the first full period of a schedule starting on ``segment_start``."""
    if rhythm.anchoring == FROM_START:
        return segment_start
    if rhythm.unit == WEEK:
        return weekday_on_or_after(segment_start, rhythm.send_weekday)
    if rhythm.unit == MONTH:
        first = segment_start.replace(day=1)
        return first if first == segment_start else first + relativedelta(months=1)
    first = segment_start.replace(month=1, day=1)
    return first if first == segment_start else first + relativedelta(years=1)


def full_period_bounds(rhythm, anchor, index):
    """(start, end) of full period ``index`` counted from ``anchor``; index may be negative."""
    return rhythm.shift(anchor, index), rhythm.shift(anchor, index + 1) - ONE_DAY


def invoice_date(rhythm, start, end, subscription_start):
    """The day the period [start, end] is invoiced.

    Weeks, in advance: the latest send weekday on or before the period start,
    never before the subscription start.  Weeks, in arrears: the first send
    weekday after the period end.  Months and years: the period start in
    advance, the day after the period end in arrears.
    """
    if rhythm.unit == WEEK:
        if rhythm.timing == ADVANCE:
            return max(weekday_on_or_before(start, rhythm.send_weekday), subscription_start)
        return weekday_on_or_after(end + ONE_DAY, rhythm.send_weekday)
    if rhythm.timing == ADVANCE:
        return start
    return end + ONE_DAY


def iter_periods(rhythm, segment_start, end=None, subscription_start=None):
    """Yield the periods of a schedule from ``segment_start``, in order.

    ``end`` (inclusive) cuts the last period, which is then prorated; without
    it the generator never stops.  ``subscription_start`` (default: the
    segment start) is the earliest possible invoice date.
    """
    subscription_start = subscription_start or segment_start
    anchor = anchor_date(rhythm, segment_start)
    if end is not None and end < segment_start:
        return
    if anchor > segment_start:
        full_start, full_end = full_period_bounds(rhythm, anchor, -1)
        yield _cut(rhythm, segment_start, full_start, full_end, end, subscription_start)
        if end is not None and end < anchor:
            return
    index = 0
    while True:
        full_start, full_end = full_period_bounds(rhythm, anchor, index)
        yield _cut(rhythm, full_start, full_start, full_end, end, subscription_start)
        if end is not None and end <= full_end:
            return
        index += 1


@dataclass(frozen=True, order=True)
class Pause:
    """Days ``start`` to ``end`` (both included) without service."""

    start: date
    end: date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError(f"a pause cannot end ({self.end}) before it starts ({self.start})")

    @property
    def days(self):
        return (self.end - self.start).days + 1


def pause_end(start, weeks):
    """Last paused day of a pause of ``weeks`` weeks from ``start``."""
    if not 1 <= weeks <= MAX_PAUSE_WEEKS:
        raise ValueError(f"a pause lasts 1 to {MAX_PAUSE_WEEKS} weeks, not {weeks!r}")
    return start + timedelta(weeks=weeks) - ONE_DAY


def iter_schedule(rhythm, segment_start, end=None, subscription_start=None, pauses=()):
    """Like :func:`iter_periods`, but without the paused days.

    The period a pause starts in ends the day before the pause; the schedule
    picks up again, as a new segment of the same rhythm, the day after it.
    Pauses that ended before ``segment_start`` are history and ignored.
    """
    subscription_start = subscription_start or segment_start
    start = segment_start
    for pause in sorted(pauses):
        if pause.end < start:
            continue
        if end is not None and pause.start > end:
            break
        if pause.start > start:
            stop = pause.start - ONE_DAY if end is None else min(end, pause.start - ONE_DAY)
            yield from iter_periods(rhythm, start, stop, subscription_start)
        start = pause.end + ONE_DAY
        if end is not None and start > end:
            return
    yield from iter_periods(rhythm, start, end, subscription_start)


def _cut(rhythm, start, full_start, full_end, end, subscription_start):
    stop = full_end if end is None else min(full_end, end)
    return Period(
        start=start,
        end=stop,
        invoice_date=invoice_date(rhythm, start, stop, subscription_start),
        full_start=full_start,
        full_end=full_end,
    )


def periods_after(rhythm, segment_start, invoiced_until=None, end=None,
                  subscription_start=None, limit=None, pauses=()):
    """The periods not yet invoiced: those after ``invoiced_until``.

    When ``invoiced_until`` falls inside a period (its end was cut by a close date,
    then the subscription was reopened or renewed), the rest of that period comes
    first, prorated: it was never billed.
    """
    subscription_start = subscription_start or segment_start

    def todo():
        for period in iter_schedule(rhythm, segment_start, end, subscription_start, pauses):
            if invoiced_until is None or period.start > invoiced_until:
                yield period
            elif period.end > invoiced_until:
                yield _rest_of(rhythm, period, invoiced_until + ONE_DAY, subscription_start)

    return list(islice(todo(), limit)) if limit is not None else todo()


def _rest_of(rhythm, period, start, subscription_start):
    return Period(
        start=start,
        end=period.end,
        invoice_date=invoice_date(rhythm, start, period.end, subscription_start),
        full_start=period.full_start,
        full_end=period.full_end,
    )


def next_period(rhythm, segment_start, invoiced_until=None, end=None, subscription_start=None, pauses=()):
    """The first period not yet invoiced, or None when the schedule is fully invoiced."""
    found = periods_after(rhythm, segment_start, invoiced_until, end, subscription_start, limit=1, pauses=pauses)
    return found[0] if found else None


def period_on(rhythm, segment_start, day, end=None, subscription_start=None, pauses=()):
    """The period that contains ``day``, or None outside the schedule or in a pause."""
    if day < segment_start or (end is not None and day > end):
        return None
    for period in iter_schedule(rhythm, segment_start, end, subscription_start, pauses):
        if period.end >= day:
            return period if period.start <= day else None
    return None


def next_boundary(rhythm, segment_start, day, subscription_start=None, pauses=()):
    """The first day on or after ``day`` that starts a period: where a pause starts by default."""
    for period in iter_schedule(rhythm, segment_start, None, subscription_start, pauses):
        if period.start >= day:
            return period.start
    raise AssertionError("unreachable: the schedule never ends")


def term_end(rhythm, segment_start, periods):
    """Last day of a term of ``periods`` full periods (a lead-in period comes on top)."""
    anchor = anchor_date(rhythm, segment_start)
    return full_period_bounds(rhythm, anchor, periods - 1)[1]


def extend_term(rhythm, segment_start, old_end, periods, pauses=()):
    """The end of a term extended by ``periods`` periods of the schedule itself.

    The first added period is the one holding the day after ``old_end``, so a
    term cut in mid-period is first completed; months keep their own anchor
    (a term of a subscription started on 31 Jan ends on the 27th, 29th or 30th).
    """
    count = 0
    for period in iter_schedule(rhythm, segment_start, pauses=pauses):
        if period.end > old_end:
            count += 1
            if count == periods:
                return period.end
    raise AssertionError("unreachable: the schedule never ends")


# -- the lead-in: its own invoice, with the first full period, or free ------------

SEPARATE, MERGE, MERGE_SHORT, FREE = "separate", "merge", "merge_short", "free"
LEAD_IN_POLICIES = (SEPARATE, MERGE, MERGE_SHORT, FREE)


@dataclass(frozen=True)
class LeadIn:
    """What becomes of a subscription's lead-in: the prorated period from its start date to
    the first full period (aligned plans only).

    ``separate``: its own invoice.  ``merge``: on the invoice of the first full period, as
    lines of its own, on that period's invoice date (in advance its send day, in arrears
    after its end).  ``merge_short``: merged only when shorter than ``merge_days`` days.
    ``free``: never billed; the first full period's invoice settles it.
    """

    policy: str = SEPARATE
    merge_days: int = 0

    def __post_init__(self):
        if self.policy not in LEAD_IN_POLICIES:
            raise ValueError(f"lead-in policy must be one of {LEAD_IN_POLICIES}, not {self.policy!r}")
        if self.policy == MERGE_SHORT and not (isinstance(self.merge_days, int) and self.merge_days >= 1):
            raise ValueError(f"merging a lead-in shorter than N days needs N >= 1, not {self.merge_days!r}")

    def treatment(self, lead_in, following):
        """SEPARATE, MERGE or FREE for the lead-in period ``lead_in``; ``following`` is the next
        period of the schedule (None when the schedule ends in the lead-in).  Only a period that
        follows the lead-in without a gap (no pause between them) is merged with it."""
        if self.policy == FREE:
            return FREE
        if following is None or following.start != lead_in.end + ONE_DAY:
            return SEPARATE
        if self.policy == MERGE or (self.policy == MERGE_SHORT and lead_in.days < self.merge_days):
            return MERGE
        return SEPARATE


def is_opening_lead_in(period, subscription_start):
    """Whether ``period`` is the subscription's lead-in: it starts on the start date and is cut
    at its start.  Lead-ins after a pause or a change of plan are billed as they come."""
    return period.start == subscription_start and period.is_lead_in


@dataclass(frozen=True)
class Bill:
    """The periods one invoice settles: ``periods``, the ones it bills (two when a lead-in is
    merged), and ``free``, a free lead-in it settles without billing it.  A bill with no
    ``periods`` (a free lead-in the schedule ends in) settles without any invoice."""

    periods: tuple
    free: tuple = ()

    @property
    def start(self):
        """First day settled."""
        return min(period.start for period in self.periods + self.free)

    @property
    def end(self):
        """Last day settled: "Invoiced Until" once the bill is made."""
        return max(period.end for period in self.periods + self.free)

    @property
    def invoice_date(self):
        """The day of the invoice: that of the last period billed (the first full period of a merge)."""
        return (self.periods or self.free)[-1].invoice_date

    @property
    def span(self):
        """The days the invoice bills as one period, with the invoice's date: the period itself
        when it bills one, else from the first day billed to the last."""
        billed = self.periods or self.free
        if len(billed) == 1:
            return billed[0]
        return Period(start=billed[0].start, end=billed[-1].end, invoice_date=self.invoice_date,
                      full_start=billed[0].start, full_end=billed[-1].end)


def bills(schedule_periods, lead_in=None, subscription_start=None):
    """Group the periods to bill (``periods_after``'s, in order) into :class:`Bill` s: one per
    period, but for the subscription's lead-in, which ``lead_in`` merges with the period after
    it or settles for free.  The one rule for the billing run, the preview and the forecast."""
    lead_in = lead_in or LeadIn()
    walk = iter(schedule_periods)
    for period in walk:
        if lead_in.policy == SEPARATE or not is_opening_lead_in(period, subscription_start):
            yield Bill((period,))
            continue
        following = next(walk, None)
        treatment = lead_in.treatment(period, following)
        if treatment == FREE:
            yield Bill((following,), (period,)) if following else Bill((), (period,))
        elif treatment == MERGE:
            yield Bill((period, following))
        else:
            yield Bill((period,))
            if following:
                yield Bill((following,))


def add_notice(day, quantity, unit):
    """``day`` plus a notice of ``quantity`` days or weeks."""
    if unit not in ("day", "week"):
        raise ValueError(f"notice unit must be 'day' or 'week', not {unit!r}")
    return day + timedelta(days=quantity * (7 if unit == "week" else 1))


def prorate(amount, factor, rounding="0.01", lead_in=True):
    """``amount`` x ``factor`` rounded to the currency's ``rounding``.

    A lead-in period (cut at its start) rounds half up.  A period cut at its
    end rounds half down, which is the full amount minus the uncovered days
    rounded half up.  So a lead-in and a tail that together make whole
    periods always add up, to the cent, to those whole periods.
    """
    amount = Decimal(str(amount))
    step = Decimal(str(rounding))
    factor = Fraction(factor)
    exact = amount * factor.numerator / factor.denominator
    mode = ROUND_HALF_UP if lead_in else ROUND_HALF_DOWN
    return (exact / step).quantize(Decimal(1), rounding=mode) * step


def period_amount(amount, period, rounding="0.01"):
    """What ``period`` bills for a full-period ``amount``."""
    if not period.is_prorated:
        return Decimal(str(amount)).quantize(Decimal(str(rounding)), rounding=ROUND_HALF_UP)
    return prorate(amount, period.factor, rounding, lead_in=period.is_lead_in)


@dataclass(frozen=True)
class WeekWords:
    """The words of a week label, as ``%``-templates (the models pass them translated).

    ``one``: a period within one ISO week; ``several``: several weeks of one ISO
    year; ``across``: weeks of two ISO years, each named with its year.
    """

    one: str = "week %(week)s %(year)s"
    several: str = "weeks %(first)s\u2013%(last)s %(year)s"
    across: str = "week %(first)s %(first_year)s \u2013 week %(last)s %(last_year)s"


EN_WEEKS = WeekWords()


def iso_weeks(start, end):
    """ISO week numbers of a period: '53', '49–50', '52 2027 – 1 2028' (the years when they differ)."""
    (first_year, first, _day), (last_year, last, _last_day) = start.isocalendar(), end.isocalendar()
    if first_year != last_year:
        return f"{first} {first_year} \u2013 {last} {last_year}"
    return str(first) if first == last else f"{first}\u2013{last}"


def week_span(start, end, words=EN_WEEKS):
    """The ISO weeks of a period in words: 'week 53 2026', 'weeks 49–50 2026',
    'week 52 2026 – week 3 2027'.

    The last day decides the last week.  A range is written only between two
    different weeks of one ISO year, so no label reads '12–12': a period from
    week 12 of one year to week 12 of the next names both years.
    """
    (first_year, first, _day), (last_year, last, _last_day) = start.isocalendar(), end.isocalendar()
    if first_year != last_year:
        return words.across % {"first": first, "first_year": first_year, "last": last, "last_year": last_year}
    if first == last:
        return words.one % {"week": first, "year": first_year}
    return words.several % {"first": first, "last": last, "year": first_year}


EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date_span(start, end, months=EN_MONTHS):
    """'2 Dec 2026', '22–28 Mar 2027', '30 Nov – 13 Dec 2026', '28 Dec 2026 – 3 Jan 2027'.

    Each part is written once: one day is one date, never an empty-looking range;
    the month is repeated only when it changes, the year only when it changes.
    """
    def day_month(day):
        return f"{day.day} {months[day.month - 1]}"
    if start == end:
        return f"{day_month(end)} {end.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}\u2013{day_month(end)} {end.year}"
    if start.year == end.year:
        return f"{day_month(start)} \u2013 {day_month(end)} {end.year}"
    return f"{day_month(start)} {start.year} \u2013 {day_month(end)} {end.year}"


def period_label(start, end, unit=WEEK, months=EN_MONTHS, weeks=EN_WEEKS):
    """Invoice line label of a period, e.g. 'weeks 49–50 2026, 30 Nov – 13 Dec 2026'.

    Month and year plans show the dates only; week plans put the ISO weeks first
    (see :func:`week_span`).  ``months`` and ``weeks`` carry the words of the
    reader's language.
    """
    span = date_span(start, end, months)
    if unit != WEEK:
        return span
    return f"{week_span(start, end, weeks)}, {span}"


# -- pauses: credit for paid days, limits -------------------------------------

def unused_share(period_start, period_end, pause_start):
    """Share of an invoiced period [period_start, period_end] that falls on or after
    ``pause_start``: the paid days a pause leaves unused, as (days, period days)."""
    days = (period_end - period_start).days + 1
    unused = (period_end - max(pause_start, period_start)).days + 1
    return max(0, min(unused, days)), days


def unused_amount(amount, period_start, period_end, pause_start, rounding="0.01", paid_until=None):
    """What a pause from ``pause_start`` gives back of ``amount`` invoiced for the period.

    The period keeps its days before the pause: a period cut at its end, which
    rounds half down (see :func:`prorate`).  The days given back are the
    uncovered rest and round half up, so what stays billed plus what is given
    back is the invoiced amount, to the cent.

    ``paid_until`` is the last day still paid (an earlier pause may already have
    given back the days after it): only the days up to it are given back, as
    the difference of two tails, so successive pauses in one period never give
    back a day twice and still add up to the cent.
    """
    def tail(first_day):
        unused, days = unused_share(period_start, period_end, first_day)
        if unused == days:
            return Decimal(str(amount)).quantize(Decimal(str(rounding)), rounding=ROUND_HALF_UP)
        return prorate(amount, Fraction(unused, days), rounding, lead_in=True)

    given_back = tail(pause_start)
    if paid_until is not None and paid_until < period_end:
        given_back -= tail(max(paid_until + ONE_DAY, pause_start))
    return given_back



# -- a change inside a period already invoiced --------------------------------

def correction_amount(before, after, period_start, period_end, first_day, rounding="0.01", paid_until=None):
    """What a change from ``first_day`` inside an invoiced period charges (positive) or gives back
    (negative) for one line: the paid days from ``first_day`` up to ``paid_until`` at the new
    period amount ``after``, less the same days at the amount charged so far, ``before`` (both
    what the period's invoice line bills for [period_start, period_end]).

    Both sides are the tails of :func:`unused_amount`, which a pause gives back: so a pause after
    a change gives back, line by line, ``unused_amount(after) - unused_amount(before)`` of the
    correction and ``unused_amount`` of the invoice, which add up to the days at the new amount
    exactly, to the cent, and never a day twice.
    """
    if first_day > period_end or (paid_until is not None and paid_until < first_day):
        return Decimal(0)
    return (unused_amount(after, period_start, period_end, first_day, rounding, paid_until)
            - unused_amount(before, period_start, period_end, first_day, rounding, paid_until))


def corrected_days(period_start, period_end, first_day, paid_until=None):
    """The days a change from ``first_day`` corrects in an invoiced period [period_start,
    period_end] paid up to ``paid_until``: (first, last, days), or None when it corrects none."""
    first = max(first_day, period_start)
    last = period_end if paid_until is None else min(period_end, paid_until)
    if first > last:
        return None
    return first, last, (last - first).days + 1

def paused_days_between(pauses, start, end):
    """Number of paused days within [start, end]."""
    total = 0
    for pause in pauses:
        first, last = max(pause.start, start), min(pause.end, end)
        if first <= last:
            total += (last - first).days + 1
    return total


def max_paused_days_in_a_year(pauses):
    """Most paused days in any rolling 12 months.

    The worst window always ends on the last day of some pause, so only those
    windows are looked at.
    """
    worst = 0
    for pause in pauses:
        window_start = pause.end - relativedelta(years=1) + ONE_DAY
        worst = max(worst, paused_days_between(pauses, window_start, pause.end))
    return worst


def shifted_invoice_dates(rhythm, segment_start, invoiced_until=None, end=None,
                          subscription_start=None, pauses=(), count=6):
    """The next ``count`` periods with their pauses, each paired with the invoice date
    the same-ranked invoice would have without them: [(period, date or None)]."""
    with_pauses = periods_after(rhythm, segment_start, invoiced_until, end, subscription_start,
                                limit=count, pauses=pauses)
    without = periods_after(rhythm, segment_start, invoiced_until, end, subscription_start, limit=count)
    dates = [period.invoice_date for period in without]
    return [(period, dates[index] if index < len(dates) else None)
            for index, period in enumerate(with_pauses)]


def cutoff(day, days_before, minutes):
    """The cut-off of the period starting on ``day``: the last minute, in local time (naive),
    at which the subscriber may still skip it or change it.

    It is ``days_before`` days before ``day``, at ``minutes`` after midnight; the minute it
    names is still open.  Example: a Monday box, 6 days and 23:59 -> the Tuesday before,
    23:59 (open until 23:59:59).
    """
    if days_before < 0 or not 0 <= minutes < 24 * 60:
        raise ValueError("the cut-off is 0 or more days before, at a time between 00:00 and 23:59")
    return datetime.combine(day - timedelta(days=days_before), time()) + timedelta(minutes=minutes)


def is_before_cutoff(now, day, days_before, minutes):
    """True while the period starting on ``day`` may still be changed at ``now`` (local, naive):
    up to the end of the cut-off minute."""
    return now < cutoff(day, days_before, minutes) + timedelta(minutes=1)


# -- skips: one whole period without delivery --------------------------------

SKIP_WINDOW_DAYS = 84  # "any rolling 12 weeks"


def skipped_period(rhythm, skip, subscription_start):
    """The period a skip (``Pause``) leaves out, with the invoice date it would have had."""
    return Period(start=skip.start, end=skip.end,
                  invoice_date=invoice_date(rhythm, skip.start, skip.end, subscription_start),
                  full_start=skip.start, full_end=skip.end)


def deliveries(rhythm, segment_start, first_day, count, end=None, subscription_start=None, pauses=(), skips=()):
    """The next ``count`` send days from ``first_day`` on: [(period, skipped)], in order.

    The periods of the schedule that start on or after ``first_day`` (the send day of a period is
    its first day), with the skipped ones (``skips``, which are among ``pauses``) in their place.
    A skip covers one whole period, so the periods around it are those it would have had.
    """
    subscription_start = subscription_start or segment_start
    found = [(skipped_period(rhythm, skip, subscription_start), True) for skip in skips if skip.start >= first_day]
    delivered = []
    for period in iter_schedule(rhythm, segment_start, end, subscription_start, pauses):
        if len(delivered) >= count:
            break
        if period.start >= first_day:
            delivered.append((period, False))
    found += delivered
    return sorted(found, key=lambda item: item[0].start)[:count]


def skips_around(days, day, window_days=SKIP_WINDOW_DAYS):
    """The most send days of ``days`` (skips, ``day`` among them) that any window of
    ``window_days`` consecutive days holding ``day`` contains.

    The fullest such window can always be slid back until it ends on a skip on or after
    ``day``: only those windows are looked at.  A limit checked this way refuses a new skip
    that makes some 12 weeks too full, and never one because of skips agreed long before.
    """
    window = timedelta(days=window_days - 1)
    return max((sum(1 for other in days if last - window <= other <= last)
                for last in days if day <= last <= day + window), default=0)
