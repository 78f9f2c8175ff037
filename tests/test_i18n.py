import ast
import re
from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

I18N = Path(__file__).resolve().parent.parent / "i18n"
PLACEHOLDER = re.compile(r"%\(\w+\)s|%s")


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    """Every translatable string is in the .pot, and French, Dutch and German translate all of it."""

    def test_pot_is_up_to_date(self):
        exported = {source for module, _type, _name, _id, source, _value, _comments
                    in TranslationModuleReader(self.env.cr, modules=["sale_weekly_subscription"])
                    if module == "sale_weekly_subscription" and source}
        template = {entry.msgid for entry in polib.pofile(str(I18N / "sale_weekly_subscription.pot"))}
        self.assertFalse(exported - template, "strings missing from the .pot: run `make pot`")

    def test_french_dutch_german_are_complete(self):
        template = polib.pofile(str(I18N / "sale_weekly_subscription.pot"))
        for lang in ("fr", "nl", "de"):
            translations = {entry.msgid: entry for entry in polib.pofile(str(I18N / f"{lang}.po"))}
            for entry in template:
                translated = translations.get(entry.msgid)
                self.assertTrue(translated and translated.msgstr and not translated.fuzzy,
                                f"{lang}.po lacks {entry.msgid!r}")
                self.assertEqual(sorted(PLACEHOLDER.findall(entry.msgid)),
                                 sorted(PLACEHOLDER.findall(translated.msgstr)),
                                 f"{lang}.po changes the placeholders of {entry.msgid!r}")


# -- strings shown to users but not marked for translation ----------------------------------------

ADDON = Path(__file__).resolve().parent.parent
SHOWN_BY = {"UserError", "ValidationError", "AccessError", "MissingError", "RedirectWarning", "AccessDenied"}
POSTED_BY = {"message_post", "message_notify", "_message_log", "activity_schedule"}
SHOWN_KEYS = {"title", "message", "body", "summary", "note"}


def _is_text(node):
    """A literal with words in it (an f-string counts): something a user would read."""
    if isinstance(node, ast.JoinedStr):  # its literal parts: f"{error}" shows no text of ours
        return any(_is_text(part) for part in node.values if isinstance(part, ast.Constant))
    return isinstance(node, ast.Constant) and isinstance(node.value, str) \
        and bool(re.search(r"[A-Za-z]{2}", node.value))


def untranslated(source, filename="<source>"):
    """(line, what) for each literal text that reaches a user without ``_()``/``env._()``:
    the message of an error, a chatter post or activity, a notification, an action's name."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            shown = []
            if name in SHOWN_BY:
                shown = node.args[:1]
            elif name in POSTED_BY:  # activity_schedule's first argument is the activity type's xmlid
                shown = (node.args[:1] if name != "activity_schedule" else []) + \
                    [k.value for k in node.keywords if k.arg in SHOWN_KEYS]
            found += [(arg.lineno, f"{name}(...)") for arg in shown if _is_text(arg)]
        elif isinstance(node, ast.Dict):
            items = {k.value: v for k, v in zip(node.keys, node.values, strict=True)
                     if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            action = isinstance(items.get("type"), ast.Constant) and str(items["type"].value).startswith("ir.actions")
            keys = SHOWN_KEYS | ({"name", "help"} if action else set())
            found += [(value.lineno, f"'{key}': ...") for key, value in items.items()
                      if key in keys and _is_text(value)]
    return found


@tagged("post_install", "-at_install")
class TestNothingUntranslated(TransactionCase):
    """No text a user reads is left out of the .pot (views, data and QWeb are exported by Odoo
    itself; Python needs ``_()``)."""

    def test_the_checker_sees_untranslated_text(self):
        sample = (
            "raise UserError('Oops, no mandate')\n"
            "raise UserError(self.env._('Fine'))\n"
            "order.message_post(body=f'Paused for {weeks} weeks')\n"
            "action = {'type': 'ir.actions.act_window', 'name': 'Pauses', 'res_model': 'x'}\n"
            "params = {'title': _('Done'), 'message': 'Billed'}\n"
            "values = {'name': 'SWS-DD-0001'}\n"
            "raise UserError(f'{error}')\n"
        )
        self.assertEqual([line for line, _what in untranslated(sample)], [1, 3, 4, 5])

    def test_python_has_no_untranslated_text_for_users(self):
        found = []
        for path in sorted(ADDON.glob("**/*.py")):
            relative = path.relative_to(ADDON)
            # .devenv holds the tooling's copies of other add-ons (OCA's, the previous release)
            if relative.parts[0] in ("tests", "tools", "engine", "migrations", ".devenv") \
                    or relative.name == "__manifest__.py":
                continue
            found += [f"{relative}:{line}: {what}" for line, what in untranslated(path.read_text(), str(path))]
        self.assertFalse(found, "text shown to users without _():\n" + "\n".join(found))
