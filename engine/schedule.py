"""One subscription's schedule as the billing run bills it: the engine's inputs in one value.

Pure Python: this module never imports ``odoo``.  ``sale.order._recurring_schedule()``
builds a :class:`Schedule` from a subscription, and everything that needs the
invoices to come reads it: the billing run, the "Upcoming Invoices" preview,
the portal, the expected revenue and the MRR.  Whatever one of them bills, the
others see, because :func:`invoices` is the only walk over the periods with
their amounts and deductions.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from . import periods

NO_LEAD_IN_RULE = periods.LeadIn()  # its own invoice, as before the option existed


@dataclass(frozen=True)
class Line:
    """One subscription line, as its invoice line bills it.

    ``untaxed`` is the full-period untaxed amount (the invoice line's subtotal).
    ``base`` is the amount a prorated period prorates: the taxed total when the
    price includes a tax, else the untaxed amount.  ``to_untaxed`` turns a
    prorated ``base`` into the untaxed amount the invoice will show (needed only
    when ``base`` includes a tax).
    """

    untaxed: Decimal
    base: Decimal | None = None
    to_untaxed: Callable | None = None
    changes: tuple = ()  # the line's dated changes (:class:`Change`), not yet billed

    @property
    def prorated_base(self):
        return self.untaxed if self.base is None else self.base


@dataclass(frozen=True)
class Change:
    """A dated change of one line (a quantity, another variant): ``line`` is billed instead of it
    for each period starting on or after ``start``, up to ``end`` (the start of the last period it
    covers; None: from ``start`` on, for good).  A change for one period only has ``end == start``.

    When several changes cover a period, the one-period change wins, then the latest start, then
    the highest ``key`` (the latest made)."""

    key: int
    start: date
    line: Line
    end: date | None = None

    @property
    def is_once(self):
        return self.end is not None

    def covers(self, period):
        return self.start <= period.start and (self.end is None or period.start <= self.end)


def change_in_force(line, period):
    """The :class:`Change` of ``line`` that bills ``period``, or None when the line bills it as it is."""
    covering = [change for change in line.changes if change.covers(period)]
    return max(covering, key=lambda c: (c.is_once, c.start, c.key)) if covering else None


def line_in_force(line, period):
    """What ``line`` bills for ``period``: the line of its change in force, else the line itself."""
    change = change_in_force(line, period) if line.changes else None
    return change.line if change else line


def last_change(lines):
    """The latest start of a change of ``lines``, or None: from the period after it, every period bills
    the same lines."""
    return max((change.start for line in lines for change in line.changes), default=None)


@dataclass(frozen=True)
class Deduction:
    """Paid days of a pause carried over: deducted from the first invoice of a period that starts
    after ``after`` (the pause's last day) and is at least ``amount`` (untaxed, positive)."""

    key: int
    after: date
    amount: Decimal


@dataclass(frozen=True)
class Schedule:
    """Everything the engine needs of one subscription (see ``periods`` for the terms)."""

    rhythm: periods.Rhythm
    segment_start: date
    subscription_start: date
    invoiced_until: date | None = None
    end: date | None = None
    pauses: tuple = ()
    skips: tuple = ()  # the pauses that skip one delivery: one whole period each, among ``pauses``
    lines: tuple = ()
    deductions: tuple = ()
    rounding: str = "0.01"
    renewal_periods: int = 0  # automatic renewal: periods added each time the term ends
    lead_in: periods.LeadIn = NO_LEAD_IN_RULE  # what becomes of the subscription's lead-in

    def period_args(self):
        """The keyword arguments of the ``periods`` functions."""
        return {"rhythm": self.rhythm, "segment_start": self.segment_start, "end": self.end,
                "subscription_start": self.subscription_start, "pauses": self.pauses}

    def skipped(self):
        """The skipped periods not invoiced yet (``periods.Period``, in order), each with the invoice
        date it would have had: none of them is billed."""
        return [periods.skipped_period(self.rhythm, skip, self.subscription_start) for skip in sorted(self.skips)
                if self.invoiced_until is None or skip.start > self.invoiced_until]

    def bills(self):
        """The bills to come (``periods.Bill``, dates only): which periods each invoice settles."""
        return periods.bills(periods.periods_after(invoiced_until=self.invoiced_until, **self.period_args()),
                             self.lead_in, self.subscription_start)


@dataclass(frozen=True)
class Invoice:
    """One invoice to come: the periods it settles (``bill``), its untaxed amount after
    deductions, the deductions it carries, and how many deductions still wait after it."""

    bill: periods.Bill
    untaxed: Decimal
    deductions: tuple = ()
    pending: int = 0

    @property
    def periods(self):
        """The periods billed, one invoice line each per subscription line (two with a merged lead-in)."""
        return self.bill.periods

    @property
    def free(self):
        """A free lead-in this invoice settles without billing it."""
        return self.bill.free

    @property
    def period(self):
        """The days billed as one period, with the invoice date (``periods.Bill.span``)."""
        return self.bill.span

    @property
    def is_invoiced(self):
        """False for a free lead-in the schedule ends in: settled without an invoice."""
        return bool(self.bill.periods)

    @property
    def is_prorated(self):
        return any(period.is_prorated for period in self.bill.periods)


def line_base(line, period, rounding="0.01"):
    """The amount a prorated period bills for ``line`` (its price unit on the invoice), its change in
    force for ``period`` included."""
    return periods.period_amount(line_in_force(line, period).prorated_base, period, rounding)


def line_untaxed(line, period, rounding="0.01"):
    """The untaxed amount the invoice of ``period`` shows for ``line``, its change in force for
    ``period`` included."""
    step = Decimal(str(rounding))
    line = line_in_force(line, period)
    if not period.is_prorated:
        return Decimal(str(line.untaxed)).quantize(step, rounding=ROUND_HALF_UP)
    amount = line_base(line, period, rounding)
    if line.to_untaxed is not None and line.base is not None:
        return Decimal(str(line.to_untaxed(amount))).quantize(step, rounding=ROUND_HALF_UP)
    return amount


def period_untaxed(schedule, period):
    """Untaxed amount of the lines for ``period``, rounded per line, before deductions."""
    return sum((line_untaxed(line, period, schedule.rounding) for line in schedule.lines), Decimal(0))


def bill_untaxed(schedule, bill):
    """Untaxed amount of the lines for each period ``bill`` bills, rounded per line, before deductions."""
    return sum((period_untaxed(schedule, period) for period in bill.periods), Decimal(0))


def take_deductions(pending, period, room):
    """The deductions of ``pending`` (oldest first) the invoice of ``period`` carries: those of a
    pause over before the period starts, as long as the invoice stays at or above zero."""
    taken = []
    for deduction in pending:
        if deduction.after < period.start and deduction.amount <= room:
            taken.append(deduction)
            room -= deduction.amount
    return tuple(taken)


def invoices(schedule, taken=()):
    """The invoices to come, in order, as the billing run makes them (an endless generator for an
    open-ended subscription), the lead-in grouped by the schedule's ``lead_in`` (``periods.bills``).
    ``taken``: keys of deductions already carried by an invoice."""
    pending = sorted((d for d in schedule.deductions if d.key not in taken), key=lambda d: (d.after, d.key))
    for bill in schedule.bills():
        amount = bill_untaxed(schedule, bill)
        carried = take_deductions(pending, bill.span, amount) if pending and bill.periods else ()
        if carried:
            pending = [d for d in pending if d not in carried]
            amount -= sum((d.amount for d in carried), Decimal(0))
        yield Invoice(bill, amount, carried, len(pending))


def lines_amount(lines, rounding="0.01"):
    """Untaxed amount of a full period of ``lines`` (engine :class:`Line`)."""
    step = Decimal(str(rounding))
    return sum((Decimal(str(line.untaxed)).quantize(step, rounding=ROUND_HALF_UP) for line in lines), Decimal(0))


def full_amount(schedule):
    """Untaxed amount of a full period of the lines as they are, their dated changes left out: what the
    MRR counts."""
    return lines_amount(schedule.lines, schedule.rounding)
