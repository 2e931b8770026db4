"""Every example response in shared/azure-spec parses into the right model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repl.api.dialects import (
    parse_arm_pool,
    parse_execution,
    parse_file_list,
    parse_metadata,
    parse_session,
    parse_session_list,
    parse_upload,
)
from repl.api.models import Execution, ExecutionStatus, FileInfo, PoolMetadata, PoolStatus, SessionInfo

SPEC = Path(__file__).parents[2].parent / "shared" / "azure-spec"
EXAMPLES = sorted(SPEC.glob("**/examples/*.json"))
TUTORIAL = Path(__file__).parents[2].parent / "shared" / "tutorial-nodejs.md"

pytestmark = pytest.mark.skipif(not SPEC.is_dir(), reason="shared/azure-spec is not beside the checkout")


def _responses(path: Path):
    data = json.loads(path.read_text("utf-8"))
    for code, resp in data["responses"].items():
        yield data, int(code), resp.get("headers", {}), resp.get("body")


def _case_id(p: Path) -> str:
    return f"{p.parent.parent.name}/{p.stem}"


def test_all_examples_found():
    # 22 + 10 + 5 data-plane examples and 1 ARM example (see SOURCES.md).
    assert len(EXAMPLES) == 38


@pytest.mark.parametrize("path", EXAMPLES, ids=_case_id)
def test_example_parses(path: Path):
    name = path.stem
    checked = 0
    for _data, code, headers, body in _responses(path):
        hdrs = {k.lower(): v for k, v in headers.items()}
        if name.startswith(("CodeExecution_",)):
            ex = parse_execution(body, hdrs)
            assert isinstance(ex, Execution)
            raw = (body.get("status") or body.get("result", {}).get("status"))
            assert ex.raw_status == raw
            if raw == "Running":
                assert ex.status is ExecutionStatus.RUNNING
                assert ex.stdout == "" and ex.value_text == ""
            else:
                assert ex.status is ExecutionStatus.SUCCEEDED
                if name.endswith("_NaN"):
                    assert ex.value == "nan" and ex.value_text == "nan"
                elif name.endswith("_None"):
                    assert ex.value is None and ex.value_text == "null" and ex.has_value
                else:
                    assert ex.stdout == "63/n"
                    assert ex.value == "" and not ex.has_value
                    assert ex.server_ms == 4.0
            expected_id = (body.get("id") if body.get("id") not in (None,) else None) or body.get("executionId")
            assert ex.execution_id == expected_id
        elif name == "ListSessions_Get":
            sessions, nxt = parse_session_list(body)
            assert [s.identifier for s in sessions] == ["testid1"] and nxt is None
            assert sessions[0].expire_at == datetime(2025, 1, 5, 22, 18, 41, 752000, tzinfo=UTC)
        elif name == "SessionManagement_Get":
            s = parse_session(body)
            assert isinstance(s, SessionInfo)
            assert s.identifier == "testid1" and s.etag == "9334cb07-aafd-45a0-90bd-448080a91f57"
            assert s.created_at == datetime(2025, 1, 21, 3, 38, 5, 232000, tzinfo=UTC)
            assert s.last_accessed_at is not None and s.expire_at is not None
        elif name == "SessionPoolMetadata_Get":
            md = parse_metadata(body)
            assert isinstance(md, PoolMetadata)
            assert md.runtimes[0].name == "node" and md.runtimes[0].version == "20.2.4"
            assert md.packages[0].name == "axios" and md.packages[0].version == "1.21.2"
            assert md.kernel_name == body["jupyterKernel"]["name"] and md.kernel_version == "5.2.1"
        elif name in ("SessionResourceFiles_DeleteFile", "SessionResourceFiles_Delete",
                      "SessionManagement_Delete"):
            assert code == 204 and body is None
        elif name == "SessionResourceFiles_GetFileContent":
            assert body == "testfilecontent"  # raw bytes, not parsed
        elif name in ("SessionResourceFiles_Get", "SessionResourceFiles_GetFileMetadata",
                      "SessionResourceFiles_Upload", "SessionResourceFiles_UploadFile"):
            f = parse_upload(body)
            assert f == FileInfo(name="testfile.yaml", type="file", size=4, content_type="application/yaml",
                                 last_modified=datetime(2024, 5, 29, 2, 17, 25, 902000, tzinfo=UTC))
        elif name in ("SessionResourceFiles_List", "SessionResourceFiles_ListFilesMetadata",
                      "SessionResourceFiles_List_Recursive"):
            files = parse_file_list(body)
            assert len(files) == len(body["value"])
            for f, raw in zip(files, body["value"], strict=False):
                assert f.name == raw["name"]
                assert f.is_dir == (raw["type"].lower() == "directory")
                assert f.size == raw.get("sizeInBytes")
                assert f.directory == raw.get("directory", "")
                assert f.last_modified is not None
        elif name == "SessionPools_Get":
            st = parse_arm_pool(body, "https://ep")
            assert isinstance(st, PoolStatus)
            assert (st.name, st.container_type, st.provisioning_state) == (
                "testsessionpool", "CustomContainer", "Succeeded")
            assert (st.max_sessions, st.ready_sessions, st.node_count) == (500, 100, 1)
            assert st.egress == "EgressEnabled" and st.cooldown_seconds == 600
        else:
            pytest.fail(f"no check for example {name}")
        checked += 1
    assert checked >= 1


def test_recursive_listing_paths():
    body = json.loads((SPEC / "data-plane/preview/2025-10-02-preview/examples/SessionResourceFiles_List_Recursive.json")
                      .read_text())["responses"]["200"]["body"]
    files = parse_file_list(body)
    assert [f.path for f in files] == ["directory-level1", "level1/directory-level2", "level1/level2/testfile.yaml",
                                       "level1/level2/capps-test-akv-PrivateTest-20250805.pfx"]
    assert [f.type for f in files] == ["directory", "directory", "file", "file"]


def test_listing_paths_are_relative_to_mnt_data_not_to_the_listed_directory():
    """The examples list ``path=test-directory`` with ``directory`` relative to it: a
    FileInfo's path is from /mnt/data, so it can be downloaded or deleted as is."""
    for rel in ("2025-10-02-preview/examples/SessionResourceFiles_List_Recursive.json",
                "2025-10-02-preview/examples/SessionResourceFiles_List.json"):
        data = json.loads((SPEC / "data-plane/preview" / rel).read_text())
        path, body = data["parameters"]["path"], data["responses"]["200"]["body"]
        files = parse_file_list(body, directory=path)
        assert [f.path for f in files] == [
            "/".join(p for p in (path, raw.get("directory"), raw["name"]) if p) for raw in body["value"]]
        assert all(f.path.startswith("test-directory/") for f in files)
    # An absolute /mnt/data directory from a server is taken as is.
    [f] = parse_file_list({"value": [{"name": "a.txt", "directory": "/mnt/data/x/y"}]}, directory="x")
    assert f.path == "x/y/a.txt"
    # The answer about one named file (upload, metadata) is in the requested directory.
    one = {"name": "a.txt", "directory": "sub", "type": "File"}
    assert parse_upload(one, directory="sub", name="a.txt").path == "sub/a.txt"
    assert parse_upload({"value": [{"properties": {"filename": "sub/a.txt", "size": 1}}]},
                        directory="sub", name="a.txt").path == "sub/a.txt"


def _tutorial_response() -> dict:
    text = TUTORIAL.read_text("utf-8")
    marker = 'You should see "status":"Success"'
    block = text[text.index(marker):].split("```bash", 1)[1].split("```", 1)[0]
    return json.loads(block)


def test_tutorial_legacy_response():
    ex = parse_execution(_tutorial_response())
    assert ex.status is ExecutionStatus.SUCCEEDED and ex.raw_status == "Success"
    assert ex.stdout == "hello-world\n" and ex.stderr == ""
    assert ex.value == "" and ex.value_text == "" and not ex.has_value
    assert ex.server_ms == 5.0


def test_arm_older_cooldown_shape():
    body = {"name": "p", "properties": {"dynamicPoolConfiguration": {"cooldownPeriodInSeconds": 300,
                                                                    "executionType": "Timed"},
                                        "containerType": "NodeLTS"}}
    st = parse_arm_pool(body, "https://ep")
    assert st.cooldown_seconds == 300 and st.container_type == "NodeLTS" and st.max_sessions is None
