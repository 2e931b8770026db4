"""Response variants beyond the spec examples (API.md §2), and request bodies."""

from __future__ import annotations

import pytest

from repl.api.dialects import (
    CURRENT,
    DEFAULT_API_VERSION,
    LEGACY,
    LEGACY_API_VERSION,
    candidates,
    execute_body,
    files_are_legacy,
    parse_execution,
    parse_file_list,
    parse_status,
    session_api_version,
)
from repl.api.models import ExecutionStatus


def test_legacy_python_pool_names_value_result_and_ids_everywhere():
    body = {"$id": "1", "properties": {"$id": "2", "status": "Failure", "stdout": "",
                                       "stderr": "ReferenceError: x is not defined", "result": None,
                                       "executionTimeInMilliseconds": 7}}
    ex = parse_execution(body)
    assert ex.status is ExecutionStatus.FAILED and ex.raw_status == "Failure"
    assert ex.stderr.startswith("ReferenceError") and ex.value is None and ex.value_text == "null"


def test_legacy_prefers_execution_result_over_result():
    ex = parse_execution({"properties": {"status": "success", "executionResult": 42, "result": 42,
                                         "stdout": "", "stderr": ""}})
    assert ex.ok and ex.value == 42 and ex.value_text == "42"


def test_value_with_ids_is_stripped():
    ex = parse_execution({"status": "Succeeded", "result": {"$id": "3", "stdout": "",
                                                             "executionResult": [{"$id": "4", "a": 1}, 2]}})
    assert ex.value == [{"a": 1}, 2]


@pytest.mark.parametrize("raw,expected", [
    ("Succeeded", ExecutionStatus.SUCCEEDED), ("SUCCESS", ExecutionStatus.SUCCEEDED),
    ("failed", ExecutionStatus.FAILED), ("Failure", ExecutionStatus.FAILED),
    ("NotStarted", ExecutionStatus.RUNNING), ("running", ExecutionStatus.RUNNING),
    ("Canceled", ExecutionStatus.CANCELLED), ("cancelled", ExecutionStatus.CANCELLED),
    ("TimedOut", ExecutionStatus.TIMED_OUT), ("weird", None), (None, None),
])
def test_status_names(raw, expected):
    assert parse_status(raw) is expected


@pytest.mark.parametrize("envelope", ["legacy", "current"])
def test_timeout_text_maps_to_timed_out(envelope):
    stderr = "Request timed out waiting for code execution to complete"
    body = ({"properties": {"status": "Failure", "stderr": stderr, "stdout": "", "executionResult": ""}}
            if envelope == "legacy" else
            {"id": "e", "status": "Failed", "result": {"stderr": stderr, "stdout": "", "executionResult": ""}})
    ex = parse_execution(body)
    assert ex.status is ExecutionStatus.TIMED_OUT and ex.raw_status in ("Failure", "Failed")


def test_value_types_and_text():
    for value, text in [(42, "42"), (True, "true"), ("'hi'", "'hi'"), ([1, 2], "[1, 2]"),
                        ({"a": 1}, '{"a": 1}'), (1.5, "1.5")]:
        ex = parse_execution({"status": "Succeeded", "result": {"stdout": "", "executionResult": value}})
        assert ex.value == value and ex.value_text == text


def test_not_an_execution():
    with pytest.raises(ValueError):
        parse_execution({"error": {"code": "x"}})
    with pytest.raises(ValueError):
        parse_execution(["a"])  # type: ignore[arg-type]


def test_headers_give_ids():
    ex = parse_execution({"status": "Running"}, {"operation-id": "op1", "x-ms-request-id": "rq1"})
    assert ex.execution_id == "op1" and ex.request_id == "rq1" and ex.status is ExecutionStatus.RUNNING


def test_bodies():
    assert execute_body(LEGACY, "1+1", 60) == {"properties": {
        "codeInputType": "inline", "executionType": "synchronous", "code": "1+1", "timeoutInSeconds": 60}}
    assert execute_body(CURRENT, "1+1", 2.5) == {
        "codeInputType": "Inline", "executionType": "Synchronous", "code": "1+1", "timeoutInSeconds": 3}
    assert execute_body(CURRENT, "x", 5, True)["executionType"] == "Asynchronous"


def test_candidates():
    assert candidates(None) == [(CURRENT, DEFAULT_API_VERSION), (LEGACY, LEGACY_API_VERSION)]
    assert candidates("2024-02-02-preview") == [(LEGACY, "2024-02-02-preview")]
    assert candidates("2024-08-02-preview") == [(LEGACY, "2024-08-02-preview")]
    assert candidates("2024-10-02-preview") == [(CURRENT, "2024-10-02-preview"), (LEGACY, "2024-10-02-preview")]
    assert candidates("2025-02-02-preview") == [(CURRENT, "2025-02-02-preview")]
    assert files_are_legacy("2024-08-02-preview") and not files_are_legacy("2024-10-02-preview")
    assert session_api_version("2024-10-02-preview") == DEFAULT_API_VERSION
    assert session_api_version("2025-02-02-preview") == "2025-02-02-preview"


def test_legacy_file_list_shape():
    body = {"$id": "1", "value": [{"$id": "2", "properties": {"$id": "3", "filename": "data/a.csv", "size": 12,
                                                               "lastModifiedTime": "2024-05-29T02:17:25.9025612Z"}}]}
    [f] = parse_file_list(body)
    assert (f.name, f.directory, f.size, f.type) == ("a.csv", "data", 12, "file")
    assert f.last_modified is not None and f.last_modified.microsecond == 902561


def test_parse_time_fast_path_agrees_with_the_lenient_one() -> None:
    """The direct fromisoformat gives what the normalising path gives, for the
    forms services send and for random times and fractions."""
    import random
    from datetime import UTC, datetime, timedelta

    from repl.api.dialects import _parse_time_leniently, parse_time

    rng = random.Random(7)
    samples = ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.1234567Z", "2025-10-02T12:34:56.9999999+00:00",
               "2025-10-02T12:34:56+02:00", "2025-10-02T12:34:56.5", " 2025-10-02T12:34:56Z ", "2025-10-02t12:34:56z"]
    base = datetime(2020, 1, 1, tzinfo=UTC)
    for _ in range(500):
        moment = base + timedelta(seconds=rng.uniform(0, 2e8))
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 7)))
        text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{digits}" if digits else "") + rng.choice(["Z", "+00:00"])
        samples.append(text)
    for text in samples:
        assert parse_time(text) == _parse_time_leniently(text), text
    assert parse_time("not a time") is None and parse_time("") is None and parse_time(5) is None
