"""`tfgen.errors.reason`: the one-line "why" of an exception."""

from tfgen.errors import reason


def test_reason_is_the_first_line_or_the_type_name():
    assert reason(ValueError("  bad header\nmore detail\n")) == "bad header"
    assert reason(KeyError()) == "KeyError" and reason(OSError("   ")) == "OSError"
    assert reason(ValueError("x" * 500), 120) == "x" * 120
