"""The official Peppol BIS Billing 3.0 and EN 16931 Schematron rules, run on a UBL document.

The ``.sch`` files (tests/data/peppol-rules, unchanged) use XSLT 2.0.  They are compiled with the ISO
Schematron meta-stylesheets that lxml ships, run by saxonche (SaxonC-HE, an XSLT 3.0 processor from
PyPI): include, expand, then the SVRL step, through a small wrapper that lets it accept
``queryBinding="xslt2"`` and copy the rules' own ``xsl:function`` elements.  The compiled rules run on
the invoice and their SVRL report gives the failed assertions.

Saxon runs in a child process: SaxonC is a GraalVM native image, whose isolate reserves more address
space than the 2.5 GiB Odoo allows its own process (``limit_memory_hard``, RLIMIT_AS), so the child
lifts that soft limit for itself first.
"""

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import lxml.isoschematron
from lxml import etree

RULES = Path(__file__).resolve().parent / "data" / "peppol-rules"
RULE_FILES = (RULES / "CEN-EN16931-UBL.sch", RULES / "PEPPOL-EN16931-UBL.sch")
SVRL = "http://purl.oclc.org/dsdl/svrl"
SKELETON = Path(lxml.isoschematron.__file__).parent / "resources" / "xsl" / "iso-schematron-xslt1"

# imports the skeleton's SVRL step; its own template for xslt2 schemas outranks the skeleton's refusal
WRAPPER = """<?xml version="1.0"?>
<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:axsl="http://www.w3.org/1999/XSL/TransformAlias" xmlns:iso="http://purl.oclc.org/dsdl/schematron">
  <xsl:import href="{svrl}"/>
  <xsl:namespace-alias stylesheet-prefix="axsl" result-prefix="xsl"/>
  <xsl:template match="iso:schema[lower-case(@queryBinding) = ('xslt2', 'xslt3')]" priority="100">
    <axsl:stylesheet>
      <xsl:apply-templates select="iso:ns"/>
      <xsl:attribute name="version">2.0</xsl:attribute>
      <xsl:apply-templates select="." mode="stylesheetbody"/>
    </axsl:stylesheet>
  </xsl:template>
</xsl:stylesheet>
"""

def _compiled():
    """Saxon and the two rule sets compiled into XSLT."""
    from saxonche import PySaxonProcessor  # only in the child, once the limit is lifted

    processor = PySaxonProcessor(license=False)
    xslt = processor.new_xslt30_processor()
    steps = [xslt.compile_stylesheet(stylesheet_file=str(SKELETON / "iso_dsdl_include.xsl")),
             xslt.compile_stylesheet(stylesheet_file=str(SKELETON / "iso_abstract_expand.xsl")),
             xslt.compile_stylesheet(stylesheet_text=WRAPPER.format(
                 svrl=(SKELETON / "iso_svrl_for_xslt1.xsl").as_uri()))]
    for name, value in (("allow-foreign", "true"), ("generate-fired-rule", "false")):
        steps[-1].set_parameter(name, processor.make_string_value(value))
    rules = []
    for path in RULE_FILES:
        node, text = processor.parse_xml(xml_file_name=str(path)), None
        for step in steps:
            if text is not None:
                node = processor.parse_xml(xml_text=text)
            text = step.transform_to_string(xdm_node=node)
        rules.append(xslt.compile_stylesheet(stylesheet_text=text))
    return processor, rules


def _run(paths):
    """In the child: the failed assertions of each file, as JSON lists."""
    processor, rules = _compiled()
    results = []
    for path in paths:
        failed = []
        for rule_set in rules:
            node = processor.parse_xml(xml_file_name=path)
            rule_set.set_global_context_item(xdm_item=node)
            report = etree.fromstring(rule_set.transform_to_string(xdm_node=node).encode("utf-8"))
            for element in report.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
                text = " ".join((element.findtext(f"{{{SVRL}}}text") or "").split())
                failed.append((element.get("id") or "", element.get("flag") or "", text))
        results.append(failed)
    return results


def failed_asserts(xml):
    """``[(rule id, flag, text)]`` for every assertion of both rule sets that ``xml`` (bytes) fails."""
    with tempfile.NamedTemporaryFile(suffix=".xml") as document:
        document.write(xml)
        document.flush()
        done = subprocess.run([sys.executable, __file__, document.name], capture_output=True, text=True,
                              check=False, timeout=300)
    if done.returncode:
        raise RuntimeError(f"the Schematron run failed: {done.stderr[-2000:]}")
    return [tuple(rule) for rule in json.loads(done.stdout)[0]]


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    sys.stdout.write(json.dumps(_run(sys.argv[1:])))
