"""docs/performance.md shows exactly the figures in bench/results/*.json (rendered by bench/report.py)."""

import json

from bench import report


def test_the_performance_table_matches_the_result_files():
    text = report.DOC.read_text()
    assert report.document_with(report.render(report.load_results()), text) == text, (
        "docs/performance.md does not match bench/results/*.json: run python bench/report.py"
    )


def test_every_result_file_says_what_was_measured_when_and_where():
    results = report.load_results()
    assert {"csv", "storage", "oai"} <= {r["benchmark"] for r in results}
    for r in results:
        assert {"benchmark", "date", "commit", "machine", "summary", "figures", "peers"} <= r.keys(), r
        assert r["machine"].startswith("machine speed:") and r["figures"], r["benchmark"]


def test_a_changed_figure_makes_the_table_stale(tmp_path):
    for path in report.RESULTS.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    changed = json.loads((tmp_path / "csv.json").read_text())
    changed["figures"]["quayside_mb_s"] = 123456.0
    (tmp_path / "csv.json").write_text(json.dumps(changed))
    text = report.DOC.read_text()
    assert report.document_with(report.render(report.load_results(tmp_path)), text) != text
