"""Expected failures keep their message; anything else is an internal error with its traceback."""

from __future__ import annotations

from mirror.errors import NotFound
from mirror.failure import describe


def test_our_errors_speak_for_themselves() -> None:
    failure = describe(NotFound("manifest unknown: foo:1"))
    assert (failure.reason, failure.internal, failure.traceback) == ("manifest unknown: foo:1", False, "")


def test_a_programming_error_is_internal_with_its_traceback() -> None:
    def buggy() -> None:
        {}["missing"]  # noqa: B018

    try:
        buggy()
    except KeyError as exc:
        failure = describe(exc)
        assert exc.__traceback__ is None  # the frames are not kept alive by the result
    assert failure.internal
    assert failure.reason == "internal error: KeyError: 'missing'"
    assert "in buggy" in failure.traceback and failure.traceback.rstrip().endswith("KeyError: 'missing'")


def test_an_empty_message_still_names_the_type() -> None:
    assert describe(AssertionError()).reason == "internal error: AssertionError"
