"""Benchmark of the billing run against plain Odoo's floor (run by `make bench`).

Run inside Odoo's Python with the database already holding the add-on:

    python3 tools/bench.py -c CONFIG -d DB [--sizes 1000,10000]

For each size N it
  1. creates N due weekly subscriptions (one line each) and measures the floor: the
     same N invoices made by plain Odoo, 100 per ``account.move.create([...])`` and one
     ``action_post()`` per chunk, tracking off;
  2. creates N more and times the billing run (one worker);
  3. creates N more and times two billing workers in parallel (two processes, each
     with its own connection), then counts duplicate invoices;
  4. times N more billed in scheduled calls of 2 s (the scheduler's way), then N more
     with one broken subscription sorted first, and gives the cost of that one.
It prints invoices per second, the ratio to the floor, and the cost per invoice.
"""

import argparse
import io
import socket
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

import odoo
from odoo import SUPERUSER_ID, api, fields
from odoo.fields import Command
from odoo.modules.registry import Registry
from odoo.tools import config

CHUNK = 100
QUIET = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True,
         "mail_auto_subscribe_no_notify": True}


def registry_for(args):
    config.parse_config(["-c", args.config, "-d", args.db, "--log-level=warn"], setup_logging=True)
    return Registry(args.db)


def fixtures(env):
    product = env["product.product"].search([("default_code", "=", "BENCH-BOX")], limit=1)
    if not product:
        product = env["product.product"].create({
            "name": "Bench meal box", "default_code": "BENCH-BOX", "list_price": 29.9, "type": "service"})
    plan = env["sale.recurring.plan"].search([("name", "=", "Bench weekly")], limit=1)
    if not plan:
        plan = env["sale.recurring.plan"].create({
            "name": "Bench weekly", "send_weekday": "0", "auto_send": False,
            "line_ids": [Command.create({"product_id": product.id, "price_unit": 29.9})]})
    partner = env["res.partner"].search([("name", "=", "Bench customer")], limit=1) or \
        env["res.partner"].create({"name": "Bench customer", "email": "bench@example.com"})
    return product, plan, partner


def make_subscriptions(registry, count):
    """``count`` weekly subscriptions starting this week's Monday: one period due each."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, QUIET)
        product, plan, _partner = fixtures(env)
        today = fields.Date.context_today(env["sale.order"])
        monday = today - timedelta(days=today.weekday())
        for first in range(0, count, 500):
            size = min(500, count - first)
            partners = env["res.partner"].create([
                {"name": f"Subscriber {first + i}", "email": f"subscriber{first + i}@example.com"}
                for i in range(size)])
            orders = env["sale.order"].create([{
                "partner_id": partners[i].id,
                "recurring_plan_id": plan.id,
                "recurring_start_date": monday,
                "order_line": [Command.create({"product_id": product.id, "price_unit": 29.9})],
            } for i in range(size)])
            orders.action_confirm()
            cr.commit()
            env.invalidate_all()
        cr.commit()


def floor(registry, count):
    """Plain Odoo: the same invoices, 100 per create, one post per chunk, tracking off."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, QUIET)
        product, _plan, _partner = fixtures(env)
        today = fields.Date.context_today(env["sale.order"])
        partners = env["res.partner"].create([
            {"name": f"Floor customer {i}", "email": f"floor{i}@example.com"} for i in range(count)])
        cr.commit()
        Move = env["account.move"].with_context(**QUIET)
        started = time.perf_counter()
        for first in range(0, count, CHUNK):
            moves = Move.create([{
                "move_type": "out_invoice",
                "partner_id": partners[first + i].id,
                "invoice_date": today,
                "invoice_line_ids": [Command.create({
                    "product_id": product.id, "quantity": 1, "price_unit": 29.9,
                    "name": "Bench meal box\nweek 1, 1 Jan - 7 Jan 2027"})],
            } for i in range(min(CHUNK, count - first))])
            moves.action_post()
            cr.commit()
            env.invalidate_all()
        return time.perf_counter() - started


def make_broken(registry):
    """One subscription that fails inside Odoo's invoice creation: its product's income account is
    archived (Odoo refuses it when the invoice lines are created).  Made before the N others, it
    sorts first, in the first batch of every call."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, QUIET)
        _product, plan, _partner = fixtures(env)
        account = env["account.account"].create({
            "name": "Bench old sales", "code": f"7009{int(time.time()) % 100:02d}", "account_type": "income"})
        product = env["product.product"].create({
            "name": "Bench broken box", "type": "service", "list_price": 9.9,
            "property_account_income_id": account.id})
        today = fields.Date.context_today(env["sale.order"])
        order = env["sale.order"].create({
            "partner_id": env["res.partner"].create({"name": "Bench broken subscriber"}).id,
            "recurring_plan_id": plan.id, "recurring_start_date": today - timedelta(days=today.weekday()),
            "order_line": [Command.create({"product_id": product.id, "price_unit": 9.9})]})
        order.action_confirm()
        account.active = False
        cr.commit()
        return order.id


def scheduled_calls(registry, budget):
    """The billing run as the scheduler runs it: calls of the scheduled action with Odoo's own
    progress record and a time budget of ``budget`` seconds each (Odoo gives 10), until a call
    leaves nothing due.  Returns the seconds, the calls and the invoices made."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cron = env.ref("sale_weekly_subscription.ir_cron_recurring_billing")
        before = env["account.move"].search_count([("recurring_order_id", "!=", False)])
        started, calls = time.perf_counter(), 0
        while True:
            progress = env["ir.cron.progress"].create({"cron_id": cron.id, "remaining": 0, "done": 0})
            cr.commit()
            context = {"cron_id": cron.id, "ir_cron_progress_id": progress.id,
                       "cron_end_time": time.monotonic() + budget}
            env["sale.order"].with_context(**context)._cron_recurring_billing()
            calls += 1
            cr.commit()
            if not progress.remaining or not progress.done:
                break
        seconds = time.perf_counter() - started
        made = env["account.move"].search_count([("recurring_order_id", "!=", False)]) - before
        return seconds, calls, made


def billing_run(registry):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        started = time.perf_counter()
        done = env["sale.order"]._cron_recurring_billing()
        cr.commit()
        return time.perf_counter() - started, done


class _OutsideSmtp:
    """Stands in for the mail server, the one thing outside this machine."""

    def quit(self):
        return None


def sending(registry, count, args_for_server):
    """Odoo's standard sending of ``count`` subscription invoices: PDF and e-mail, the mail
    queue flushed every 10 invoices; only the SMTP server is mocked."""
    server = report_server(args_for_server)
    try:
        return _send(registry, count)
    finally:
        server.terminate()
        server.wait(timeout=30)


def report_server(args):
    """An Odoo HTTP server on loopback, from which wkhtmltopdf fetches the report's assets."""
    port = 8071
    server = subprocess.Popen(
        [sys.executable, "-m", "odoo", "server", "-c", args.config, "-d", args.db, "--http-port", str(port),
         "--http-interface", "127.0.0.1", "--workers=0", "--max-cron-threads=0", "--log-level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    registry = Registry(args.db)
    with registry.cursor() as cr:
        api.Environment(cr, SUPERUSER_ID, {})["ir.config_parameter"].set_param(
            "report.url", f"http://127.0.0.1:{port}")
    return server


def _send(registry, count):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        moves = env["account.move"].search(
            [("recurring_order_id", "!=", False), ("state", "=", "posted")], limit=count)
        mail_server = type(env["ir.mail_server"])
        sent = []

        def send_email(_self, message, *args, **kwargs):
            sent.append(message["To"])
            return message["Message-Id"]

        with patch.object(mail_server, "_connect__", lambda *args, **kwargs: _OutsideSmtp()), \
                patch.object(mail_server, "send_email", send_email):
            moves.sending_data = {"author_user_id": env.user.id, "author_partner_id": env.user.partner_id.id}
            started = time.perf_counter()
            for first in range(0, len(moves), 10):
                # one PDF per call: Debian's wkhtmltopdf (unpatched Qt) renders one document at a time
                for move in moves[first:first + 10]:
                    env["account.move.send"]._generate_and_send_invoices(
                        move, from_cron=True, sending_methods={"email"})
                env["mail.mail"].search([("state", "=", "outgoing")]).send()
                cr.commit()
            seconds = time.perf_counter() - started
        return len(moves), seconds, len(sent)


def euro_company(registry):
    """SEPA collects euros: the bench company bills in EUR (set before any invoice exists)."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, QUIET)
        euro = env.ref("base.EUR")
        euro.active = True
        company = env.company
        if company.currency_id != euro:
            company.currency_id = euro
            env["product.pricelist"].search([]).currency_id = euro
        partner = company.partner_id
        partner.write({"city": "Bruxelles", "zip": "1000", "street": "Rue Neuve 12",
                       "country_id": env.ref("base.be").id})
        bank = env["res.partner.bank"].search([("acc_number", "=", "BE71096123456769")], limit=1) or \
            env["res.partner.bank"].create({
                "acc_number": "BE71096123456769", "partner_id": partner.id,
                "bank_id": env["res.bank"].create({"name": "Belfius", "bic": "GKCCBEBB"}).id})
        company.write({"recurring_sepa_creditor_identifier": "BE68ZZZ0123456789", "sepa_creditor_bank_id": bank.id,
                       "sepa_prenotification_days": 0})
        cr.commit()


def _sepa_invoices(env, count):
    """``count`` posted unpaid invoices not yet in a batch, each given an active mandate."""
    invoices = env["account.move"].search([
        ("move_type", "=", "out_invoice"), ("state", "=", "posted"), ("payment_state", "=", "not_paid"),
        ("sepa_line_ids", "=", False), ("sepa_mandate_id", "=", False)], limit=count)
    ibans = ["BE68539007547034", "DE89370400440532013000", "NL91ABNA0417164300"]
    existing = {m.partner_id.id: m.id for m in env["sale.recurring.mandate"].search([("state", "=", "active")])}
    missing = invoices.partner_id.filtered(lambda partner: partner.id not in existing)
    mandates = env["sale.recurring.mandate"].create([
        {"partner_id": partner.id, "iban": ibans[i % 3], "signed_on": "2026-01-05", "state": "active",
         "name": f"BENCH-MDT-{partner.id}"} for i, partner in enumerate(missing)])
    existing.update({mandate.partner_id.id: mandate.id for mandate in mandates})
    env.cr.execute("""
        UPDATE account_move SET sepa_mandate_id = t.mandate_id
          FROM unnest(%s::int[], %s::int[]) AS t(move_id, mandate_id) WHERE account_move.id = t.move_id""",
                   [invoices.ids, [existing[invoice.partner_id.id] for invoice in invoices]])
    env.cr.commit()
    env.invalidate_all()
    return invoices


def sepa_run(registry, count, collect):
    """A direct-debit run over ``count`` posted invoices with active mandates, from the selection
    to the stored validated file; then "Collected" (payments registered and reconciled) on a batch
    of ``collect`` invoices."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, QUIET)
        journal = env["account.journal"].search([("type", "=", "bank")], limit=1)
        today = env.company._recurring_today()
        Batch = env["sale.recurring.sepa.batch"]
        small = _sepa_invoices(env, collect)
        first = Batch._create_run(small, journal, Batch._collection_date(today, env.company), "CORE")
        first.action_sent()
        cr.commit()
        # the collection day has come: the company's today (the add-on's one clock) is that day
        with patch.object(type(env["res.company"]), "_recurring_today", return_value=first.collection_date):
            started = time.perf_counter()
            first.action_collected()
            env.flush_all()
            collected_seconds = time.perf_counter() - started
        cr.commit()
        paid = len(first.line_ids.filtered(lambda line: line.state == "collected"))
        _sepa_invoices(env, count)
        timings = {}
        started = time.perf_counter()
        run = env["sale.recurring.sepa.run"].create({"journal_id": journal.id, "requested_date": today})
        selected = run.line_ids.filtered("selected").invoice_id
        timings["selection"] = time.perf_counter() - started
        started = time.perf_counter()
        batch = Batch._create_run(selected, journal, run.collection_date, "CORE")
        env.flush_all()
        timings["file"] = time.perf_counter() - started
        cr.commit()
        run_seconds = timings["selection"] + timings["file"]
        return len(selected), run_seconds, timings, collected_seconds, paid, batch.transaction_count


def _camt054_returns(lines):
    """A camt.054.001.08 of the bank returning every one of ``lines`` (AM04), one booked entry each."""
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
    entries = "".join(
        f'<Ntry><Amt Ccy="EUR">{line.amount:.2f}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        f"<BookgDt><Dt>{line.batch_id.collection_date}</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd>"
        f"<SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs>"
        f"<EndToEndId>{line.end_to_end_id}</EndToEndId></Refs><Amt Ccy=\"EUR\">{line.amount:.2f}</Amt>"
        f"<RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>" for line in lines)
    account = lines.batch_id.company_id.sepa_creditor_bank_id.sanitized_acc_number
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrDbtCdtNtfctn><GrpHdr>'
            f"<MsgId>BENCH-054</MsgId><CreDtTm>2026-12-16T18:00:00</CreDtTm></GrpHdr><Ntfctn><Id>N1</Id>"
            f"<Acct><Id><IBAN>{account}</IBAN></Id></Acct>{entries}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()


def _odoo_return_floor(env, batch):
    """Odoo's own floor for booking the returns of every line of ``batch``, without the add-on: the
    payment lines unmatched from their invoices, one entry booking each back (``account.move.create``
    then ``action_post``), each matched with its reversal (``_reconcile_plan``)."""
    paid = batch.line_ids.payment_line_id.sorted("id")
    outstanding = batch._outstanding_account()
    started = time.perf_counter()
    paid.remove_move_reconcile()
    lines = [Command.create({"name": f"Return {line.name}", "partner_id": line.partner_id.id,
                             "account_id": line.account_id.id, "balance": -line.balance}) for line in paid]
    total = float(sum(Decimal(str(line.balance)) for line in paid))
    lines.append(Command.create({"name": "Returns", "account_id": outstanding.id, "balance": total}))
    move = env["account.move"].with_context(**QUIET).create({
        "move_type": "entry", "journal_id": batch.journal_id.id, "date": batch.collection_date, "line_ids": lines})
    move.action_post()
    backs = move.line_ids.filtered(lambda line: line.account_id != outstanding).sorted("id")
    env["account.move.line"]._reconcile_plan([line + back for line, back in zip(paid, backs, strict=True)])
    env.flush_all()
    return time.perf_counter() - started


def returns_import(registry):
    """The big batch of the direct-debit run sent and collected, then a camt.054 returning every one of
    its transactions imported, against a plain lxml parse of the same file and Odoo's own floor for the
    same bookings (rolled back), in the same command; then the scheduled action that tells of them."""
    from lxml import etree
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, QUIET)
        batch = env["sale.recurring.sepa.batch"].search([("state", "=", "generated")], order="id desc", limit=1)
        batch.action_sent()
        with patch.object(type(env["res.company"]), "_recurring_today", return_value=batch.collection_date):
            batch.action_collected()
        cr.commit()
        data = _camt054_returns(batch.line_ids)
        started = time.perf_counter()
        count = sum(1 for _event, _element in etree.iterparse(io.BytesIO(data), tag="{*}Ntry"))
        plain = time.perf_counter() - started
        floor_seconds = _odoo_return_floor(env, batch)
        cr.rollback()
        env.invalidate_all()
        started = time.perf_counter()
        summary = env["sale.recurring.sepa.batch"]._import_bank_file(data, "bench-camt054.xml")
        env.flush_all()
        seconds = time.perf_counter() - started
        cr.commit()
    told_seconds = telling(registry)
    return count, summary["returned"], seconds, plain, len(data), floor_seconds, summary["queued"], told_seconds


def telling(registry):
    """The scheduled action *tell of failed direct debits* as the scheduler runs it (Odoo's progress
    record, its own commits), until nothing is left: the notes and the customers' e-mails."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cron = env.ref("sale_weekly_subscription.ir_cron_sepa_failure_followup")
        started = time.perf_counter()
        progress = env["ir.cron.progress"].create({"cron_id": cron.id, "remaining": 0, "done": 0})
        cr.commit()
        env["sale.recurring.sepa.line"].with_context(
            cron_id=cron.id, ir_cron_progress_id=progress.id)._cron_failure_followup()
        cr.commit()
        return time.perf_counter() - started


def only_returns(registry, count, collect):
    """``count`` returns and nothing else: the billing run makes the invoices of the direct-debit run
    (``count`` plus the ``collect`` of its measured "Collected"), then the bank returns them all."""
    make_subscriptions(registry, count + collect)
    billing_run(registry)
    sepa_run(registry, count, collect)
    print_returns(*returns_import(registry))
    return 0


def print_returns(entries, returned, import_seconds, plain, size, floor_seconds, queued, told_seconds):
    print(f"bank file: a camt.054.001.08 of {entries} returns ({size / 2**20:.1f} MiB) imported in "
          f"{import_seconds:.1f} s = {returned / import_seconds:.0f}/s (target <= 10 s): {returned} returns booked "
          f"= {import_seconds / plain:.0f}x a plain lxml parse of the same file ({plain:.2f} s) "
          f"= {import_seconds / floor_seconds:.2f}x Odoo's own floor for the same bookings (unmatch, one entry, "
          f"match: {floor_seconds:.1f} s) | then the scheduled action told of {queued} failed collections "
          f"(notes and customer e-mails) in {told_seconds:.1f} s, in the background", flush=True)


def plain_read(env, orders):
    """The baseline of the reports: seconds to read the subscriptions' terms and lines, nothing more."""
    env.invalidate_all()
    started = time.perf_counter()
    env["sale.order"].search_read([("id", "in", orders.ids)], [
        "recurring_plan_id", "recurring_send_weekday", "recurring_start_date", "recurring_invoiced_until",
        "recurring_last_date", "currency_id", "partner_id", "user_id"])
    env["sale.order.line"].search_read([("order_id", "in", orders.ids)], ["price_subtotal", "tax_ids"])
    seconds = time.perf_counter() - started
    env.invalidate_all()
    return seconds


def forecast_run(registry, months=12):
    """The expected-revenue rebuild over every running subscription, against a baseline: a plain
    read of the same subscriptions and their lines."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        Forecast = env["sale.recurring.forecast"]
        orders = Forecast._subscriptions(env.companies)
        baseline = plain_read(env, orders)
        started = time.perf_counter()
        rows = Forecast._refresh(months)
        seconds = time.perf_counter() - started
        cr.commit()
        return len(orders), rows, seconds, baseline


def mrr_run(registry, months=24):
    """The MRR rebuild over every subscription with 24 months of history (their start dates are
    moved 24 months back for this measure only, then rolled back), against the same plain read."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        orders = env["sale.order"].search([("state", "=", "sale"), ("recurring_plan_id", "!=", False)])
        cr.execute("UPDATE sale_order SET recurring_start_date = recurring_start_date - interval '24 months' "
                   "WHERE id = ANY(%s)", [orders.ids])
        baseline = plain_read(env, orders)
        started = time.perf_counter()
        rows = env["sale.recurring.mrr"]._rebuild(months)
        env["sale.recurring.mrr.month"].search_read([], ["month", "mrr", "churn_rate", "arpu"])
        seconds = time.perf_counter() - started
        cr.rollback()
        return len(orders), rows, seconds, baseline


def duplicates(registry):
    with registry.cursor() as cr:
        cr.execute("""
            SELECT count(*) FROM (
                SELECT recurring_order_id, recurring_period_start FROM account_move
                 WHERE recurring_order_id IS NOT NULL AND state != 'cancel'
              GROUP BY 1, 2 HAVING count(*) > 1) dup
        """)
        return cr.fetchone()[0]


def two_workers(args):
    start_at = time.time() + 8  # both processes load the registry first, then start together
    cmd = [sys.executable, __file__, "-c", args.config, "-d", args.db, "--worker", str(start_at)]
    workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _i in range(2)]
    outputs = [worker.communicate()[0] for worker in workers]
    ends = [float(out.split()[0]) for out in outputs]
    counts = [int(out.split()[1]) for out in outputs]
    return max(ends) - start_at, counts


def worker(args):
    registry = registry_for(args)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["sale.order"].search([], limit=1)  # warm the registry
        time.sleep(max(0.0, args.worker - time.time()))
        done = env["sale.order"]._cron_recurring_billing()
        cr.commit()
    print(time.time(), done)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--db", required=True)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--send", type=int, default=0, help="invoices to send apart (0: none)")
    parser.add_argument("--sepa", type=int, default=10000, help="invoices in the direct-debit run (0: none)")
    parser.add_argument("--sepa-collect", type=int, default=500, help="invoices of the measured 'Collected'")
    parser.add_argument("--broken", type=float, default=2.0,
                        help="seconds per scheduled call of the broken-subscription measure (0: skip it)")
    parser.add_argument("--only", choices=["returns"],
                        help="returns: only the bank file of returns (its invoices made by the billing run)")
    parser.add_argument("--worker", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    registry = registry_for(args)
    euro_company(registry)
    print(f"Odoo {odoo.release.version}, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"database {args.db}; invoices per second (higher is better)")
    if args.only == "returns":
        return only_returns(registry, args.sepa, args.sepa_collect)
    rows = []
    for size in (int(n) for n in args.sizes.split(",") if int(n)):
        make_subscriptions(registry, size)
        floor_seconds = floor(registry, size)
        one_seconds, one_done = billing_run(registry)  # bills the N subscriptions made above
        make_subscriptions(registry, size)
        two_seconds, two_counts = two_workers(args)
        dups = duplicates(registry)
        floor_rate, one_rate, two_rate = size / floor_seconds, size / one_seconds, size / two_seconds
        rows.append((size, floor_rate, one_rate, two_rate, one_seconds / size))
        print(f"N={size:>6}: floor {floor_rate:6.1f}/s | billing run {one_rate:6.1f}/s "
              f"= {one_rate / floor_rate:5.1%} of the floor | two workers {two_rate:6.1f}/s "
              f"= {two_rate / one_rate:4.2f}x one worker (split {two_counts[0]}+{two_counts[1]}) | "
              f"duplicates {dups} | {1000 * one_seconds / size:.1f} ms per invoice "
              f"(subscriptions billed: {one_done})", flush=True)
        if args.broken:
            # the same N, scheduled calls of 2 s each: clean, then with one broken subscription first
            make_subscriptions(registry, size)
            clean_seconds, clean_calls, clean_made = scheduled_calls(registry, args.broken)
            make_broken(registry)
            make_subscriptions(registry, size)
            broken_seconds, broken_calls, broken_made = scheduled_calls(registry, args.broken)
            clean_rate, broken_rate = clean_made / clean_seconds, broken_made / broken_seconds
            print(f"N={size:>6}, one broken subscription first (its product's income account archived), scheduled "
                  f"calls of {args.broken:g} s: {broken_rate:6.1f}/s in {broken_calls} calls vs {clean_rate:6.1f}/s "
                  f"in {clean_calls} calls without it = {broken_rate / clean_rate:5.1%} "
                  f"(cost {1 - broken_rate / clean_rate:+.1%}; target <= 5 %) = {broken_rate / floor_rate:5.1%} "
                  f"of the floor | invoices {broken_made} of {size}", flush=True)
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        print(f"cost per invoice at N={large[0]} vs N={small[0]}: {large[4] / small[4]:.2f}x")
    count, forecast_rows, forecast_seconds, baseline = forecast_run(registry)
    print(f"expected revenue, 12 months: {count} subscriptions in {forecast_seconds:.2f} s "
          f"({forecast_rows} rows; target <= 3 s for 10,000) = {forecast_seconds / baseline:.1f}x a plain read "
          f"of the same subscriptions and lines ({baseline:.2f} s)")
    count, mrr_rows, mrr_seconds, baseline = mrr_run(registry)
    print(f"MRR report, 24 months of history: {count} subscriptions in {mrr_seconds:.2f} s "
          f"({mrr_rows} rows; target <= 2 s for 10,000) = {mrr_seconds / baseline:.1f}x a plain read "
          f"of the same subscriptions and lines ({baseline:.2f} s)")
    if args.sepa:
        count, run_seconds, timings, collected_seconds, paid, txs = sepa_run(
            registry, args.sepa, args.sepa_collect)
        engine_rate = subprocess.run(
            [sys.executable, str(Path(__file__).parent / "bench_sepa.py"), "--rate-only", str(count)],
            capture_output=True, text=True, check=False).stdout.strip()
        print(f"direct-debit run over {count} posted invoices: {run_seconds:.1f} s = {count / run_seconds:.0f}/s "
              f"(selection {timings['selection']:.1f} s, checks + file + XSD + records {timings['file']:.1f} s; "
              f"target <= 10 s for 10,000; the pure builder alone, same command: {engine_rate} tx/s) | "
              f"{txs} transactions")
        print(f"collected: {paid} payments registered and reconciled in {collected_seconds:.1f} s = "
              f"{paid / collected_seconds:.0f}/s (target >= 125/s) = {paid / collected_seconds / rows[-1][1]:.1f}x "
              f"the floor's invoices per second")
        print_returns(*returns_import(registry))
    if args.send:
        count, seconds, mails = sending(registry, args.send, args)
        print(f"sending (measured apart, SMTP mocked): {count} invoices with their PDF e-mailed in "
              f"{seconds:.1f} s = {count / seconds:.1f}/s, {mails} e-mails handed to the mail server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
