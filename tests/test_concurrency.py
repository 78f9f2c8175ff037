"""Exactly once with real concurrency: two database connections billing at the same
moment, and a billing process killed in the middle of its run.

These tests work on committed data in the database's main company, through their own
cursors (the test transaction cannot be shared between connections), and retire what
they made at the end.
"""

import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import TransactionCase, tagged
from odoo.tools import config


@tagged("post_install", "-at_install")
class TestConcurrentBilling(TransactionCase):

    def _committed_subscriptions(self, count, weeks_ago):
        """``count`` weekly subscriptions started ``weeks_ago`` weeks before this week's Monday."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
            today = fields.Date.context_today(env["sale.order"])
            monday = today - timedelta(days=today.weekday())
            product = env["product.product"].create({"name": "Concurrency box", "list_price": 12.5, "taxes_id": []})
            plan = env["sale.recurring.plan"].create({
                "name": "Concurrency weekly", "send_weekday": "0", "auto_send": False,
                "line_ids": [Command.create({"product_id": product.id, "price_unit": 12.5})]})
            partner = env["res.partner"].create({"name": "Concurrency customer"})
            orders = env["sale.order"].create([{
                "partner_id": partner.id,
                "recurring_plan_id": plan.id,
                "recurring_start_date": monday - timedelta(weeks=weeks_ago),
                "order_line": [Command.create({"product_id": product.id, "price_unit": 12.5})],
            } for _i in range(count)])
            orders.action_confirm()
            return orders.ids, weeks_ago + 1  # committed when the cursor closes

    def _retire(self, order_ids):
        with self.registry.cursor() as cr:
            cr.execute("UPDATE sale_order SET recurring_state = 'cancel' WHERE id IN %s", [tuple(order_ids)])

    def _periods_billed(self, order_ids):
        """{order id: [period starts]} of the invoices made, read from a fresh connection."""
        with self.registry.cursor() as cr:
            cr.execute("""
                SELECT recurring_order_id, recurring_period_start FROM account_move
                 WHERE recurring_order_id IN %s ORDER BY recurring_order_id, recurring_period_start
            """, [tuple(order_ids)])
            billed = {order_id: [] for order_id in order_ids}
            for order_id, start in cr.fetchall():
                billed[order_id].append(start)
            return billed

    def _bill(self, batch_size=5):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["sale.order"]._cron_recurring_billing(batch_size=batch_size)

    def assertExactlyOnce(self, billed, periods_due):
        for order_id, starts in billed.items():
            self.assertEqual(len(starts), len(set(starts)), f"duplicate invoice for order {order_id}")
            self.assertEqual(len(starts), periods_due, f"missing period for order {order_id}")
            self.assertEqual([b - a for a, b in itertools.pairwise(starts)],
                             [timedelta(weeks=1)] * (periods_due - 1), f"gap for order {order_id}")

    def _billing_process(self, batch_size, start_at=None):
        """A separate Odoo process running the billing run on its own connection."""
        script = ""
        if start_at:
            script += f"import time; time.sleep(max(0, {start_at} - time.time()))\n"
        script += f"env['sale.order']._cron_recurring_billing(batch_size={batch_size})\n"
        args = [sys.executable, "-m", "odoo", "shell", "--no-http", "-d", self.env.cr.dbname]
        if config["config"] and os.path.exists(config["config"]):
            args += ["-c", config["config"]]
        log = tempfile.TemporaryFile("w+")
        self.addCleanup(log.close)
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        process.log = log
        process.stdin.write(script)
        process.stdin.close()
        return process

    def test_two_workers_bill_every_period_exactly_once(self):
        order_ids, periods_due = self._committed_subscriptions(40, weeks_ago=2)
        start_at = time.time() + 10  # both load Odoo first, then bill at the same moment
        workers = [self._billing_process(batch_size=5, start_at=start_at) for _i in range(2)]
        try:
            for worker in workers:
                if worker.wait(timeout=300):
                    worker.log.seek(0)
                    self.fail("a billing worker failed:\n" + worker.log.read()[-3000:])
            self.assertExactlyOnce(self._periods_billed(order_ids), periods_due)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
            self._retire(order_ids)

    def test_killed_run_then_rerun_leaves_no_duplicate_and_no_gap(self):
        order_ids, periods_due = self._committed_subscriptions(40, weeks_ago=1)
        process = self._billing_process(batch_size=2)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                done = sum(len(starts) for starts in self._periods_billed(order_ids).values())
                if done >= 4:
                    break
                time.sleep(0.05)
            self.assertGreaterEqual(done, 4, "the billing process made no invoice")
            os.killpg(process.pid, signal.SIGKILL)  # in the middle of a batch, most likely
            process.wait(timeout=30)
            partial = sum(len(starts) for starts in self._periods_billed(order_ids).values())
            self.assertLess(partial, len(order_ids) * periods_due, "the run ended before it was killed")
            self._bill()
            self.assertExactlyOnce(self._periods_billed(order_ids), periods_due)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            self._retire(order_ids)


@tagged("post_install", "-at_install")
class TestConcurrentDirectDebitRuns(TransactionCase):
    """Two direct-debit runs at once: the second cannot take the mandates the first is using."""

    def test_a_mandate_in_use_by_another_run_is_refused(self):
        with self.registry.cursor() as cr:  # committed, so that another connection can lock it
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
            partner = env["res.partner"].create({"name": "Concurrent debtor"})
            mandate = env["sale.recurring.mandate"].create({
                "partner_id": partner.id, "iban": "BE68539007547034", "signed_on": "2026-01-05"})
            mandate.action_validate()
            partner_id, mandate_id = partner.id, mandate.id
        try:
            self._run_while_another_holds(partner_id, mandate_id)
        finally:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["sale.recurring.mandate"].browse(mandate_id).unlink()
                env["res.partner"].browse(partner_id).unlink()

    def _run_while_another_holds(self, partner_id, mandate_id):
        # this test's own rows go in a savepoint rolled back before the clean-up: the invoice's
        # reference to the mandate holds a key-share lock the clean-up would wait for
        savepoint = self.env.cr.savepoint()
        try:
            company = self.env.ref("base.main_company")
            journal = self.env["account.journal"].search([("type", "=", "bank"), ("company_id", "=", company.id)],
                                                         limit=1)
            invoice = self.env["account.move"].with_company(company).create({
                "move_type": "out_invoice", "partner_id": partner_id, "sepa_mandate_id": mandate_id,
                "invoice_line_ids": [Command.create({"name": "Box", "quantity": 1, "price_unit": 10.0})]})
            self.env.flush_all()
            with self.registry.cursor() as other_run:
                # what a run in progress holds (lock_for_update with allow_referencing)
                other_run.execute("SELECT id FROM sale_recurring_mandate WHERE id = %s FOR NO KEY UPDATE",
                                  [mandate_id])
                with self.assertRaisesRegex(UserError, "Another direct-debit run is using the mandates"):
                    self.env["sale.recurring.sepa.batch"]._create_run(invoice, journal, fields.Date.today(), "CORE")
                other_run.rollback()
            self.assertFalse(self.env["sale.recurring.sepa.line"].search([("mandate_id", "=", mandate_id)]))
            # once the other run is over, the mandate can be taken
            self.env["sale.recurring.mandate"].browse(mandate_id).lock_for_update(allow_referencing=True)
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all()
