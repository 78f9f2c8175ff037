# Run by `make demo` inside `odoo shell`: bills the demo weeks, then prints the plans, each
# subscription's next invoice dates, the invoices per send day and any billing errors.
# the demo's Belgian company, as its administrator works in it
env = env(context=dict(env.context, allowed_company_ids=[  # noqa: F821
    env.ref("sale_weekly_subscription.company_be_demo").id]))  # noqa: F821
Order = env["sale.order"]


def label(record, field):
    return dict(record._fields[field]._description_selection(record.env)).get(record[field], "")


Order._cron_recurring_billing()  # commits batch by batch
orders = Order.search([("recurring_plan_id", "!=", False)], order="recurring_state, name")
print("\n" + "=" * 100)
print(f"{len(orders.recurring_plan_id)} plans, {len(orders)} subscriptions")
print("=" * 100)
for plan in orders.recurring_plan_id:
    print(f"Plan  {plan.name:34} {plan.period_label:14} {label(plan, 'billing_timing'):11} "
          f"{label(plan, 'duration_type')}")
print("-" * 100)
for order in orders:
    upcoming = order._recurring_preview_vals(3) if order.recurring_state not in ("closed", "cancel") else []
    dates = ", ".join(str(p["invoice_date"]) for p in upcoming if not p["is_skipped"]) or "-"
    day = label(order, "recurring_send_weekday") if order.recurring_billing_unit == "week" else ""
    print(f"{order.name:8} {order.partner_id.name[:20]:20} {label(order, 'recurring_state'):11} "
          f"{order.recurring_plan_id.name[:30]:30} {day:9} {order.recurring_invoice_count:3} invoices, "
          f"next: {dates}")
print("-" * 100)
invoices = orders.recurring_invoice_ids
days = {}
for invoice in invoices:
    count, total = days.get(invoice.invoice_date.strftime("%A"), (0, 0.0))
    days[invoice.invoice_date.strftime("%A")] = (count + 1, total + invoice.amount_untaxed)
print("Billing run over the demo weeks: invoices per send day (untaxed)")
for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
    if day in days:
        print(f"  {day:10} {days[day][0]:4} invoices {days[day][1]:12.2f}")
print(f"  {'Total':10} {len(invoices):4} invoices {sum(invoices.mapped('amount_untaxed')):12.2f} "
      f"({len(invoices.filtered(lambda i: i.state == 'posted'))} posted)")
for order in orders.filtered("recurring_billing_error"):
    print(f"  Billing error on {order.name}: {order.recurring_billing_error}")
print("=" * 100 + "\n")

# SEPA direct debit: one run over the demo invoices, its file written under out/
import base64  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from odoo.addons.sale_weekly_subscription.engine import sepa  # noqa: E402

today = env["sale.order"]._recurring_today()
journal = env["account.journal"].search([("type", "=", "bank"), ("company_id", "=", env.company.id)], limit=1)
run = env["sale.recurring.sepa.run"].create({
    "journal_id": journal.id, "requested_date": today + timedelta(days=env.company.sepa_prenotification_days)})
batch = env["sale.recurring.sepa.batch"].browse(run.action_create()["res_id"])
data = base64.b64decode(batch.xml_file)
out = Path(os.environ.get("SWSUB_OUT", "out"))
out.mkdir(parents=True, exist_ok=True)
path = out / batch.xml_filename
path.write_bytes(data)
sepa.validate(data, batch.version)
env.cr.commit()
print("SEPA direct-debit run")
print(f"  file            {path.resolve()}")
print(f"  transactions    {batch.transaction_count}")
print(f"  control sum     {batch.control_sum:.2f} EUR, collection on {batch.collection_date}")
print(f"  valid against {batch.version}")
print("=" * 100 + "\n")

# The bank answers: a pain.002.001.10 rejecting one transaction before settlement, then a camt.054.001.08
# booking the collection (batch booking) and returning two transactions (AM04 with 2.50 of charges, MD06)
batch.action_sent()
lines = batch.line_ids.sorted("end_to_end_id")
rejected, returned = lines[:1], lines[1:3]
pmt_inf = next(block for block, block_lines in batch._block_lines().items() if rejected & block_lines)
status = (
    '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">'
    f"<CstmrPmtStsRpt><GrpHdr><MsgId>DEMO-STS-1</MsgId><CreDtTm>{today}T16:00:00</CreDtTm></GrpHdr>"
    f"<OrgnlGrpInfAndSts><OrgnlMsgId>{batch.name}</OrgnlMsgId><OrgnlMsgNmId>{batch.version}</OrgnlMsgNmId>"
    f"<GrpSts>PART</GrpSts></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>{pmt_inf}</OrgnlPmtInfId>"
    + "".join(f"<TxInfAndSts><OrgnlEndToEndId>{line.end_to_end_id}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
              f"<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts>" for line in rejected)
    + "</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>").encode()
booked = batch.collection_date
# batch booking: one credit entry per payment block, for its transactions not rejected
credits = [(block, sepa.exact_sum((block_lines - rejected).mapped("amount")))
           for block, block_lines in batch._block_lines().items() if block_lines - rejected]


def entry(amount, credit, details, code):
    return (f'<Ntry><Amt Ccy="EUR">{amount:.2f}</Amt><CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd>'
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{booked}</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly>"
            f"<Cd>IDDT</Cd><SubFmlyCd>{code}</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls>{details}</NtryDtls></Ntry>")


charges = {returned[0]: 2.5}
notification = (
    '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
    f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>DEMO-054-1</MsgId><CreDtTm>{booked}T18:00:00</CreDtTm></GrpHdr>"
    f"<Ntfctn><Id>DEMO-NTF-1</Id><Acct><Id><IBAN>{env.company.sepa_creditor_bank_id.acc_number.replace(' ', '')}"
    f"</IBAN></Id></Acct>"
    + "".join(entry(amount, True, f"<Btch><PmtInfId>{block}</PmtInfId></Btch>", "ESDD") for block, amount in credits)
    + "".join(entry(sepa.exact_sum([line.amount, charges.get(line, 0)]), False, (
        f"<TxDtls><Refs><EndToEndId>{line.end_to_end_id}</EndToEndId><MndtId>{line.mandate_id.name}</MndtId></Refs>"
        f'<Amt Ccy="EUR">{line.amount:.2f}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        + (f'<Chrgs><Rcrd><Amt Ccy="EUR">{charges[line]:.2f}</Amt><CdtDbtInd>DBIT</CdtDbtInd></Rcrd></Chrgs>'
           if line in charges else "")
        + f"<RtrInf><Rsn><Cd>{code}</Cd></Rsn></RtrInf></TxDtls>"), "UPDD")
        for line, code in zip(returned, ("AM04", "MD06"), strict=False))
    + "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()
if not env.company.sepa_charges_account_id:
    env.company.sepa_charges_account_id = env["account.account"].search([
        ("account_type", "=", "expense"), ("company_ids", "in", env.company.id)], limit=1)
for name, data in (("pain002_demo.xml", status), ("camt054_demo.xml", notification)):
    (out / name).write_bytes(data)
importer = env["sale.recurring.sepa.import"].create({"attachment_ids": [
    (0, 0, {"name": name, "datas": base64.b64encode((out / name).read_bytes())})
    for name in ("pain002_demo.xml", "camt054_demo.xml")]})
importer.action_import()
env.cr.commit()
print("The bank's answer, imported")
print(f"  files           {(out / 'pain002_demo.xml').resolve()}, {(out / 'camt054_demo.xml').resolve()}")
print(f"  collected       {len(lines.filtered(lambda line: line.state == 'collected'))} transactions, "
      f"{sepa.exact_sum(lines.filtered(lambda line: line.state == 'collected').mapped('amount'))} EUR")
for line in lines.filtered(lambda line: line.state != "collected"):
    print(f"  {line.end_to_end_id:28} {line.invoice_id.name:16} {line.amount:8.2f}  {label(line, 'state'):9} "
          f"{line.return_reason_id.display_name or ''}")
print(f"  batch           {label(batch, 'state')}, booked on {batch.booking_date}, "
      f"entry {batch.collection_move_id.name}")
# the import's own result screen, as the accountant reads it
for item in re.findall(r"<li>(.*?)</li>", str(importer.result_html or ""), flags=re.S):
    print("  result          " + re.sub(r"<[^>]+>", " ", item).strip())
print(f"  (result screen: /odoo/sale.recurring.sepa.import/{importer.id})")
print("=" * 100 + "\n")

# Reporting: expected revenue for the coming months, and MRR
Forecast = env["sale.recurring.forecast"]
Forecast._refresh(months=6)
print("Expected revenue (untaxed, company currency), next 6 months")
for group in Forecast._read_group([], ["month:month"], ["amount:sum", "invoice_count:sum"]):
    print(f"  {group[0]!s:16} {group[2]:4} invoices {group[1]:12.2f}")
env["sale.recurring.mrr"]._rebuild(months=6)
print("MRR per month (paused subscriptions drop out, but are no churn)")
for month in env["sale.recurring.mrr.month"].search([], order="month"):
    print(f"  {month.month}  MRR {month.mrr:10.2f}  ARR {month.arr:11.2f}  active {month.active_count:3}  "
          f"paused {month.paused_count:2}  new {month.new_count:2}  closed {month.closed_count:2}  "
          f"churn {month.churn_rate:5.1f}%")
env.cr.commit()
print("=" * 100 + "\n")
