"""A change inside a period already invoiced: the correction and the pause after it."""

from datetime import date
from decimal import Decimal

import pytest

from engine import periods

D = date
WEEK = (D(2027, 5, 17), D(2027, 5, 23))  # Monday to Sunday


def test_an_increase_on_the_first_day_charges_the_whole_difference():
    assert periods.correction_amount(Decimal("24.00"), Decimal("36.00"), *WEEK, D(2027, 5, 17)) == Decimal("12.00")


def test_a_decrease_gives_back_the_days_left():
    # 3 -> 2 bags at 12.00 from Thursday: 4 of 7 days of 12.00 = 6.857 -> 6.86 given back
    assert periods.correction_amount(Decimal("36.00"), Decimal("24.00"), *WEEK, D(2027, 5, 20)) == Decimal("-6.86")


def test_a_change_on_the_last_day_corrects_one_day():
    assert periods.correction_amount(Decimal("39.90"), Decimal("79.80"), *WEEK, D(2027, 5, 23)) == Decimal("5.70")
    assert periods.corrected_days(*WEEK, D(2027, 5, 23)) == (D(2027, 5, 23), D(2027, 5, 23), 1)


def test_a_decrease_to_zero_gives_back_what_a_pause_would():
    day = D(2027, 5, 19)
    assert periods.correction_amount(Decimal("39.90"), Decimal(0), *WEEK, day) == \
        -periods.unused_amount(Decimal("39.90"), *WEEK, day)


def test_days_after_the_paid_ones_are_not_corrected():
    # a pause from Saturday gave back 22-23 May: the change from Wednesday corrects 19-21 May only
    assert periods.corrected_days(*WEEK, D(2027, 5, 19), paid_until=D(2027, 5, 21)) == \
        (D(2027, 5, 19), D(2027, 5, 21), 3)
    assert periods.correction_amount(Decimal("70.00"), Decimal("140.00"), *WEEK, D(2027, 5, 19),
                                     paid_until=D(2027, 5, 21)) == Decimal("30.00")
    assert periods.corrected_days(*WEEK, D(2027, 5, 22), paid_until=D(2027, 5, 21)) is None
    assert periods.correction_amount(Decimal("70.00"), Decimal("140.00"), *WEEK, D(2027, 5, 22),
                                     paid_until=D(2027, 5, 21)) == 0


@pytest.mark.parametrize("before,after", [("39.90", "59.85"), ("59.85", "39.90"), ("12.35", "0"), ("0", "7.77"),
                                          ("33.33", "44.44")])
def test_invoice_plus_corrections_then_a_pause_add_up_to_the_cent(before, after):
    """Invoice at ``before``, a change on day c, a pause from day s >= c: what stays billed is what the
    days cost at each amount (the kept days of a period cut at its end), and nothing is given back twice."""
    before, after = Decimal(before), Decimal(after)
    for change in range(17, 24):
        for pause in range(change, 25):
            c, s = D(2027, 5, change), D(2027, 5, min(pause, 23))
            correction = periods.correction_amount(before, after, *WEEK, c)
            given_back = periods.unused_amount(before, *WEEK, s) + periods.correction_amount(before, after, *WEEK, s)
            if pause == 24:  # no pause
                given_back = Decimal(0)
            kept = before + correction - given_back
            # the invoice's days before the change, the new amount's days from it, up to the pause
            expected = before - periods.unused_amount(before, *WEEK, c) + periods.unused_amount(after, *WEEK, c)
            if pause != 24:
                expected -= periods.unused_amount(after, *WEEK, s)
            assert kept == expected
            assert given_back == (periods.unused_amount(after, *WEEK, s) if pause != 24 else 0)
