"""Bulk loading of the report tables (expected revenue, MRR) with PostgreSQL's COPY."""

import io

NULL = "\\N"


def tsv_line(values):
    """One COPY line: tab-separated, None as NULL."""
    return "\t".join(NULL if value is None else str(value) for value in values) + "\n"


def copy_lines(cr, table, columns, lines):
    """Load ``lines`` (made by ``tsv_line``) into ``table``: far faster than INSERTs for 100,000s of rows."""
    cr._obj.copy_from(io.StringIO("".join(lines)), table, columns=columns)
