"""The pain.008 builder and its checks (engine.sepa)."""

import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from engine import sepa as s

D = date
GOLDEN = Path(__file__).parent / "golden" / "pain008_small.xml"
CREDITOR = s.Creditor(
    name="Weekly Boxes SRL", iban="BE71 0961 2345 6769", bic="GKCCBEBB", country="BE", town="Bruxelles",
    zip="1000", street="Rue Neuve", building="12", identifier="BE68ZZZ0123456789")


def tx(number=1, **values):
    base = {
        "record": f"INV/2026/{number:05d} (Brasserie Dupont)",
        "end_to_end_id": f"INV-2026-{number:05d}",
        "amount": Decimal("39.90"),
        "mandate": s.Mandate(f"SWS-MDT-{number:04d}", D(2026, 1, 5)),
        "debtor": s.Party(name="Brasserie Dupont", iban="BE68 5390 0754 7034", country="BE", town="Liège"),
        "remittance": f"INV/2026/{number:05d}",
        "collection_date": D(2026, 12, 2),
    }
    base.update(values)
    return s.Transaction(**base)


def batch(transactions, **values):
    return s.Batch(**{"message_id": "SWS-DD-2026-0001", "created": datetime(2026, 11, 27, 10, 30),
                      "creditor": CREDITOR, "transactions": transactions, **values})


def problems(transactions, **values):
    with pytest.raises(s.SepaError) as caught:
        s.build(batch(transactions, **values))
    return caught.value.problems


def codes(found):
    return [(problem.code, problem.field) for problem in found]


# -- valid files -----------------------------------------------------------------

@pytest.mark.parametrize("version", s.VERSIONS)
def test_both_versions_are_valid_against_their_schema(version):
    amended = tx(3, mandate=s.Mandate("SWS-MDT-0003", D(2025, 6, 1), original_iban="BE71096123456769"))
    moved = tx(4, mandate=s.Mandate("SWS-MDT-0004", D(2025, 6, 1), original_bank_changed=True),
               debtor=s.Party(name="Bakkerij Jansen", iban="NL91ABNA0417164300", bic="ABNANL2A"))
    data, summary = s.build(batch([tx(1, sequence_type="FRST"), tx(2), amended, moved], version=version))
    assert s.validate(data, version)
    assert summary["count"] == 4 and summary["control_sum"] == Decimal("159.60")
    root = etree.fromstring(data)
    assert root.nsmap[None] == f"urn:iso:std:iso:20022:tech:xsd:{version}"
    text = data.decode()
    assert "<AmdmntInd>true</AmdmntInd>" in text and "<Id>SMNDA</Id>" in text
    assert ("<BICFI>ABNANL2A</BICFI>" if version == s.V08 else "<BIC>ABNANL2A</BIC>") in text
    # never an unstructured-only address
    assert "<TwnNm>Liege</TwnNm>" in text and "<Ctry>BE</Ctry>" in text


def test_small_batch_matches_the_reviewed_golden_file():
    data, _summary = s.build(batch([tx(1, sequence_type="FRST"), tx(2), tx(3, amount=Decimal("12.34"))]))
    pretty = etree.tostring(etree.fromstring(data), pretty_print=True, xml_declaration=True, encoding="UTF-8")
    assert pretty.decode() == GOLDEN.read_text()


def test_blocks_grouped_by_scheme_sequence_and_date():
    data, summary = s.build(batch([tx(1, sequence_type="FRST"), tx(2), tx(3, collection_date=D(2026, 12, 9)),
                                   tx(4, sequence_type="FRST")]))
    assert summary["blocks"] == [
        ("CORE", "FRST", D(2026, 12, 2), 2, Decimal("79.80")),
        ("CORE", "RCUR", D(2026, 12, 2), 1, Decimal("39.90")),
        ("CORE", "RCUR", D(2026, 12, 9), 1, Decimal("39.90")),
    ]
    assert data.decode().count("<PmtInf>") == 3


def test_hybrid_creditor_address_and_b2b():
    creditor = replace(CREDITOR, hybrid=True)
    b2b = tx(1, mandate=s.Mandate("SWS-MDT-0001", D(2026, 1, 5), scheme=s.B2B))
    data, _summary = s.build(batch([b2b], creditor=creditor, scheme=s.B2B))
    text = data.decode()
    assert "<AdrLine>Rue Neuve 12</AdrLine>" in text and "<StrtNm>" not in text
    assert "<LclInstrm><Cd>B2B</Cd></LclInstrm>" in text


# -- cleaning --------------------------------------------------------------------

def test_names_are_transliterated_into_the_sepa_latin_set():
    assert s.latin("Müller & Söhne_GmbH") == "Mueller + Soehne GmbH"
    assert s.latin("Café Lefèvre, Saint-Étienne") == "Cafe Lefevre, Saint-Etienne"
    assert s.latin("Иван Петров") == "Ivan Petrov"
    assert s.latin("Γιώργος Παπαδόπουλος") == "Giorgos Papadopoylos"
    data, _summary = s.build(batch([tx(1, debtor=s.Party(name="Müller & Söhne_GmbH", iban="DE89370400440532013000"))]))
    assert "<Nm>Mueller + Soehne GmbH</Nm>" in data.decode()


def test_a_name_with_nothing_latin_left_is_refused():
    found = problems([tx(1, debtor=s.Party(name="北京烤鸭店", iban="BE68539007547034"))])
    assert codes(found) == [("not_latin", "Debtor Name")]
    assert "INV/2026/00001 (Brasserie Dupont): 'Debtor Name'" in str(found[0])


def test_long_names_and_remittance_are_cut_cleanly_long_identifiers_refused():
    name = "Brasserie " + "Dupont " * 15
    remittance = " ".join(f"INV/2026/{n:05d}" for n in range(1, 20))
    data, _summary = s.build(batch([tx(1, debtor=s.Party(name=name, iban="BE68539007547034"), remittance=remittance)]))
    root = etree.fromstring(data)
    ns = {"p": root.nsmap[None]}
    debtor = root.find(".//p:Dbtr/p:Nm", ns).text
    ustrd = root.find(".//p:Ustrd", ns).text
    assert len(debtor) <= 70 and debtor.endswith("Dupont")
    assert len(ustrd) <= 140 and re.fullmatch(r"(INV/2026/\d{5} ?)+", ustrd) and not ustrd.endswith(" ")
    found = problems([tx(1, end_to_end_id="X" * 36, mandate=s.Mandate("M" * 36, D(2026, 1, 5)))])
    assert codes(found) == [("too_long", "End-to-End Id"), ("too_long", "Mandate Reference")]


def test_iban_spaces_and_lower_case_normalised_wrong_check_digit_refused():
    data, _summary = s.build(batch([tx(1, debtor=s.Party(name="Dupont", iban="be68 5390 0754 7034"))]))
    assert "<IBAN>BE68539007547034</IBAN>" in data.decode()
    assert s.normalise_iban(" de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    found = problems([tx(1, debtor=s.Party(name="Dupont", iban="BE69 5390 0754 7034"))])
    assert codes(found) == [("iban", "Debtor Account")]
    assert s.bic_of_iban("BE71096123456769") == "GKCCBEBB"


def test_currency_and_amounts():
    assert codes(problems([tx(1, currency="USD")])) == [("currency", "Currency")]
    for amount in ("0", "-5", "10.001", "1000000000.00"):
        assert codes(problems([tx(1, amount=Decimal(amount))])) == [("amount", "Amount")], amount
    data, _summary = s.build(batch([tx(1, amount=Decimal("999999999.99"))]))
    assert "999999999.99" in data.decode()


def test_mandate_signed_in_the_future_or_of_another_scheme():
    future = tx(1, mandate=s.Mandate("SWS-MDT-0001", D(2026, 11, 28)))
    other = tx(2, mandate=s.Mandate("SWS-MDT-0002", D(2026, 1, 5), scheme=s.B2B))
    assert codes(problems([future, other])) == [("mandate_future", "Mandate Signature Date"),
                                                ("scheme", "Mandate Scheme")]


def test_creditor_identifier_and_account():
    wrong = replace(CREDITOR, identifier="BE69ZZZ0123456789", iban="123456")
    found = problems([tx(1)], creditor=wrong)
    assert codes(found) == [("iban", "Creditor Account"), ("creditor_id", "Creditor Identifier")]
    assert "the check digits should be 68, not 69" in str(found[1])


def test_the_same_invoice_twice_is_refused_and_nothing_is_written(tmp_path):
    target = tmp_path / "out.xml"
    with pytest.raises(s.SepaError) as caught:
        s.write(batch([tx(1), tx(1)]), str(target))
    assert codes(caught.value.problems) == [("duplicate", "End-to-End Id")]
    assert not target.exists()


def test_an_empty_batch_and_a_missing_collection_date_are_refused():
    wrong = replace(CREDITOR, identifier="BE69ZZZ0123456789")
    assert codes(problems([], creditor=wrong)) == [("creditor_id", "Creditor Identifier"), ("empty", "Transactions")]
    assert codes(problems([tx(1, collection_date=None)])) == [("empty", "Collection Date")]


def test_a_file_is_written_whole_from_a_generator_or_not_at_all(tmp_path):
    target = tmp_path / "run.xml"
    summary = s.write(batch(tx(n) for n in range(1, 4)), target)
    assert summary["count"] == 3 and s.validate(str(target))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.xml"]
    with pytest.raises(s.SepaError):
        s.write(batch(tx(n, amount=Decimal(-n)) for n in range(1, 4)), tmp_path / "refused.xml")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.xml"]


def test_the_schema_catches_what_the_checks_do_not_cover():
    data, _summary = s.build(batch([tx(1)]))
    broken = data.replace(b"<PmtMtd>DD</PmtMtd>", b"<PmtMtd>XX</PmtMtd>")
    with pytest.raises(ValueError, match=r"not valid against pain\.008\.001\.08"):
        s.validate(broken)


# -- properties ------------------------------------------------------------------

amounts = st.integers(1, 99_999_999_999).map(lambda cents: Decimal(cents) / 100)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(amounts, st.sampled_from(["FRST", "RCUR"]), st.integers(0, 3)), min_size=1, max_size=40))
def test_control_sums_counts_and_unique_ids(rows):
    transactions = [tx(n, amount=amount, sequence_type=seq, collection_date=D(2026, 12, 2 + 7 * week))
                    for n, (amount, seq, week) in enumerate(rows, start=1)]
    data, summary = s.build(batch(transactions))
    root = etree.fromstring(data)
    ns = {"p": root.nsmap[None]}
    instructed = [Decimal(x.text) for x in root.iterfind(".//p:InstdAmt", ns)]
    assert Decimal(root.find("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", ns).text) == sum(instructed)
    assert int(root.find("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", ns).text) == len(instructed) == len(rows)
    for block in root.iterfind(".//p:PmtInf", ns):
        block_amounts = [Decimal(x.text) for x in block.iterfind(".//p:InstdAmt", ns)]
        assert Decimal(block.find("p:CtrlSum", ns).text) == sum(block_amounts)
        assert int(block.find("p:NbOfTxs", ns).text) == len(block_amounts)
    ids = [x.text for x in root.iterfind(".//p:EndToEndId", ns)]
    assert len(ids) == len(set(ids))
    assert summary["control_sum"] == sum(instructed)


# -- money is exact ----------------------------------------------------------------

def test_amounts_are_added_exactly():
    assert 10.10 + 20.20 != 30.30  # what a float sum gives
    assert s.exact_sum([10.10, 20.20]) == Decimal("30.30")
    assert s.exact_sum([]) == 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, 99_999_99), min_size=1, max_size=12), st.integers(1, 4))
def test_any_amounts_in_any_grouping_build_an_exact_file(cents, group_size):
    amounts = [cent / 100 for cent in cents]  # floats, as the ORM gives them
    groups = [amounts[i:i + group_size] for i in range(0, len(amounts), group_size)]
    txs = [tx(number, amount=s.exact_sum(group), end_to_end_id=f"E2E-{number}")
           for number, group in enumerate(groups, start=1)]
    data, summary = s.build(batch(txs))
    expected = sum((Decimal(cent) / 100 for cent in cents), Decimal(0))
    assert summary["control_sum"] == expected
    assert f"<CtrlSum>{expected:.2f}</CtrlSum>" in data.decode()


# -- identifiers and invisible characters ---------------------------------------------

@pytest.mark.parametrize("reference", ["SWS-MDT-0001/", "/SWS-MDT-0001", "SWS//MDT"])
def test_no_leading_or_trailing_slash_and_no_double_slash(reference):
    found = problems([tx(1, mandate=s.Mandate(reference, D(2026, 1, 5)))])
    assert ("bad_chars", "Mandate Reference") in codes(found)


def test_invisible_characters_are_dropped_not_turned_into_spaces():
    assert s.latin("Zo\u200be Jans\u200fsens") == "Zoe Janssens"
    assert s.latin("Zo\u00eb\u2060 Janssens") == "Zoe Janssens"


@pytest.mark.parametrize("iban", ["BR1800360305000010009795493C1", "TR330006100519786457841326",
                                  "SA0380000000608010167519"])
def test_an_iban_outside_the_sepa_zone_is_refused(iban):
    assert not s.in_sepa_zone(iban)
    found = problems([tx(1, debtor=s.Party(name="Far Away", iban=iban, country="BE", town="Liège"))])
    assert codes(found) == [("not_sepa", "Debtor Account")]
    assert found[0].value == iban[:2]


@pytest.mark.parametrize("iban", ["CH9300762011623852957", "GB29NWBK60161331926819", "MC5811222000010123456789030",
                                  "SM86U0322509800000000270100", "AD1200012030200359100100",
                                  "VA59001123000012345678"])
def test_a_debtor_banking_outside_the_eea_needs_a_town_and_a_country(iban):
    # Jersey, Guernsey and the Isle of Man bank with British IBANs (GB..)
    assert s.in_sepa_zone(iban) and s.address_required(iban)
    bare = tx(1, debtor=s.Party(name="Muster AG", iban=iban))
    assert codes(problems([bare])) == [("debtor_address", "Debtor Address")]
    placed = tx(1, debtor=s.Party(name="Muster AG", iban=iban, country=iban[:2], town="Zürich", zip="8001",
                                 street="Bahnhofstrasse 1"))
    data, _summary = s.build(batch([placed]))
    debtor = etree.fromstring(data).find(".//{*}Dbtr")
    assert debtor.find("{*}PstlAdr/{*}TwnNm").text == "Zuerich"
    assert debtor.find("{*}PstlAdr/{*}Ctry").text == iban[:2]
    assert debtor.find("{*}PstlAdr/{*}StrtNm").text == "Bahnhofstrasse 1"


def test_a_debtor_inside_the_eea_needs_no_address():
    for iban in ("BE68539007547034", "DE89370400440532013000", "NO9386011117947", "FR1420041010050500013M02606"):
        assert s.in_sepa_zone(iban) and not s.address_required(iban), iban
    data, _summary = s.build(batch([tx(1, debtor=s.Party(name="Dupont", iban="DE89370400440532013000"))]))
    assert b"PstlAdr" not in data.split(b"<Dbtr>")[1].split(b"</Dbtr>")[0]
