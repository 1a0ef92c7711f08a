"""The one rule for user-supplied relative paths (portal.paths), which uploads and the delivery inventory
share: the stricter of the two rules each app had before."""

import pytest

from portal.errors import UserError
from portal.paths import bad_part, check_relative_path, collision_key


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "an empty path"),
        ("/etc/passwd", "an absolute path"),
        ("C:/x", "an absolute path"),
        ("../escape.txt", "'..', '.' or an empty segment"),
        ("a/../../b", "'..', '.' or an empty segment"),
        ("a//b", "an empty segment"),
        ("a/./b", "'..', '.' or an empty segment"),
        ("a/", "an empty segment"),
        ("a\\b", "a backslash"),
        ("a\x00b", "a control character"),
        ("bad\nname", "a control character"),
        ("del\x7f", "a control character"),
        ("c1\x85", "a control character"),
        ("not\udcffutf8", "not valid UTF-8"),
        ("x" * 256, "a name longer than 255 bytes"),
        ("é" * 128, "a name longer than 255 bytes"),
        ("/".join(["x" * 200] * 6), "a path longer than 1024 characters"),
    ],
)
def test_an_unsafe_path_is_refused_with_its_reason(path, reason):
    with pytest.raises(UserError) as refused:
        check_relative_path(path)
    assert reason in refused.value.message.split(": ", 1)[-1]


def test_a_safe_path_comes_back_in_nfc():
    assert check_relative_path("run 1/cafe\u0301.csv") == "run 1/caf\u00e9.csv"
    assert check_relative_path("x" * 255) == "x" * 255
    assert bad_part("README.txt") is None


def test_names_that_differ_by_case_or_unicode_form_collide():
    assert collision_key("README.txt") == collision_key("readme.TXT")
    assert collision_key("caf\u00e9") == collision_key("CAFE\u0301")
    assert collision_key("a.txt") != collision_key("b.txt")
