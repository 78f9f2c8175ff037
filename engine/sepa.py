"""SEPA direct-debit initiation (pain.008): checks, cleaning and the XML.

Pure Python: this module never imports ``odoo``.  ``write`` reads the
transactions once (a list or any iterable, a generator included), checks and
cleans each, and raises one :class:`SepaError` listing every problem before it
touches the target, so a refused run produces nothing.  Each checked
transaction is serialised at once (one small function per block) into a spool
of its ``PmtInf`` block (in memory while small, then a temporary file); the
document is then assembled from the headers and the spools.  The file is
validated against the official ISO schema shipped in ``data/xsd`` while it is
parsed, element by element.  Memory stays bounded however many transactions
there are: what is kept per transaction is its end-to-end id (to refuse a
duplicate).
"""

import io
import os
import re
import shutil
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from lxml import etree
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import at_02

V08, V02 = "pain.008.001.08", "pain.008.001.02"
VERSIONS = (V08, V02)
# the selections of the add-on's fields, defined once (the field labels are translated by Odoo)
VERSION_SELECTION = [(V08, "pain.008.001.08"), (V02, "pain.008.001.02")]
SCHEME_SELECTION = [("CORE", "CORE (consumers)"), ("B2B", "B2B (businesses)")]
XSD_DIR = Path(__file__).resolve().parent.parent / "data" / "xsd"
CORE, B2B = "CORE", "B2B"
SEQUENCE_TYPES = ("FRST", "RCUR", "OOFF", "FNAL")
MAX_AMOUNT = Decimal("999999999.99")
NAME_MAX, REMITTANCE_MAX, ID_MAX = 70, 140, 35
SPOOL_IN_MEMORY = 4 * 2**20  # bytes of a block's transactions kept in memory before a temporary file

# The SEPA (EPC) Latin character set: a-z A-Z 0-9 / - ? : ( ) . , ' + and space.
LATIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
IDENTIFIER = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")
SPECIAL = {
    "ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS",
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i",
    "&": "+", "_": " ", "\u00a0": " ", "\t": " ", "\n": " ", "\r": " ",
    "\u2018": "'", "\u2019": "'", "`": "'", "\u00b4": "'", '"': "'", "\u201c": "'", "\u201d": "'",
    "\u2013": "-", "\u2014": "-", ";": ",", "!": ".", "[": "(", "]": ")", "{": "(", "}": ")",
    "*": ".", "#": " ", "%": " ", "=": "-", "<": "(", ">": ")", "@": "(at)", "\\": "/", "|": "/",
    "€": "EUR", "$": "USD", "£": "GBP",
}
CYRILLIC = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяєіїґ",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
     "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "ye", "i", "yi", "g"],
    strict=True))
GREEK = dict(zip(
    "αβγδεζηθικλμνξοπρσςτυφχψω",
    ["a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x", "o", "p", "r", "s", "s",
     "t", "y", "f", "ch", "ps", "o"],
    strict=True))


class SepaError(ValueError):
    """One or more problems; each is a :class:`Problem` naming the record and the field."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class Problem:
    """``code`` says what is wrong with ``field`` of ``record`` (its value: ``value``)."""

    code: str
    record: str
    field: str
    value: str = ""
    detail: str = ""

    def __str__(self):
        # a developer's view: the words users read, translated, live in the add-on
        # (sale.recurring.sepa.batch._problem_text), one text per code
        text = f"{self.record}: '{self.field}' [{self.code}]"
        if self.value:
            text += f" ({self.value})"
        return f"{text}; {self.detail}" if self.detail else text


# -- cleaning --------------------------------------------------------------------

def latin(text):
    """``text`` in the SEPA Latin set: accents dropped, umlauts spelt out, Cyrillic and Greek
    transliterated, anything else a space; spaces collapsed."""
    out = []
    for char in text or "":
        if unicodedata.category(char) == "Cf":
            continue  # zero-width spaces and joiners, bidi marks: nothing to print, not a word break
        if char in LATIN:
            out.append(char)
            continue
        lower = char.lower()
        base = unicodedata.normalize("NFKD", lower)[:1]  # 'ώ' is read as 'ω'
        mapped = SPECIAL.get(char)
        for table in (CYRILLIC, GREEK):
            if mapped is None:
                mapped = table.get(lower, table.get(base))
        if mapped is not None and char != lower and mapped:
            mapped = mapped[0].upper() + mapped[1:]
        if mapped is None:
            mapped = "".join(c for c in unicodedata.normalize("NFKD", char) if c in LATIN) or " "
        out.append(mapped)
    return " ".join("".join(out).split())


def cut(text, size):
    """``text`` within ``size`` characters, cut at the last space when there is one."""
    if len(text) <= size:
        return text
    head = text[:size + 1]
    space = head.rfind(" ")
    return (head[:space] if space > size // 2 else text[:size]).rstrip(" ,.-/")


def clean_text(text, size, record, field_name, problems, required=True):
    cleaned = cut(latin(text), size)
    if required and not cleaned:
        problems.append(Problem("not_latin" if (text or "").strip() else "empty", record, field_name, text or ""))
    return cleaned


def check_identifier(value, record, field_name, problems):
    value = (value or "").strip()
    if not value:
        problems.append(Problem("empty", record, field_name))
    elif len(value) > ID_MAX:
        problems.append(Problem("too_long", record, field_name, value))
    elif not IDENTIFIER.match(value) or value.startswith("/") or value.endswith("/") or "//" in value:
        problems.append(Problem("bad_chars", record, field_name, value))
    return value


def normalise_iban(value):
    """``value`` without spaces, in capitals; raises ValueError when it is no valid IBAN."""
    compact = re.sub(r"\s+", "", value or "").upper()
    try:
        return str(IBAN(compact).compact)
    except SchwiftyException as error:
        raise ValueError(str(error)) from None


# Members of the European Economic Area (the EU's 27, Iceland, Liechtenstein, Norway), with the EU
# regions that have an ISO code of their own (Åland, the French overseas departments, Saint-Martin).
# The SEPA zone itself is the SWIFT IBAN registry's "SEPA country" flag, as schwifty carries it.
EEA = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK "
    "IS LI NO AX GF GP MQ RE YT MF".split())


def in_sepa_zone(iban):
    """Whether the country of ``iban`` (a valid IBAN) takes part in the SEPA schemes."""
    try:
        return IBAN(iban).in_sepa_zone
    except SchwiftyException:
        return False


def address_required(iban):
    """Whether a debtor banking in the country of ``iban`` must be sent with an address: the rulebook
    asks one (at least town and country) when the debtor's bank is in a SEPA country outside the EEA
    (Switzerland, the United Kingdom, Monaco, San Marino, Andorra, the Vatican, the Channel Islands...)."""
    country = re.sub(r"\s+", "", iban or "")[:2].upper()
    return in_sepa_zone(iban) and country not in EEA


def bic_of_iban(iban):
    """The BIC schwifty knows for ``iban``, or None."""
    try:
        bic = IBAN(iban).bic
    except SchwiftyException:
        return None
    return str(bic) if bic else None


def bank_name_of_iban(iban):
    """The name of the bank schwifty knows for ``iban``, or None."""
    try:
        return IBAN(iban).bank_name or None
    except SchwiftyException:
        return None


def check_iban(value, record, field_name, problems):
    try:
        iban = normalise_iban(value)
    except ValueError as error:
        problems.append(Problem("iban", record, field_name, value or "", str(error)))
        return value
    if not in_sepa_zone(iban):
        problems.append(Problem("not_sepa", record, field_name, iban[:2]))
    return iban


def check_bic(value, record, field_name, problems):
    if not value:
        return None
    compact = value.replace(" ", "").upper()
    try:
        BIC(compact)
    except SchwiftyException as error:
        problems.append(Problem("bic", record, field_name, value, str(error)))
    return compact


def creditor_id_problem(value):
    """None when ``value`` is a valid creditor identifier, else what is wrong, naming the
    check digits it should have."""
    compact = at_02.compact(value or "")
    if len(compact) < 8 or not compact[:2].isalpha():
        return "expected a country code, 2 check digits, a business code and a national identifier"
    try:
        at_02.validate(compact)
    except Exception:
        try:
            expected = at_02.calc_check_digits(compact)
        except Exception:
            return "it cannot be read"
        return f"the check digits should be {expected}, not {compact[2:4]}"
    return None


def expected_check_digits(value):
    """The check digits a creditor identifier should have, or None when it cannot be read."""
    compact = at_02.compact(value or "")
    try:
        return at_02.calc_check_digits(compact)
    except Exception:
        return None


def exact_sum(amounts, rounding="0.01"):
    """The sum of ``amounts`` (floats of the ORM, Decimals, strings), each taken to the cent first:
    exact, whatever the float representation (10.10 + 20.20 is 30.30, not 30.299999999999997)."""
    step = Decimal(str(rounding))
    return sum((Decimal(str(amount)).quantize(step, rounding=ROUND_HALF_UP) for amount in amounts), Decimal(0))


def check_amount(value, currency, record, problems):
    if currency != "EUR":
        problems.append(Problem("currency", record, "Currency", currency or ""))
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        problems.append(Problem("amount", record, "Amount", str(value)))
        return Decimal(0)
    too_precise = amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01"))
    if amount <= 0 or amount > MAX_AMOUNT or too_precise:
        problems.append(Problem("amount", record, "Amount", str(value)))
    return amount.quantize(Decimal("0.01"))


# -- the data --------------------------------------------------------------------

@dataclass(frozen=True)
class Party:
    name: str
    iban: str
    bic: str = None
    country: str = None
    town: str = None
    zip: str = None
    street: str = None
    building: str = None
    hybrid: bool = False


@dataclass(frozen=True)
class Creditor(Party):
    identifier: str = ""


@dataclass(frozen=True)
class Mandate:
    reference: str
    signed_on: date
    scheme: str = CORE
    original_iban: str = None  # the debtor's account before an amendment
    original_bank_changed: bool = False  # the debtor moved to another bank: SMNDA


@dataclass(frozen=True)
class Transaction:
    """One collection.  ``record`` names it in problems (an invoice number and partner)."""

    record: str
    end_to_end_id: str
    amount: Decimal
    mandate: Mandate
    debtor: Party
    remittance: str
    collection_date: date
    sequence_type: str = "RCUR"
    currency: str = "EUR"


@dataclass
class Batch:
    message_id: str
    created: datetime
    creditor: Creditor
    transactions: list
    scheme: str = CORE
    version: str = V08
    batch_booking: bool = True


# -- checks ----------------------------------------------------------------------

def check_creditor(creditor, problems, record="Creditor"):
    name = clean_text(creditor.name, NAME_MAX, record, "Name", problems)
    iban = check_iban(creditor.iban, record, "Creditor Account", problems)
    bic = check_bic(creditor.bic, record, "BIC", problems)
    problem = creditor_id_problem(creditor.identifier)
    if problem:
        problems.append(Problem("creditor_id", record, "Creditor Identifier", creditor.identifier or "", problem))
    if not (creditor.town and creditor.country):
        problems.append(Problem("address", record, "Address"))
    return Creditor(
        name=name, iban=iban, bic=bic, country=(creditor.country or "").upper(),
        town=cut(latin(creditor.town), 35), zip=cut(latin(creditor.zip), 16) or None,
        street=cut(latin(creditor.street), 70) or None, building=cut(latin(creditor.building), 16) or None,
        hybrid=creditor.hybrid, identifier=at_02.compact(creditor.identifier or ""))


def check_transaction(tx, batch, problems):
    record = tx.record
    check_identifier(tx.end_to_end_id, record, "End-to-End Id", problems)
    amount = check_amount(tx.amount, tx.currency, record, problems)
    mandate = tx.mandate
    check_identifier(mandate.reference, record, "Mandate Reference", problems)
    if not mandate.signed_on or mandate.signed_on > batch.created.date():
        problems.append(Problem("mandate_future" if mandate.signed_on else "empty", record,
                                "Mandate Signature Date", str(mandate.signed_on or "")))
    if mandate.scheme != batch.scheme:
        problems.append(Problem("scheme", record, "Mandate Scheme", f"{mandate.scheme} / {batch.scheme}"))
    if not isinstance(tx.collection_date, date):
        problems.append(Problem("empty", record, "Collection Date", str(tx.collection_date or "")))
    if tx.sequence_type not in SEQUENCE_TYPES:
        problems.append(Problem("sequence", record, "Sequence Type", tx.sequence_type))
    debtor = tx.debtor
    name = clean_text(debtor.name, NAME_MAX, record, "Debtor Name", problems)
    iban = check_iban(debtor.iban, record, "Debtor Account", problems)
    bic = check_bic(debtor.bic, record, "Debtor BIC", problems)
    original = check_iban(mandate.original_iban, record, "Original Debtor Account", problems) \
        if mandate.original_iban else None
    if address_required(iban) and not (debtor.town and debtor.country):
        problems.append(Problem("debtor_address", record, "Debtor Address", iban[:2]))
    return Transaction(
        record=record, end_to_end_id=tx.end_to_end_id.strip(), amount=amount,
        mandate=Mandate(mandate.reference.strip(), mandate.signed_on, mandate.scheme, original,
                        mandate.original_bank_changed),
        debtor=Party(name=name, iban=iban, bic=bic, country=(debtor.country or "").upper() or None,
                     town=cut(latin(debtor.town), 35) or None, zip=cut(latin(debtor.zip), 16) or None,
                     street=cut(latin(debtor.street), 70) or None),
        remittance=cut(latin(tx.remittance), REMITTANCE_MAX),
        collection_date=tx.collection_date, sequence_type=tx.sequence_type, currency=tx.currency)


def check_header(batch, problems):
    """The batch's message id and creditor, checked and cleaned (its transactions untouched)."""
    if batch.version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, not {batch.version!r}")
    check_identifier(batch.message_id, "Batch", "Message Id", problems)
    creditor = check_creditor(batch.creditor, problems)
    return replace(batch, message_id=(batch.message_id or "").strip(), creditor=creditor)


def checked_transactions(batch, problems):
    """Each transaction of ``batch`` checked and cleaned, read once, in the order given;
    a repeated end-to-end id is a problem."""
    seen = set()
    for tx in batch.transactions:
        if tx.end_to_end_id in seen:
            problems.append(Problem("duplicate", tx.record, "End-to-End Id", tx.end_to_end_id))
        seen.add(tx.end_to_end_id)
        yield check_transaction(tx, batch, problems)


# -- the XML, one block per function ---------------------------------------------

def _sub(parent, tag, text=None, **attrib):
    element = etree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _amount(value):
    return f"{value:.2f}"


def postal_address(parent, party):
    """Structured (or hybrid: street in an address line) postal address; never unstructured only."""
    if not (party.town and party.country):
        return
    address = _sub(parent, "PstlAdr")
    if party.street and not party.hybrid:
        _sub(address, "StrtNm", party.street)
        if party.building:
            _sub(address, "BldgNb", party.building)
    if party.zip:
        _sub(address, "PstCd", party.zip)
    _sub(address, "TwnNm", party.town)
    _sub(address, "Ctry", party.country)
    if party.street and party.hybrid:
        _sub(address, "AdrLine", cut(" ".join(filter(None, (party.street, party.building))), 70))


def party(parent, tag, person, with_address=True):
    element = _sub(parent, tag)
    _sub(element, "Nm", person.name)
    if with_address:
        postal_address(element, person)
    return element


def account(parent, tag, iban):
    _sub(_sub(_sub(parent, tag), "Id"), "IBAN", iban)


def agent(parent, tag, bic, version):
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if bic:
        _sub(institution, "BICFI" if version == V08 else "BIC", bic)
    else:
        _sub(_sub(institution, "Othr"), "Id", "NOTPROVIDED")


def creditor_scheme_id(parent, identifier):
    other = _sub(_sub(_sub(_sub(parent, "CdtrSchmeId"), "Id"), "PrvtId"), "Othr")
    _sub(other, "Id", identifier)
    _sub(_sub(other, "SchmeNm"), "Prtry", "SEPA")


def group_header(batch, count, total):
    header = etree.Element("GrpHdr")
    _sub(header, "MsgId", batch.message_id)
    _sub(header, "CreDtTm", batch.created.replace(microsecond=0).isoformat())
    _sub(header, "NbOfTxs", str(count))
    _sub(header, "CtrlSum", _amount(total))
    _sub(_sub(header, "InitgPty"), "Nm", batch.creditor.name)
    return header


def payment_type(parent, scheme, sequence_type):
    info = _sub(parent, "PmtTpInf")
    _sub(_sub(info, "SvcLvl"), "Cd", "SEPA")
    _sub(_sub(info, "LclInstrm"), "Cd", scheme)
    _sub(info, "SeqTp", sequence_type)


def mandate_info(parent, mandate):
    info = _sub(_sub(parent, "DrctDbtTx"), "MndtRltdInf")
    _sub(info, "MndtId", mandate.reference)
    _sub(info, "DtOfSgntr", mandate.signed_on.isoformat())
    if mandate.original_iban or mandate.original_bank_changed:
        _sub(info, "AmdmntInd", "true")
        original = _sub(_sub(info, "AmdmntInfDtls"), "OrgnlDbtrAcct")
        if mandate.original_bank_changed:
            _sub(_sub(_sub(original, "Id"), "Othr"), "Id", "SMNDA")
        else:
            _sub(_sub(original, "Id"), "IBAN", mandate.original_iban)


def transaction(tx, version):
    element = etree.Element("DrctDbtTxInf")
    _sub(_sub(element, "PmtId"), "EndToEndId", tx.end_to_end_id)
    _sub(element, "InstdAmt", _amount(tx.amount), Ccy=tx.currency)
    mandate_info(element, tx.mandate)
    agent(element, "DbtrAgt", tx.debtor.bic, version)
    party(element, "Dbtr", tx.debtor)
    account(element, "DbtrAcct", tx.debtor.iban)
    if tx.remittance:
        _sub(_sub(element, "RmtInf"), "Ustrd", tx.remittance)
    return element


def payment_info_header(batch, index, key, count, total):
    """The ``PmtInf`` block without its transactions (written after it from the block's spool)."""
    scheme, sequence_type, day = key
    block = etree.Element("PmtInf")
    _sub(block, "PmtInfId", f"{batch.message_id[:30]}-{index:04d}")
    _sub(block, "PmtMtd", "DD")
    _sub(block, "BtchBookg", "true" if batch.batch_booking else "false")
    _sub(block, "NbOfTxs", str(count))
    _sub(block, "CtrlSum", _amount(total))
    payment_type(block, scheme, sequence_type)
    _sub(block, "ReqdColltnDt", day.isoformat())
    party(block, "Cdtr", batch.creditor)
    account(block, "CdtrAcct", batch.creditor.iban)
    agent(block, "CdtrAgt", batch.creditor.bic, batch.version)
    _sub(block, "ChrgBr", "SLEV")
    creditor_scheme_id(block, batch.creditor.identifier)
    return block


def group_key(tx):
    return tx.mandate.scheme, tx.sequence_type, tx.collection_date


class Block:
    """The transactions of one ``PmtInf`` block, serialised as they come, and their totals."""

    def __init__(self):
        self.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self.count = 0
        self.total = Decimal(0)

    def add(self, tx, version):
        self.spool.write(etree.tostring(transaction(tx, version)))
        self.count += 1
        self.total += tx.amount


@contextmanager
def _output(target):
    """A binary file to write into.  For a path, a ``.part`` file beside it, renamed to the path
    only once complete: a half-written file never carries the final name."""
    if not isinstance(target, (str, os.PathLike)):
        yield target
        return
    partial = f"{os.fspath(target)}.part"
    try:
        with open(partial, "wb") as out:
            yield out
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def write(batch, target):
    """Check ``batch`` and write its pain.008 to ``target`` (a path or a binary file).

    ``target`` is opened only once every transaction has passed its checks.
    Blocks are ordered by scheme, sequence type and collection date; the
    transactions of a block keep the order they were given in.  Returns the
    summary: message id, number of transactions, control sum and the ``PmtInf``
    blocks (scheme, sequence type, collection date, count, sum).
    """
    problems = []
    header = check_header(batch, problems)
    blocks = {}
    read = 0
    try:
        for tx in checked_transactions(batch, problems):
            read += 1
            if problems:
                continue  # still checked, for the full list of problems; no more XML
            key = group_key(tx)
            block = blocks.get(key)
            if block is None:
                block = blocks[key] = Block()
            block.add(tx, header.version)
        if not read:
            problems.append(Problem("empty", "Batch", "Transactions"))
        if problems:
            raise SepaError(problems)
        keys = sorted(blocks)
        count = sum(block.count for block in blocks.values())
        total = sum((block.total for block in blocks.values()), Decimal(0))
        namespace = f"urn:iso:std:iso:20022:tech:xsd:{header.version}"
        with _output(target) as out:
            out.write(b"<?xml version='1.0' encoding='UTF-8'?>\n")
            out.write(f'<Document xmlns="{namespace}"><CstmrDrctDbtInitn>'.encode())
            out.write(etree.tostring(group_header(header, count, total)))
            for index, key in enumerate(keys, start=1):
                block = blocks[key]
                out.write(b"<PmtInf>")
                for child in payment_info_header(header, index, key, block.count, block.total):
                    out.write(etree.tostring(child))
                block.spool.seek(0)
                shutil.copyfileobj(block.spool, out)
                out.write(b"</PmtInf>")
            out.write(b"</CstmrDrctDbtInitn></Document>")
    finally:
        for block in blocks.values():
            block.spool.close()
    return {"message_id": header.message_id, "count": count, "control_sum": total,
            "blocks": [(*key, blocks[key].count, blocks[key].total) for key in keys],
            "version": header.version}


def build(batch):
    """The validated pain.008 of ``batch`` as bytes, and its summary."""
    buffer = io.BytesIO()
    summary = write(batch, buffer)
    data = buffer.getvalue()
    validate(data, batch.version)
    return data, summary


@cache
def schema(version):
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{version}.xsd")))


def validate(source, version=V08):
    """Validate a pain.008 (bytes or a path) against the official schema while parsing it,
    clearing each transaction once read; raises ValueError with the schema's message."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    namespace = f"urn:iso:std:iso:20022:tech:xsd:{version}"
    try:
        for _event, element in etree.iterparse(stream, events=("end",), schema=schema(version),
                                               tag=f"{{{namespace}}}DrctDbtTxInf"):
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as error:
        raise ValueError(f"not valid against {version}: {error}") from None
    return True
