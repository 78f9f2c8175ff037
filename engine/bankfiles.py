"""What the bank sends back about direct debits: pain.002 status reports, camt.054
notifications and camt.053 statements, in their 2009 and 2019 versions.

Pure Python: this module never imports ``odoo``.  :func:`read` takes the bytes (or a
path, or a file object) of one file, picks the official ISO schema by the namespace of
its root element, validates the file against it while it streams through it, and
returns a :class:`BankFile`: the accounts it is for, the transactions the bank rejected
before settlement, the ones it returned after settlement (with the reason and the
charges), and the credit bookings of collections.  Entries are read one at a time and
cleared once read, so a file of 10,000 returns is never held whole as a tree.  Nothing
is returned from a file that fails its schema: :class:`BankFileError` says why.
"""

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from lxml import etree

XSD_DIR = Path(__file__).resolve().parent.parent / "data" / "xsd"
PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
VERSIONS = ("pain.002.001.03", "pain.002.001.10", "camt.054.001.02", "camt.054.001.08",
            "camt.053.001.02", "camt.053.001.08")


# a bank file comes from outside: no DTD, no entity, nothing fetched (no XXE)
SAFE = {"resolve_entities": False, "load_dtd": False, "no_network": True, "huge_tree": False}


class BankFileError(ValueError):
    """The file cannot be read: not one of :data:`VERSIONS`, or not valid against its schema."""


@dataclass(frozen=True)
class Reject:
    """A pain.002 reject before settlement: a transaction (``end_to_end_id``), or a whole payment
    block (``payment_info_id`` only) or file (neither)."""

    original_message_id: str
    payment_info_id: str | None
    end_to_end_id: str | None
    reason: str | None
    amount: Decimal | None = None
    mandate: str | None = None
    collection_date: date | None = None


@dataclass(frozen=True)
class Return:
    """A direct debit returned after settlement (a debit entry with ``RtrInf``)."""

    end_to_end_id: str | None
    mandate: str | None
    amount: Decimal
    reason: str | None
    booking_date: date | None
    charges: Decimal = Decimal(0)
    collection_date: date | None = None
    bank_reference: str | None = None


@dataclass(frozen=True)
class Credit:
    """The credit booking of a collection: one entry for a whole batch (batch booking), or one per
    transaction.  ``references`` holds every id the bank gave: message id, payment information
    id, end-to-end ids."""

    amount: Decimal
    booking_date: date | None
    references: tuple = ()
    bank_reference: str | None = None


@dataclass
class BankFile:
    version: str
    message_id: str
    accounts: set = field(default_factory=set)
    original_message_ids: set = field(default_factory=set)
    rejects: list = field(default_factory=list)
    returns: list = field(default_factory=list)
    credits: list = field(default_factory=list)

    @property
    def kind(self):
        return self.version[:8]


@cache
def schema(version):
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{version}.xsd")))


def _source(data):
    if isinstance(data, (bytes, bytearray)):
        return io.BytesIO(data)
    if isinstance(data, (str, Path)):
        return open(data, "rb")  # closed by the caller
    return data


def version_of(data):
    """The message version named by the namespace of the root element, e.g. 'camt.054.001.08'."""
    source = _source(data)
    try:
        for _event, element in etree.iterparse(source, events=("start",), **SAFE):
            namespace = etree.QName(element).namespace or ""
            version = namespace.removeprefix(PREFIX)
            if not namespace.startswith(PREFIX) or version not in VERSIONS:
                raise BankFileError(f"not a bank file this add-on reads: {namespace or element.tag}; "
                                    f"it reads {', '.join(VERSIONS)}")
            return version
    except etree.XMLSyntaxError as error:
        raise BankFileError(f"not XML: {error}") from None
    finally:
        if source is not data:
            source.close()
    raise BankFileError("the file is empty")


# -- small readers --------------------------------------------------------------

def _text(element, path):
    found = element.find(path)
    return found.text.strip() if found is not None and found.text else None


def _amount(element, path):
    value = _text(element, path)
    return Decimal(value) if value is not None else None


def _date(element, *paths):
    for path in paths:
        value = _text(element, path)
        if value:
            return date.fromisoformat(value[:10])
    return None


def _reference(element, path):
    """An id the bank reports, or None when it says it has none ('NOTPROVIDED', as the EPC and ISO usage
    rules write an end-to-end id the creditor never gave)."""
    value = _text(element, path)
    return None if value is None or value.upper() == "NOTPROVIDED" else value


def _q(path, namespace):
    """``path`` ('Ntry/Amt') in the document's namespace."""
    return "/".join(f"{{{namespace}}}{step}" if step not in (".", "..") else step for step in path.split("/"))


# -- camt.053 / camt.054 -----------------------------------------------------------

def _charges(tx, q, version):
    """The charges of a returned transaction, positive; 2009: a list of ``Chrgs``, 2019: ``Chrgs/Rcrd``."""
    records = tx.findall(q("Chrgs")) if version.endswith(".02") else tx.findall(q("Chrgs/Rcrd"))
    total = Decimal(0)
    for record in records:
        amount = _amount(record, q("Amt"))
        if amount is not None and _text(record, q("CdtDbtInd")) != "CRDT":
            total += amount
    return total


def _amount_returned(tx, q, version, entry_amount, single, charges):
    """The original amount of a returned transaction: the instructed amount, else the transaction amount, else
    (2019) the amount booked for it, else the entry's when it is the entry's only transaction.  A booked amount
    that includes the charges (``ChrgInclInd``, 2019, or an entry amount of one transaction and its charges)
    is given back without them."""
    for path in ("AmtDtls/InstdAmt/Amt", "AmtDtls/TxAmt/Amt"):
        amount = _amount(tx, q(path))
        if amount is not None:
            return amount
    included = any(_text(record, q("ChrgInclInd")) == "true" for record in tx.findall(q("Chrgs/Rcrd")))
    amount = _amount(tx, q("Amt")) if not version.endswith(".02") else None
    if amount is None and single:
        amount, included = entry_amount, included or (entry_amount is not None and charges > 0)
    if amount is None:
        return Decimal(0)
    return amount - charges if included and charges < amount else amount


def _entry(entry, q, version, found):
    credit = _text(entry, q("CdtDbtInd")) == "CRDT"
    if _text(entry, q("RvslInd")) == "true":
        return
    status = _text(entry, q("Sts")) if version.endswith(".02") else _text(entry, q("Sts/Cd"))
    if status not in (None, "BOOK"):
        return  # pending or information only: booked entries only
    booking = _date(entry, q("BookgDt/Dt"), q("BookgDt/DtTm"), q("ValDt/Dt"), q("ValDt/DtTm"))
    bank_reference = _text(entry, q("AcctSvcrRef"))
    amount = _amount(entry, q("Amt"))
    transactions = entry.findall(q("NtryDtls/TxDtls"))
    if credit:
        references = [_text(entry, q(path)) for path in ("NtryDtls/Btch/MsgId", "NtryDtls/Btch/PmtInfId",
                                                          "NtryRef")]
        for tx in transactions:
            references += [_text(tx, q("Refs/MsgId")), _text(tx, q("Refs/PmtInfId")),
                           _reference(tx, q("Refs/EndToEndId"))]
        found.credits.append(Credit(amount, booking, tuple(dict.fromkeys(ref for ref in references if ref)),
                                    bank_reference))
        return
    single = len(transactions) == 1
    for tx in transactions:
        if tx.find(q("RtrInf")) is None:
            continue
        # the charges of the transaction; a bank that books one return per entry may give them on the entry
        charges = _charges(tx, q, version) or (_charges(entry, q, version) if single else Decimal(0))
        found.returns.append(Return(
            end_to_end_id=_reference(tx, q("Refs/EndToEndId")), mandate=_reference(tx, q("Refs/MndtId")),
            amount=_amount_returned(tx, q, version, amount, single, charges),
            reason=_text(tx, q("RtrInf/Rsn/Cd")) or _text(tx, q("RtrInf/Rsn/Prtry")),
            booking_date=booking, charges=charges,
            collection_date=_date(tx, q("RltdDts/IntrBkSttlmDt")), bank_reference=bank_reference))


def _camt(source, version, found):
    namespace = PREFIX + version
    q = lambda path: _q(path, namespace)  # noqa: E731
    report = "Ntfctn" if version.startswith("camt.054") else "Stmt"
    context = etree.iterparse(source, events=("end",), schema=schema(version), remove_blank_text=True, **SAFE)
    for _event, element in context:
        tag = etree.QName(element).localname
        if tag == "Ntry":
            _entry(element, q, version, found)
            element.clear()
            parent = element.getparent()
            while element.getprevious() is not None:
                del parent[0]
        elif tag == "GrpHdr":
            found.message_id = _text(element, q("MsgId"))
        elif tag == "Acct" and etree.QName(element.getparent()).localname == report:
            iban = _text(element, q("Id/IBAN"))
            if iban:
                found.accounts.add(iban.replace(" ", "").upper())


# -- pain.002 -------------------------------------------------------------------------

def _status_reason(element, q):
    """The first reason of a status: its ISO code, else the bank's proprietary one."""
    return _text(element, q("StsRsnInf/Rsn/Cd")) or _text(element, q("StsRsnInf/Rsn/Prtry"))


def _pain002(source, version, found):
    namespace = PREFIX + version
    q = lambda path: _q(path, namespace)  # noqa: E731
    context = etree.iterparse(source, events=("end",), schema=schema(version), remove_blank_text=True, **SAFE)
    original = None
    for _event, element in context:
        tag = etree.QName(element).localname
        if tag == "GrpHdr" and etree.QName(element.getparent()).localname == "CstmrPmtStsRpt":
            found.message_id = _text(element, q("MsgId"))
        elif tag == "OrgnlGrpInfAndSts":
            original = _text(element, q("OrgnlMsgId"))
            found.original_message_ids.add(original)
            if _text(element, q("GrpSts")) == "RJCT":
                found.rejects.append(Reject(original, None, None, _status_reason(element, q)))
        elif tag == "OrgnlPmtInfAndSts":
            block = _text(element, q("OrgnlPmtInfId"))
            if _text(element, q("PmtInfSts")) == "RJCT":
                found.rejects.append(Reject(original, block, None, _status_reason(element, q)))
            for tx in element.findall(q("TxInfAndSts")):
                if _text(tx, q("TxSts")) != "RJCT":
                    continue
                found.rejects.append(Reject(
                    original, block, _text(tx, q("OrgnlEndToEndId")), _status_reason(tx, q),
                    amount=_amount(tx, q("OrgnlTxRef/Amt/InstdAmt")),
                    mandate=_text(tx, q("OrgnlTxRef/MndtRltdInf/MndtId")),
                    collection_date=_date(tx, q("OrgnlTxRef/ReqdColltnDt"))))
                iban = _text(tx, q("OrgnlTxRef/CdtrAcct/Id/IBAN"))
                if iban:
                    found.accounts.add(iban.replace(" ", "").upper())
            element.clear()


def read(data):
    """The :class:`BankFile` of ``data`` (bytes, a path or a binary file object)."""
    version = version_of(data)
    if hasattr(data, "seek"):
        data.seek(0)
    source = _source(data)
    found = BankFile(version=version, message_id="")
    try:
        (_pain002 if version.startswith("pain") else _camt)(source, version, found)
    except etree.XMLSyntaxError as error:
        raise BankFileError(f"{version}: not valid against its ISO schema: {error}") from None
    finally:
        if source is not data:
            source.close()
    return found
