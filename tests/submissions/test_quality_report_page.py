"""The readable quality report (issue 11 §4): errors first and marked, every row named as "line N (data
row M)", the first ten bad values of a column listed — and the XML report keeps PASTA's layout."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from lxml import etree

from apps.packages import quality
from apps.packages.eml.build import Table
from apps.submissions import services
from tests.packages.helpers import OBS_COLUMNS, eml_for, two_tables

pytestmark = pytest.mark.django_db

BAD_ROWS = [3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610]  # twelve, in data rows


def _observations_with_bad_values(path):
    with open(path, "w", newline="") as out:
        out.write("station,time,temperature,salinity,count\n")
        for i in range(1, 701):
            temp = f"warm{i}" if i in BAD_ROWS else "4.5"
            out.write(f"S1,2024-03-01T00:00:00,{temp},33.1,{i % 50}\n")
    return path


@pytest.fixture
def failed_submission(vetted_user, data_server, allow_loopback):
    stations, _ = two_tables(data_server.root, data_server.url)
    path = _observations_with_bad_values(data_server.root / "bad.csv")
    bad = Table(
        "bad", "Observations with words", OBS_COLUMNS, url=f"{data_server.url}/bad.csv"
    ).describe_file(path)
    # The clean table first, so "errors first" has something to overtake.
    sub = services.run_all(services.submit(vetted_user, eml_for("edi.301.1", [stations, bad]), start=False))
    assert sub.state == "failed"
    return sub


def test_row_label_names_the_line_and_the_data_row():
    assert quality.row_label(2, 1) == "line 3 (data row 2)"
    assert quality.row_label(9_999, 1) == "line 10,000 (data row 9,999)"


def test_report_lists_the_first_ten_bad_values_as_lines_and_data_rows(client, failed_submission, vetted_user):
    client.force_login(vetted_user)
    html = client.get(reverse("submissions:report", kwargs={"transaction": failed_submission.transaction}))
    html = html.content.decode()
    listed = re.findall(r"<li>(line [\d,]+ \(data row [\d,]+\): &#x27;warm\d+&#x27;)</li>", html)
    assert listed == [f"line {r + 1} (data row {r}): &#x27;warm{r}&#x27;" for r in BAD_ROWS[:10]]
    assert "12 bad values; the first 10:" in html
    assert "warm610" not in html  # the eleventh and twelfth are counted, not listed
    assert "First bad value at line 4 (data row 3)" in html


def test_errors_come_first_and_are_marked(client, failed_submission, vetted_user):
    client.force_login(vetted_user)
    html = client.get(
        reverse("submissions:report", kwargs={"transaction": failed_submission.transaction})
    ).content.decode()
    assert re.search(r"\d+ errors? \(archiving stops", html)
    tables = re.findall(r"<h2>(.*?)</h2>\s*<div class=\"table-wrap\"><table.*?</table>", html, re.S)
    entity_titles = tables[1:]
    # The entity with errors is listed before the clean one, although it was declared second.
    assert entity_titles[0] == "Observations with words"
    for block in re.findall(r"<tbody>(.*?)</tbody>", html, re.S):
        statuses = re.findall(r"<strong>(\w+)</strong>", block)
        ranks = [quality.STATUS_ORDER[s] for s in statuses]
        assert ranks == sorted(ranks, reverse=True), statuses
    assert re.search(r'<tr class="cat-error">\s*<td class="status-error"><strong>error', html)


def test_xml_report_keeps_pastas_quality_check_layout(failed_submission):
    root = etree.fromstring(failed_submission.report_xml.encode())
    for check in root.iter("qualityCheck"):
        assert [child.tag for child in check] == [
            "identifier",
            "name",
            "expected",
            "found",
            "status",
            "explanation",
        ]
    found = [c.findtext("found") for c in root.iter("qualityCheck") if c.findtext("identifier") == "dataType"]
    bad = next(f for f in found if "bad value" in f)
    assert bad.splitlines()[1] == "line 4 (data row 3): 'warm3'"
