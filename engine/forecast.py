"""Expected revenue per calendar month, and monthly recurring revenue.

Pure Python: this module never imports ``odoo``.  The forecast walks each
subscription's real schedule (the same periods, invoice dates and per-line
proration as the billing run) and adds each invoice to the calendar month of
its invoice date, so a month with 5 send days shows 5 invoices.
"""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from . import periods, schedule


def month_start(day):
    return day.replace(day=1)


def months_from(first, count):
    """The first days of ``count`` calendar months from the month of ``first``."""
    start = month_start(first)
    return [start + relativedelta(months=n) for n in range(count)]


# the schedule of one subscription: the same value the billing run bills from
Schedule = schedule.Schedule


def expected_invoices(sched, first_day, last_day):
    """(invoice date, untaxed amount) of every invoice the billing run will make with an invoice
    date in [first_day, last_day], automatic renewals and carried-over pause deductions included."""
    return [(period.invoice_date, amount) for period, amount in expected_periods(sched, first_day, last_day)]


def expected_periods(sched, first_day, last_day):
    """(period, untaxed amount) of every invoice the billing run will make with an invoice date in
    [first_day, last_day], in order: the :func:`expected_invoices` with the period each one bills."""
    end = sched.end
    if end is not None and sched.renewal_periods:
        while end < last_day + relativedelta(years=1):
            end = periods.extend_term(sched.rhythm, sched.segment_start, end, sched.renewal_periods,
                                      pauses=sched.pauses)
        sched = replace(sched, end=end)
    found = []
    changed_until = schedule.last_change(sched.lines)
    quiet_from = max([pause.end for pause in sched.pauses], default=None)
    fast_step = timedelta(weeks=sched.rhythm.interval) if sched.rhythm.unit == periods.WEEK else None
    # the shortcut needs every period invoiced by last_day to be whole: an advance invoice on
    # last_day covers a period ending up to one period and a week later, which must end before the end
    horizon_end = end is None or (fast_step is not None and end > last_day + fast_step + timedelta(days=7))
    for invoice in schedule.invoices(sched):
        period = invoice.period
        if period.invoice_date > last_day:
            break
        if not invoice.is_invoiced:  # a free lead-in the schedule ends in: no invoice
            continue
        if period.invoice_date >= first_day:
            found.append((period, invoice.untaxed))
        unclamped = periods.invoice_date(sched.rhythm, period.start, period.end, date.min)
        if fast_step and horizon_end and len(invoice.periods) == 1 and not invoice.free \
                and not period.is_prorated and period.invoice_date == unclamped \
                and not invoice.pending and (quiet_from is None or period.start > quiet_from) \
                and (changed_until is None or period.start > changed_until):
            # from here on every period is full, N weeks after the previous one and bills the same lines
            # (its dated changes are behind): so is its invoice date, and its amount this period's
            full = schedule.period_untaxed(sched, period)
            found += _following_periods(period, fast_step, full, first_day, last_day)
            break
    return found


def _following_periods(period, step, amount, first_day, last_day):
    """The whole periods after ``period``, each ``step`` later, invoiced up to ``last_day``."""
    found = []
    shift = step
    while period.invoice_date + shift <= last_day:
        if period.invoice_date + shift >= first_day:
            found.append((periods.Period(period.start + shift, period.end + shift, period.invoice_date + shift,
                                         period.full_start + shift, period.full_end + shift), amount))
        shift += step
    return found


def expected_by_month(schedule, first_month, count):
    """{first day of month: untaxed amount} over ``count`` months from ``first_month``, every month
    present (0 when nothing is invoiced)."""
    return {month: amount for month, (_count, amount) in invoices_by_month(schedule, first_month, count).items()}


def invoices_by_month(schedule, first_month, count, months=None):
    """{first day of month: (number of invoices, untaxed amount)} over ``count`` months
    (``months``: the first days of those months, when the caller has them already)."""
    months = months or months_from(first_month, count)
    last_day = months[-1] + relativedelta(months=1, days=-1)
    totals = {month: (0, Decimal(0)) for month in months}
    for day, amount in expected_invoices(schedule, months[0], last_day):
        month = day.replace(day=1)
        number, total = totals[month]
        totals[month] = (number + 1, total + amount)
    return totals


def monthly_value(amount, unit, interval):
    """MRR of a full-period ``amount``: every N weeks x 52 / (12 N), every N months / N,
    every N years / (12 N); exact (a Decimal), rounded by the caller."""
    amount = Decimal(str(amount))
    if unit == periods.WEEK:
        return amount * 52 / (12 * interval)
    if unit == periods.MONTH:
        return amount / interval
    return amount / (12 * interval)


def skipped_periods(sched, first_day, last_day):
    """The skipped periods (``periods.Period``) whose invoice, had they not been skipped, would be
    dated in [first_day, last_day]: what the expected revenue and the upcoming invoices show as
    skipped, at no amount."""
    return [period for period in sched.skipped() if first_day <= period.invoice_date <= last_day]


def skips_by_month(sched, months):
    """{first day of month: number of skipped periods} over ``months`` (first days of months), by the
    date their invoice would have had; only the months with a skip."""
    last_day = months[-1] + relativedelta(months=1, days=-1)
    found = {}
    for period in skipped_periods(sched, months[0], last_day):
        month = period.invoice_date.replace(day=1)
        found[month] = found.get(month, 0) + 1
    return found
