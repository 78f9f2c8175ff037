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
