"""Classifying a delivery's inventory with a profile: globs matched in bulk, a preview, then a commit.

One compiled regular expression holds every rule as a named alternative, in rule order; a path's first
matching alternative (``match.lastgroup``) is its rule. The inventory is read as (pk, path, size) tuples in
chunks, so hundreds of thousands of rows cost one pass in Python and a few dozen bulk UPDATEs — never a
query per file.

Glob syntax (written here because Python 3.11's ``fnmatch`` lets ``*`` cross folders and has no ``**``; a
few lines, tested): ``*`` any characters within one folder name, ``**`` any number of folders (``a/**/b``
also matches ``a/b``), ``?`` one character, ``[abc]``/``[!abc]`` a set; a pattern ending in ``/`` matches
everything below that folder. Patterns are anchored at the delivery root and compared case-sensitively.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from apps.deliveries.models import Delivery, InventoryFile

from .models import Rule

CHUNK = 10_000
SAMPLES = 5
UNMATCHED_LISTED = 200


def glob_to_regex(pattern: str) -> str:
    """The regular expression (unanchored text) for one glob; see the module docstring."""
    pattern = pattern.strip().lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (close := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : close]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^/" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = close + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def check_pattern(pattern: str) -> str:
    """The pattern, cleaned, or ValueError saying what is wrong with it."""
    cleaned = pattern.strip()
    if not cleaned:
        raise ValueError("A rule needs a directory pattern, e.g. 'multibeam/EM122/'.")
    if ".." in cleaned.split("/"):
        raise ValueError(f"'{cleaned}': a pattern cannot leave the delivery ('..').")
    try:
        re.compile(glob_to_regex(cleaned))
    except re.error as exc:
        raise ValueError(f"'{cleaned}' is not a valid pattern: {exc}.") from exc
    return cleaned


def compile_rules(rules: list[Rule]) -> re.Pattern | None:
    if not rules:
        return None
    return re.compile("|".join(f"(?P<r{i}>{glob_to_regex(r.pattern)})" for i, r in enumerate(rules)))


def fingerprint(rules: list[Rule]) -> str:
    """What the preview showed: a commit with another fingerprint was previewed with other rules."""
    text = json.dumps([[r.instrument_class, r.vendor, r.model, r.pattern] for r in rules])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Group:
    instrument_class: str
    vendor: str
    model: str
    patterns: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    samples: list[str] = field(default_factory=list)
    pks: list[int] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.instrument_class, self.vendor, self.model)


@dataclass
class Classification:
    fingerprint: str
    groups: list[Group]
    unmatched_files: int = 0
    unmatched_bytes: int = 0
    unmatched: list[str] = field(default_factory=list)  # the first UNMATCHED_LISTED paths
    unmatched_folders: list[tuple[str, int]] = field(default_factory=list)  # their folders, most first
    total_files: int = 0


def classify(delivery: Delivery, rules: list[Rule], *, keep_pks: bool = False) -> Classification:
    """Match every inventory path of ``delivery`` against ``rules`` (first match wins). One dataset group
    per instrument system (class, vendor, model); ``keep_pks`` keeps the matched rows for a commit."""
    regex = compile_rules(rules)
    groups: dict[tuple[str, str, str], Group] = {}
    by_rule: list[Group] = []
    for rule in rules:
        group = groups.setdefault(rule.system_key, Group(*rule.system_key))
        group.patterns.append(rule.pattern)
        by_rule.append(group)
    result = Classification(fingerprint(rules), list(groups.values()))
    folders: Counter[str] = Counter()
    rows = InventoryFile.objects.filter(delivery=delivery).order_by("pk").values_list("pk", "path", "size")
    for pk, path, size in rows.iterator(chunk_size=CHUNK):
        result.total_files += 1
        match = regex.fullmatch(path) if regex is not None else None
        if match is None:
            result.unmatched_files += 1
            result.unmatched_bytes += size
            if len(result.unmatched) < UNMATCHED_LISTED:
                result.unmatched.append(path)
            folders[path.rsplit("/", 1)[0] if "/" in path else "(top level)"] += 1
            continue
        group = by_rule[int(match.lastgroup[1:])]
        group.files += 1
        group.bytes += size
        if len(group.samples) < SAMPLES:
            group.samples.append(path)
        if keep_pks:
            group.pks.append(pk)
    result.unmatched.sort()
    result.unmatched_folders = folders.most_common(20)
    return result


def write_classes(delivery: Delivery, groups: list[Group]) -> None:
    """Set ``instrument_class`` on every row of ``delivery`` to its group's class ('' for no group), writing
    only the rows whose class changes, in chunks of ids (a few bulk UPDATEs per class; a re-commit of the
    same rules writes nothing). Call inside the commit's transaction."""
    wanted = {pk: group.instrument_class for group in groups for pk in group.pks}
    current = dict(
        InventoryFile.objects.filter(delivery=delivery)
        .exclude(instrument_class="")
        .values_list("pk", "instrument_class")
        .iterator(chunk_size=CHUNK)
    )
    changes: dict[str, list[int]] = defaultdict(list)
    changes[""] = [pk for pk in current if pk not in wanted]
    for pk, instrument_class in wanted.items():
        if current.get(pk) != instrument_class:
            changes[instrument_class].append(pk)
    for instrument_class, pks in changes.items():
        for i in range(0, len(pks), CHUNK):
            InventoryFile.objects.filter(pk__in=pks[i : i + CHUNK]).update(instrument_class=instrument_class)
