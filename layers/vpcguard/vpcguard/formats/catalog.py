"""`vpcguard checks`: the check catalog as a table, or as rows for `--format json`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..checks.base import Check
from .text import MIN_DETAIL_WIDTH, NO_WRAP, SEVERITY_WIDTH, terminal_width, wrap_words


def _fix_label(check: Check) -> str:
    return {"fix": "yes", "notify": "opt-in"}.get(check.meta.fix_default or "", "no")


def catalog_rows(checks: Iterable[Check]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.meta.id,
            "title": c.meta.title,
            "severity": c.meta.severity.value,
            "fixable": c.meta.fixable,
            "fix": _fix_label(c),
            "default_mode": c.meta.fix_default or "notify",
            "section": c.meta.section,
        }
        for c in checks
    ]


def render_catalog(checks: Iterable[Check], width: int | None = None) -> str:
    """`vpcguard checks`: id, severity, fixable, default mode, title."""
    width = terminal_width() if width is None else width
    rows = catalog_rows(checks)
    id_width = max([len("CHECK"), *(len(r["id"]) for r in rows)])
    header = f"{'CHECK'.ljust(id_width)} {'SEVERITY'.ljust(SEVERITY_WIDTH)} {'FIX'.ljust(6)} {'MODE'.ljust(6)} TITLE"
    title_width = (
        NO_WRAP if width == NO_WRAP else max(MIN_DETAIL_WIDTH, width - (id_width + SEVERITY_WIDTH + 16))
    )
    indent = " " * (id_width + SEVERITY_WIDTH + 6 + 6 + 4)
    lines = [header]
    for r in rows:
        title = wrap_words(r["title"], title_width)
        lines.append(
            f"{r['id'].ljust(id_width)} {r['severity'].ljust(SEVERITY_WIDTH)} {r['fix'].ljust(6)} "
            f"{r['default_mode'].ljust(6)} {title[0]}"
        )
        lines.extend(indent + more for more in title[1:])
    return "\n".join(lines) + "\n"
