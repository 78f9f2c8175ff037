"""Reading files shaped like those Belgian, Dutch and German banks send (engine.bankfiles).

The files in ``bank_layouts/`` were written for these tests, each after one bank's or banking community's
published description of the message (named in each test); none is a copy of a real bank file.  Each is valid
against the official ISO schema, which ``read()`` checks while it reads.  What the descriptions were read
from: the documents' published tables of contents and element lists (the addresses are in the final report of
issue 15 and in the test docstrings); where a description left a choice open, the file takes the usual one.
"""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from engine import bankfiles as b

LAYOUTS = Path(__file__).resolve().parent / "bank_layouts"


def _read(name):
    return b.read(LAYOUTS / name)


def test_a_belgian_statement_with_a_globalised_collection_and_globalised_returns():
    """Febelfin, "XML message for statement – Implementation Guidelines", version 2.0 (and Final Version 2.1,
    changes in chapter 8.2), camt.053.001.02 (https://pdfslide.net/documents/xml-message-for-statement-febelfin.html,
    http://technodocbox.com/C_and_CPP/86991552-Xml-message-for-statement.html).

    Exercises: a paginated group header; two statements in one file (14 and 16 December), each with electronic
    and legal sequence numbers, the account with its owner's enterprise number and the servicer's BIC, balances
    and a transactions summary; the collection booked globally (one credit entry with the batch: message id,
    payment information id, number and total, and one TxDtls per collection with end-to-end id and mandate);
    two returns booked globally too (one debit entry, two TxDtls, each with its reason, its originator and the
    interbank settlement date); an account charge that is no direct debit and is left alone."""
    found = _read("be_febelfin_camt053_001_02.xml")
    assert (found.version, found.message_id, found.accounts) == (
        "camt.053.001.02", "GKCCBEBB-STMT-20261216-0001", {"BE71096123456769"})
    [credit] = found.credits
    assert (credit.amount, credit.booking_date, credit.bank_reference) == (
        Decimal("119.70"), date(2026, 12, 14), "2026-241-0001")
    assert credit.references[:2] == ("SWS-DD-20261130-0001", "SWS-DD-20261130-0001-0001")
    assert {f"SWS-DD-20261130-0001-00000{i}" for i in (1, 2, 3)} <= set(credit.references)
    assert [(r.end_to_end_id, r.mandate, r.amount, r.reason, r.booking_date, r.collection_date, r.charges,
             r.bank_reference) for r in found.returns] == [
        ("SWS-DD-20261130-0001-000001", "SWS-MDT-2026-00001", Decimal("39.90"), "AM04", date(2026, 12, 16),
         date(2026, 12, 14), Decimal(0), "2026-242-0001"),
        ("SWS-DD-20261130-0001-000002", "SWS-MDT-2026-00002", Decimal("39.90"), "MD06", date(2026, 12, 16),
         date(2026, 12, 14), Decimal(0), "2026-242-0001")]
    assert not found.rejects


def test_a_dutch_notification_with_single_booked_collections_and_returns_with_charges():
    """ING, "ING Format Description (CGI version) CAMT.054.001.02 – ING Account, Balance and Transaction
    Reporting", usage guideline of 28 August 2018
    (https://fdocuments.us/document/ing-format-description-cgi-version-camt054001-ing-format-description-cgi-version.html),
    with the Dutch camt.053 Implementation Guidelines of the Betaalvereniging (NVB) that ING's camt format
    descriptions take as reference (ING Format Description CAMT.052.001.02 and CAMT.053.001.02, v7.0 of
    16 August 2017, https://vdocument.in/ing-format-description-format-description-camt052ing-format-description-camt052.html).

    Exercises: single booking (one credit entry per collected transaction, no batch, the end-to-end id and
    the mandate in TxDtls, an instruction id beside the end-to-end id); one return per entry, the entry amount
    including the bank's charge; the charge given on the transaction (2009 ``Chrgs``) for one return and on the
    entry for the other, whose transaction has no amount of its own: its amount is the entry's less the
    charge."""
    found = _read("nl_ing_camt054_001_02.xml")
    assert (found.kind, found.accounts) == ("camt.054", {"NL69INGB0123456789"})
    assert [(c.amount, c.booking_date, c.references) for c in found.credits] == [
        (Decimal("24.95"), date(2026, 12, 14), ("SWS-DD-20261130-0002-000001",)),
        (Decimal("59.00"), date(2026, 12, 14), ("SWS-DD-20261130-0002-000002",))]
    assert [(r.end_to_end_id, r.amount, r.charges, r.reason, r.booking_date) for r in found.returns] == [
        ("SWS-DD-20261130-0002-000001", Decimal("24.95"), Decimal("0.45"), "AC04", date(2026, 12, 16)),
        ("SWS-DD-20261130-0002-000002", Decimal("59.00"), Decimal("0.45"), "MS02", date(2026, 12, 17))]


def test_a_german_notification_of_returns_with_fees_and_an_end_to_end_id_not_provided():
    """Die Deutsche Kreditwirtschaft, Anlage 3 der Schnittstellenspezifikation für die Datenfernübertragung
    zwischen Kunde und Kreditinstitut gemäß DFÜ-Abkommen, "Spezifikation der Datenformate", chapter 7
    "Kontoauszugsinformationen gemäß ISO-Standard 20022 im camt.05x-Nachrichtenformat" (version 2.7 of
    25 March 2013, https://pdfslide.org/documents/7-kontoauszugsinformationen-gem-iso-standard-20022-einzusetzenden-xml-schemaspezifikationen.html;
    version 3.0 of 12 May 2016, https://pdfslide.org/documents/anlage-3-der-schnittstellenspezifikation-fr-die-xml-container474-92-zip-container.html),
    and its annex mapping the Geschäftsvorfallcodes (GVC) to ISO bank transaction codes (as published in
    Postbank's "Besondere Bedingungen, Anlage 3", version 3.3 of 17 November 2019), written in the 2019
    message version camt.054.001.08.

    Exercises: the DK proprietary bank transaction code beside the ISO one; a return whose booked amount
    includes the return fee (``ChrgInclInd``), the original amount in ``AmtDtls/InstdAmt``; the creditor
    identifier among the related parties (2019 ``Pty``); an end-to-end id reported as ``NOTPROVIDED`` (read as
    none: the add-on then matches by mandate, amount and collection date); a pending entry (``PDNG``), left
    alone."""
    found = _read("de_dk_camt054_001_08.xml")
    assert (found.version, found.accounts, found.credits) == ("camt.054.001.08", {"DE89370400440532013000"}, [])
    first, second = found.returns
    assert (first.end_to_end_id, first.mandate, first.amount, first.charges, first.reason) == (
        "SWS-DD-20261130-0003-000001", "SWS-MDT-2026-00021", Decimal("39.90"), Decimal("3.00"), "AC06")
    assert (second.end_to_end_id, second.mandate, second.amount, second.charges, second.reason,
            second.collection_date) == (None, "SWS-MDT-2026-00022", Decimal("15.00"), Decimal(0), "MD06",
                                        date(2026, 12, 14))


def test_a_german_status_report_rejecting_one_collection():
    """Die Deutsche Kreditwirtschaft, DFÜ-Abkommen Anlage 3 "Spezifikation der Datenformate" (version 3.0 of
    12 May 2016, chapter 2, SEPA-Zahlungsverkehr: Payment Status Report pain.002.001.03 for SEPA direct
    debits; the reason codes as the Anlage lists them, e.g. AC04, MD06, MS02, MS03 in version 2.5 of 10 June 2010,
    https://www.yumpu.com/de/document/view/15972853/anlage-3-des-dfu-abkommens-bundesverband-deutscher-banken).

    Exercises: the initiating party as the bank's BIC; group and block status PART; a rejected transaction
    with its status id, its originator, the reason and its text, and the original transaction reference
    (amount, collection date, creditor identifier, sequence type, mandate, debtor)."""
    found = _read("de_dk_pain002_001_03.xml")
    assert found.original_message_ids == {"SWS-DD-20261130-0003"}
    assert found.rejects == [b.Reject("SWS-DD-20261130-0003", "SWS-DD-20261130-0003-0001",
                                      "SWS-DD-20261130-0003-000003", "AC04", Decimal("29.90"),
                                      "SWS-MDT-2026-00023", date(2026, 12, 14))]


@pytest.mark.parametrize("name", sorted(p.name for p in LAYOUTS.glob("*.xml")))
def test_every_layout_is_valid_against_its_official_schema(name):
    data = (LAYOUTS / name).read_bytes()
    version = b.version_of(data)
    assert b.schema(version).validate(etree.fromstring(data)), name


def test_a_proprietary_reason_and_a_value_date_without_booking_date_are_read():
    """Variants seen in real files: a status reason given only as the bank's proprietary code, and a return
    entry without a booking date (its value date is taken)."""
    data = (LAYOUTS / "de_dk_pain002_001_03.xml").read_bytes().replace(
        b"<Rsn><Cd>AC04</Cd></Rsn>", b"<Rsn><Prtry>901</Prtry></Rsn>")
    assert [r.reason for r in b.read(data).rejects] == ["901"]
    data = (LAYOUTS / "de_dk_camt054_001_08.xml").read_bytes().replace(
        b"<BookgDt><Dt>2026-12-16</Dt></BookgDt>\n        <ValDt><Dt>2026-12-16</Dt></ValDt>",
        b"<ValDt><Dt>2026-12-15</Dt></ValDt>", 1)
    assert b.read(data).returns[0].booking_date == date(2026, 12, 15)
