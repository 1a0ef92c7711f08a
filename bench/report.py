#!/usr/bin/env python
"""Render the benchmark table of docs/performance.md from bench/results/*.json.

``python bench/report.py`` rewrites the part of docs/performance.md between the two markers;
``python bench/report.py --check`` exits 1 when that part does not match the result files
(tests/portal/test_performance_doc.py asks the same). The figures live only in the JSON files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench/report.py: everything from here to the end marker is generated -->"
END = "<!-- bench/report.py: end -->"


def _value(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def load_results(folder: Path = RESULTS) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def render(results: list[dict]) -> str:
    """The generated block: one summary table, then each benchmark's figures and its peers' figures."""
    lines = [BEGIN, "", "| benchmark | result | date | commit |", "|---|---|---|---|"]
    for r in results:
        lines.append(f"| `{r['benchmark']}` | {r['summary']} | {r['date'][:10]} | `{r['commit']}` |")
    for r in results:
        lines += ["", f"### `{r['benchmark']}`", "", r["machine"][:1].upper() + r["machine"][1:] + "."]
        if r.get("source"):
            lines += ["", f"Source: {r['source']}"]
        lines += ["", "| figure | value |", "|---|---|"]
        lines += [f"| {name} | {_value(value)} |" for name, value in sorted(r["figures"].items())]
        if r.get("peers"):
            lines += ["", "| peer figure | value |", "|---|---|"]
            lines += [f"| {name} | {_value(value)} |" for name, value in sorted(r["peers"].items())]
    lines += ["", END]
    return "\n".join(lines)


def document_with(block: str, text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    return head + block + rest.split(END, 1)[1]


def main(argv: list[str]) -> int:
    text = DOC.read_text()
    updated = document_with(render(load_results()), text)
    if "--check" in argv:
        if updated != text:
            print("docs/performance.md does not match bench/results/*.json: run python bench/report.py")
            return 1
        return 0
    DOC.write_text(updated)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
