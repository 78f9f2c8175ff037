"""Reading what the bank sends back (engine.bankfiles): pain.002, camt.054, camt.053, both generations.

The sample files are written here from the ISO 20022 message definitions (the schemas in data/xsd),
in the shape SEPA direct-debit reporting usually takes: one statement or notification per account,
the collection booked as one credit entry carrying the batch's message and payment information ids
(batch booking), one booked debit entry per return with its reason in RtrInf, the original
end-to-end id and mandate, and the charges; pain.002 rejects as RJCT per transaction with an ISO
status reason. They follow no single bank's published layout, and are not copied from one; each is
valid against the official schema, which read() checks.
"""

from datetime import date
from decimal import Decimal

import pytest

from engine import bankfiles as b

CREDITOR = "BE71096123456769"


def _ns(version):
    return f"urn:iso:std:iso:20022:tech:xsd:{version}"


def _status(version):
    return "<Sts>BOOK</Sts>" if version.endswith(".02") else "<Sts><Cd>BOOK</Cd></Sts>"


def _bk(family, sub):
    return f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>"


def _return_entry(version, e2e, mandate, amount, reason, charges=None, booked="2026-12-09"):
    new = not version.endswith(".02")
    charge_xml = ""
    if charges:
        charge_xml = (f"<Chrgs><Rcrd><Amt Ccy=\"EUR\">{charges}</Amt><CdtDbtInd>DBIT</CdtDbtInd></Rcrd></Chrgs>" if new
                      else f"<Chrgs><Amt Ccy=\"EUR\">{charges}</Amt><CdtDbtInd>DBIT</CdtDbtInd></Chrgs>")
    tx_amount = f"<Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>" if new else ""
    total = Decimal(amount) + Decimal(charges or 0)
    refs = f"<Refs><EndToEndId>{e2e}</EndToEndId><MndtId>{mandate}</MndtId></Refs>" if e2e else \
        f"<Refs><MndtId>{mandate}</MndtId></Refs>"
    return (f"<Ntry><Amt Ccy=\"EUR\">{total}</Amt><CdtDbtInd>DBIT</CdtDbtInd>{_status(version)}"
            f"<BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>{booked}</Dt></ValDt>"
            f"<AcctSvcrRef>RTN-{mandate}</AcctSvcrRef>{_bk('IDDT', 'UPDD')}"
            f"<NtryDtls><TxDtls>{refs}{tx_amount}"
            f"<AmtDtls><InstdAmt><Amt Ccy=\"EUR\">{amount}</Amt></InstdAmt></AmtDtls>{charge_xml}"
            f"<RltdDts><IntrBkSttlmDt>2026-12-02</IntrBkSttlmDt></RltdDts>"
            f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>")


def _credit_entry(version, amount, payment_info_id, message_id, count):
    return (f"<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>{_status(version)}"
            f"<BookgDt><Dt>2026-12-02</Dt></BookgDt><ValDt><Dt>2026-12-02</Dt></ValDt>"
            f"<AcctSvcrRef>COLL-{payment_info_id}</AcctSvcrRef>{_bk('IDDT', 'ESDD')}"
            f"<NtryDtls><Btch><MsgId>{message_id}</MsgId><PmtInfId>{payment_info_id}</PmtInfId>"
            f"<NbOfTxs>{count}</NbOfTxs></Btch></NtryDtls></Ntry>")


def camt(version, entries, account=CREDITOR):
    report = "Ntfctn" if version.startswith("camt.054") else "Stmt"
    root = "BkToCstmrDbtCdtNtfctn" if report == "Ntfctn" else "BkToCstmrStmt"
    balance = "" if report == "Ntfctn" else (
        "<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">1000.00</Amt>"
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-09</Dt></Dt></Bal>")
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Document xmlns=\"{_ns(version)}\"><{root}>"
            f"<GrpHdr><MsgId>BANK-{version}</MsgId><CreDtTm>2026-12-09T18:00:00</CreDtTm></GrpHdr>"
            f"<{report}><Id>{report}-0001</Id><CreDtTm>2026-12-09T18:00:00</CreDtTm>"
            f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>{balance}"
            f"{''.join(entries)}</{report}></{root}></Document>").encode()


def pain002(version, transactions, group_status="PART", message_id="SWS-DD-20261201-0001"):
    txs = "".join(
        f"<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
        f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>"
        f"<OrgnlTxRef><Amt><InstdAmt Ccy=\"EUR\">{amount}</InstdAmt></Amt><ReqdColltnDt>2026-12-02</ReqdColltnDt>"
        f"<MndtRltdInf><MndtId>{mandate}</MndtId></MndtRltdInf></OrgnlTxRef></TxInfAndSts>"
        for e2e, mandate, amount, reason in transactions)
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Document xmlns=\"{_ns(version)}\"><CstmrPmtStsRpt>"
            f"<GrpHdr><MsgId>STS-0001</MsgId><CreDtTm>2026-12-01T15:00:00</CreDtTm></GrpHdr>"
            f"<OrgnlGrpInfAndSts><OrgnlMsgId>{message_id}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId>"
            f"<GrpSts>{group_status}</GrpSts></OrgnlGrpInfAndSts>"
            f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{message_id}-1</OrgnlPmtInfId>{txs}</OrgnlPmtInfAndSts>"
            f"</CstmrPmtStsRpt></Document>").encode()


CAMTS = ["camt.054.001.02", "camt.054.001.08", "camt.053.001.02", "camt.053.001.08"]


@pytest.mark.parametrize("version", CAMTS)
def test_returns_and_the_batch_credit_of_a_notification_or_statement(version):
    data = camt(version, [
        _credit_entry(version, "109.70", "SWS-DD-20261201-0001-1", "SWS-DD-20261201-0001", 3),
        _return_entry(version, "20261201-0001-000002", "SWS-MDT-0002", "39.90", "AM04", charges="2.50"),
        _return_entry(version, None, "SWS-MDT-0003", "29.90", "MD01"),
    ])
    found = b.read(data)
    assert (found.version, found.kind, found.message_id) == (version, version[:8], f"BANK-{version}")
    assert found.accounts == {CREDITOR}
    assert found.credits == [b.Credit(Decimal("109.70"), date(2026, 12, 2),
                                      ("SWS-DD-20261201-0001", "SWS-DD-20261201-0001-1"),
                                      "COLL-SWS-DD-20261201-0001-1")]
    first, second = found.returns
    assert first == b.Return("20261201-0001-000002", "SWS-MDT-0002", Decimal("39.90"), "AM04", date(2026, 12, 9),
                             Decimal("2.50"), date(2026, 12, 2), "RTN-SWS-MDT-0002")
    assert (second.end_to_end_id, second.mandate, second.amount, second.reason, second.charges) == \
        (None, "SWS-MDT-0003", Decimal("29.90"), "MD01", Decimal(0))


@pytest.mark.parametrize("version", ["pain.002.001.03", "pain.002.001.10"])
def test_rejects_of_a_status_report(version):
    data = pain002(version, [("20261201-0001-000001", "SWS-MDT-0001", "39.90", "AC04"),
                             ("20261201-0001-000003", "SWS-MDT-0003", "12.00", "MS03")])
    found = b.read(data)
    assert found.original_message_ids == {"SWS-DD-20261201-0001"}
    assert [(r.end_to_end_id, r.reason, r.amount, r.mandate, r.collection_date) for r in found.rejects] == [
        ("20261201-0001-000001", "AC04", Decimal("39.90"), "SWS-MDT-0001", date(2026, 12, 2)),
        ("20261201-0001-000003", "MS03", Decimal("12.00"), "SWS-MDT-0003", date(2026, 12, 2))]
    whole = b.read(pain002(version, [], group_status="RJCT"))
    assert [(r.payment_info_id, r.end_to_end_id) for r in whole.rejects] == [(None, None)]


def test_a_file_that_fails_its_schema_or_is_no_bank_file_is_refused():
    broken = camt("camt.054.001.08", [_return_entry("camt.054.001.08", "E2E", "M", "1.00", "AM04")]).replace(
        b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>MAYBE</CdtDbtInd>", 1)
    with pytest.raises(b.BankFileError, match="not valid against its ISO schema"):
        b.read(broken)
    with pytest.raises(b.BankFileError, match=r"it reads pain\.002\.001\.03"):
        b.read(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"/>')
    with pytest.raises(b.BankFileError, match="not XML"):
        b.read(b"%PDF-1.7")


def test_a_large_notification_streams(tmp_path):
    entries = [_return_entry("camt.054.001.08", f"E2E-{i:06d}", f"SWS-MDT-{i:05d}", "10.00", "AM04")
               for i in range(3000)]
    path = tmp_path / "camt054.xml"
    path.write_bytes(camt("camt.054.001.08", entries))
    found = b.read(path)
    assert len(found.returns) == 3000
    assert sum((r.amount for r in found.returns), Decimal(0)) == Decimal("30000.00")


def test_an_external_entity_is_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = camt("camt.054.001.08", [_return_entry("camt.054.001.08", "&x;", "M", "1.00", "AM04")]).replace(
        b"<Document", f'<!DOCTYPE Document [<!ENTITY x SYSTEM "file://{secret}">]><Document'.encode(), 1)
    try:
        found = b.read(data)
    except b.BankFileError as error:
        assert "TOP-SECRET" not in str(error)
    else:
        assert all("TOP-SECRET" not in (r.end_to_end_id or "") for r in found.returns)
