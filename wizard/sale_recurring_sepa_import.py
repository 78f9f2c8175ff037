import base64
import io
import zipfile

from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import UserError


class SaleRecurringSepaImport(models.TransientModel):
    """Import what the bank sent back: pain.002 status reports, camt.054 notifications, camt.053
    statements; several files, or a zip of them, at once."""

    _name = "sale.recurring.sepa.import"
    _description = "Import Bank Files"

    attachment_ids = fields.Many2many(
        "ir.attachment", string="Files", required=True,
        help="pain.002.001.03/.10, camt.054.001.02/.08 or camt.053.001.02/.08 files, or zips of them.")
    result_html = fields.Html(string="Result", readonly=True, sanitize=False)
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft")

    def _files(self):
        for attachment in self.attachment_ids:
            raw = base64.b64decode(attachment.datas or b"")
            if zipfile.is_zipfile(io.BytesIO(raw)):
                with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                    for name in sorted(archive.namelist()):
                        if not name.endswith("/"):
                            yield f"{attachment.name}/{name}", archive.read(name)
            else:
                yield attachment.name, raw

    def action_import(self):
        """Apply every file in one transaction: any error books nothing of any file."""
        self.ensure_one()
        if not self.env.user.has_group("account.group_account_invoice"):
            raise UserError(self.env._("Only invoicing users can import bank files."))
        # all files or nothing, also when called from code that goes on after an error
        with self.env.cr.savepoint():
            summaries = [self.env["sale.recurring.sepa.batch"]._import_bank_file(raw, name)
                         for name, raw in self._files()]
        rows = []
        for summary in summaries:
            name = summary["file"]
            nothing_new = not (summary["rejected"] or summary["returned"] or summary["collected"])
            text = self.env._(
                "%(file)s (%(version)s): %(rejected)s rejected, %(returned)s returned, %(collected)s batch(es) "
                "collected, %(known)s already known", file=name, version=summary["version"],
                rejected=summary["rejected"], returned=summary["returned"], collected=summary["collected"],
                known=summary["known"])
            if nothing_new and summary["known"]:
                text += self.env._(" (imported before: nothing new booked)")
            if summary["rejected"] or summary["returned"]:
                text += self.env._(
                    ". Then: %(represented)s invoice(s) to re-present, %(held)s held, %(revoked)s mandate(s) "
                    "revoked, %(suspended)s subscription(s) suspended, %(closed)s closed",
                    represented=summary["represented"], held=summary["held"], revoked=summary["revoked"],
                    suspended=summary["suspended"], closed=summary["closed"])
                if summary["queued"]:
                    text += self.env._(
                        ". The notes and the customers' e-mails of these %(count)s failed collections are being "
                        "written in the background (scheduled action 'tell of failed direct debits')",
                        count=summary["queued"])
            unknown = Markup("").join(Markup("<li>%s</li>") % item for item in summary["unknown"])
            if unknown:
                text = Markup("%s<br/>%s<ul>%s</ul>") % (text, self.env._("Not found in any batch:"), unknown)
            rows.append(Markup("<li>%s</li>") % text)
        self.write({"state": "done", "result_html": Markup("<ul>%s</ul>") % Markup("").join(rows)})
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form",
                "target": "new", "name": self.env._("Import Bank Files")}
