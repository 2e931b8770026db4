"""Files API of the local pool over real HTTP, both dialects, shapes checked against the spec examples."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import httpx
import pytest

SPEC = Path(__file__).resolve().parents[3] / "shared" / "azure-spec" / "data-plane" / "preview"
V = "2025-10-02-preview"
LEGACY = "2024-08-02-preview"


def example(version: str, name: str) -> dict:
    path = SPEC / version / "examples" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"spec example {path} is not available")
    return json.loads(path.read_text())


def params(identifier: str, version: str = V, **extra: str) -> dict[str, str]:
    return {"api-version": version, "identifier": identifier, **extra}


def upload(client: httpx.Client, identifier: str, name: str, data: bytes, **extra: str) -> httpx.Response:
    return client.post("/files", params=params(identifier, **extra), files={"file": (name, data)})


def test_upload_returns_metadata_shaped_like_the_spec(pool_http: httpx.Client, identifier: str) -> None:
    r = upload(pool_http, identifier, "notes.yaml", b"a: 1")
    assert r.status_code == 200, r.text
    body = r.json()
    spec_keys = set(example("2025-02-02-preview", "SessionResourceFiles_Upload")["responses"]["200"]["body"])
    assert spec_keys <= set(body)
    assert body["name"] == "notes.yaml"
    assert body["type"] == "File"
    assert body["sizeInBytes"] == 4
    assert body["contentType"] == "application/yaml"
    assert body["lastModifiedAt"].endswith("Z")


def test_list_metadata_content_delete_roundtrip(pool_http: httpx.Client, identifier: str) -> None:
    payload = bytes(range(256)) * 4
    assert upload(pool_http, identifier, "blob.bin", payload).status_code == 200
    assert upload(pool_http, identifier, "inner.txt", b"deep", path="sub/dir").status_code == 200

    listing = pool_http.get("/files", params=params(identifier))
    assert listing.status_code == 200
    body = listing.json()
    spec = example(V, "SessionResourceFiles_List")["responses"]["200"]["body"]
    assert set(spec) <= set(body) and body["nextLink"] is None
    entries = {(e["directory"], e["name"]): e for e in body["value"]}
    assert set(entries) == {("", "blob.bin"), ("", "sub")}
    file_spec_keys = set(spec["value"][0])
    assert file_spec_keys <= set(entries[("", "blob.bin")])
    assert entries[("", "blob.bin")]["sizeInBytes"] == len(payload)
    assert entries[("", "sub")]["type"] == "Directory"

    rec = pool_http.get("/files", params=params(identifier, recursive="true")).json()["value"]
    assert {(e["directory"], e["name"], e["type"]) for e in rec} == {
        ("", "blob.bin", "File"),
        ("", "sub", "Directory"),
        ("sub", "dir", "Directory"),
        ("sub/dir", "inner.txt", "File"),
    }
    in_sub = pool_http.get("/files", params=params(identifier, path="sub", recursive="true")).json()
    assert {(e["directory"], e["name"]) for e in in_sub["value"]} == {("", "dir"), ("dir", "inner.txt")}

    meta = pool_http.get("/files/blob.bin", params=params(identifier))
    assert meta.status_code == 200
    spec_meta = example("2025-02-02-preview", "SessionResourceFiles_Get")["responses"]["200"]["body"]
    assert set(spec_meta) <= set(meta.json())
    assert meta.json()["sizeInBytes"] == len(payload)

    content = pool_http.get("/files/blob.bin/content", params=params(identifier))
    assert content.status_code == 200 and content.content == payload
    deep = pool_http.get("/files/inner.txt/content", params=params(identifier, path="/mnt/data/sub/dir"))
    assert deep.content == b"deep"

    assert pool_http.delete("/files/blob.bin", params=params(identifier)).status_code == 204
    gone = pool_http.get("/files/blob.bin", params=params(identifier))
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == gone.headers["x-ms-error-code"]
    assert pool_http.get("/files/blob.bin/content", params=params(identifier)).status_code == 404
    assert pool_http.delete("/files/blob.bin", params=params(identifier)).status_code == 404


def test_upload_overwrites_and_root_path_spellings(pool_http: httpx.Client, identifier: str) -> None:
    assert upload(pool_http, identifier, "x.txt", b"one", path="/").status_code == 200
    assert upload(pool_http, identifier, "x.txt", b"second", path="/mnt/data").status_code == 200
    r = pool_http.get("/files/x.txt/content", params=params(identifier))
    assert r.content == b"second"


def test_legacy_dialect_files(pool_http: httpx.Client, identifier: str) -> None:
    r = pool_http.post(
        "/files/upload", params=params(identifier, LEGACY), files={"file": ("data.csv", b"a,b\n1,2\n")}
    )
    assert r.status_code == 200, r.text
    props = r.json()["value"][0]["properties"]
    assert props["filename"] == "data.csv" and props["size"] == 8 and props["lastModifiedTime"]

    upload(pool_http, identifier, "deep.txt", b"xyz", path="d")
    listing = pool_http.get("/files", params=params(identifier, LEGACY))
    assert listing.status_code == 200
    names = {v["properties"]["filename"]: v["properties"]["size"] for v in listing.json()["value"]}
    assert names == {"data.csv": 8, "d/deep.txt": 3}

    content = pool_http.get("/files/content/data.csv", params=params(identifier, LEGACY))
    assert content.status_code == 200 and content.content == b"a,b\n1,2\n"
    nested = pool_http.get("/files/content/d/deep.txt", params=params(identifier, LEGACY))
    assert nested.content == b"xyz"


def test_get_files_shape_follows_the_api_version(pool_http: httpx.Client, identifier: str) -> None:
    upload(pool_http, identifier, "f.txt", b"1")
    for version in ("2024-02-02-preview", "2024-08-02-preview"):
        item = pool_http.get("/files", params=params(identifier, version)).json()["value"][0]
        assert set(item["properties"]) >= {"filename", "size", "lastModifiedTime"}
    for version in ("2024-10-02-preview", "2025-02-02-preview", "2025-10-02-preview"):
        body = pool_http.get("/files", params=params(identifier, version)).json()
        assert body["value"][0]["name"] == "f.txt" and "nextLink" in body


def test_routes_refused_in_versions_that_lack_them(pool_http: httpx.Client, identifier: str) -> None:
    cases = [
        ("POST", "/files/upload", "2025-10-02-preview"),
        ("GET", "/files/content/x", "2025-02-02-preview"),
        ("GET", "/files/x", "2024-08-02-preview"),
        ("GET", "/files/x/content", "2024-02-02-preview"),
    ]
    for method, path, version in cases:
        upload = {"file": ("a", b"a")} if method == "POST" else None
        r = pool_http.request(method, path, params=params(identifier, version), files=upload)
        assert r.status_code == 400, (method, path, version, r.text)
        assert r.json()["error"]["code"] == "SessionRequestNotSupported"


@pytest.mark.parametrize(
    "path_param,name",
    [
        ("..", "x.txt"),
        ("../other", "x.txt"),
        ("/etc", "passwd"),
        ("a/../../b", "x.txt"),
        ("ok", "..\\..\\x.txt"),
        ("ok\x00evil", "x.txt"),
    ],
)
def test_paths_escaping_the_session_dir_are_refused(
    pool_http: httpx.Client, identifier: str, path_param: str, name: str
) -> None:
    r = upload(pool_http, identifier, name, b"nope", path=path_param)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "SessionRequestValidationFailed"
    assert r.headers["x-ms-error-code"] == "SessionRequestValidationFailed"
    for method, route in (("GET", f"/files/{name}"), ("GET", f"/files/{name}/content"), ("DELETE", f"/files/{name}")):
        if "\\" in name:
            continue
        r = pool_http.request(method, route, params=params(identifier, path=path_param))
        assert r.status_code == 400, (method, route, r.text)


def test_upload_filename_escapes_are_refused(pool_http: httpx.Client, identifier: str) -> None:
    for name in ("../../escape.txt", "/etc/evil", "..", "a/../../b"):
        r = upload(pool_http, identifier, name, b"x")
        assert r.status_code == 400, (name, r.text)
    legacy = pool_http.get("/files/content/../../etc/passwd", params=params(identifier, LEGACY))
    assert legacy.status_code in (400, 404)
    assert b"root:" not in legacy.content


def test_symlinks_out_of_the_session_dir_are_refused(
    local_pool, pool_http: httpx.Client, identifier: str, tmp_path: Path
) -> None:
    assert upload(pool_http, identifier, "real.txt", b"mine").status_code == 200
    session = local_pool.pool.get(identifier)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, session.directory / "leak.txt")
    os.symlink(tmp_path, session.directory / "outside")
    assert pool_http.get("/files/leak.txt/content", params=params(identifier)).status_code == 400
    assert pool_http.get("/files/leak.txt", params=params(identifier)).status_code == 400
    assert pool_http.get("/files/secret.txt/content", params=params(identifier, path="outside")).status_code == 400
    assert upload(pool_http, identifier, "new.txt", b"x", path="outside").status_code == 400
    assert upload(pool_http, identifier, "leak.txt", b"overwrite").status_code == 400
    assert secret.read_text() == "top secret"
    assert not (tmp_path / "new.txt").exists()
    listed = pool_http.get("/files", params=params(identifier, recursive="true")).json()["value"]
    assert [e["name"] for e in listed] == ["real.txt"]


def test_a_file_name_that_is_not_utf8_does_not_break_the_listing(pool_http: httpx.Client, identifier: str) -> None:
    # Session code can name a file with any bytes; the listing used to fail (HTTP 500)
    # for the whole directory. The name is shown with U+FFFD, the others as they are.
    code = (
        "const fs = require('fs');"
        "fs.writeFileSync(Buffer.from([...Buffer.from('/mnt/data/bad-'), 0xff, 0xfe, ...Buffer.from('.txt')]), 'x');"
        "fs.mkdirSync(Buffer.from([...Buffer.from('/mnt/data/dir-'), 0xc3]));"
        "fs.writeFileSync(Buffer.from([...Buffer.from('/mnt/data/dir-'), 0xc3, ...Buffer.from('/in.txt')]), 'y');"
        "fs.writeFileSync('/mnt/data/good.txt', 'z'); 1"
    )
    r = pool_http.post("/executions", params=params(identifier),
                       json={"codeInputType": "Inline", "executionType": "Synchronous", "code": code})
    assert r.status_code == 200 and r.json()["status"] == "Succeeded", r.text
    for version in (V, LEGACY):
        listing = pool_http.get("/files", params=params(identifier, version, recursive="true"))
        assert listing.status_code == 200, listing.text
    listed = pool_http.get("/files", params=params(identifier, recursive="true")).json()["value"]
    assert sorted((e["directory"], e["name"]) for e in listed) == [
        ("", "bad-\ufffd\ufffd.txt"), ("", "dir-\ufffd"), ("", "good.txt"), ("dir-\ufffd", "in.txt"),
    ]
    legacy = pool_http.get("/files", params=params(identifier, LEGACY)).json()["value"]
    assert sorted(e["properties"]["filename"] for e in legacy) == ["bad-\ufffd\ufffd.txt", "dir-\ufffd/in.txt",
                                                                  "good.txt"]


def test_sessions_never_see_each_others_files(pool_http: httpx.Client, identifier: str) -> None:
    other = identifier + "-other"
    upload(pool_http, identifier, "private.txt", b"mine")
    assert pool_http.get("/files", params=params(other)).json()["value"] == []
    assert pool_http.get("/files/private.txt/content", params=params(other)).status_code == 404
    assert pool_http.get("/files/private.txt/content", params=params(identifier)).content == b"mine"


def test_upload_without_file_part_or_multipart(pool_http: httpx.Client, identifier: str) -> None:
    r = pool_http.post("/files", params=params(identifier), json={"file": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "SessionRequestValidationFailed"
    r = pool_http.post("/files", params=params(identifier), data={"notafile": "x"}, files={"other": ("", b"")})
    assert r.status_code == 400


def test_large_upload_streams_to_disk(pool_http: httpx.Client, identifier: str) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    r = upload(pool_http, identifier, "big.bin", data)
    assert r.status_code == 200 and r.json()["sizeInBytes"] == len(data)
    assert pool_http.get("/files/big.bin/content", params=params(identifier)).content == data


def test_curl_multipart_upload_and_download(local_pool, identifier: str, tmp_path: Path) -> None:
    import subprocess

    src = tmp_path / "report.csv"
    src.write_bytes(b"a,b\n" + os.urandom(70000))
    url = f"{local_pool.endpoint}/files?api-version={V}&identifier={identifier}"
    auth = f"Authorization: Bearer {local_pool.token}"
    up = subprocess.run(["curl", "-sS", "-H", auth, "-F", f"file=@{src}", url],
                        capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    meta = json.loads(up.stdout)
    assert meta["name"] == "report.csv" and meta["sizeInBytes"] == src.stat().st_size
    dest = tmp_path / "back.csv"
    down = subprocess.run(
        ["curl", "-sS", "-f", "-H", auth, "-o", str(dest),
         f"{local_pool.endpoint}/files/report.csv/content?api-version={V}&identifier={identifier}"],
        capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert dest.read_bytes() == src.read_bytes()


def test_legacy_upload_with_mnt_data_prefix_and_subdirectory(pool_http: httpx.Client, identifier: str) -> None:
    r = pool_http.post("/files/upload", params=params(identifier, "2024-02-02-preview"),
                       files={"file": ("/mnt/data/in/sub.txt", b"nested")})
    assert r.status_code == 200, r.text
    assert r.json()["value"][0]["properties"]["filename"] == "in/sub.txt"
    got = pool_http.get("/files/content/in/sub.txt", params=params(identifier, "2024-02-02-preview"))
    assert got.content == b"nested"


def test_multipart_with_several_files_and_fields(pool_http: httpx.Client, identifier: str) -> None:
    r = pool_http.post(
        "/files/upload", params=params(identifier, LEGACY),
        data={"note": "ignored field"},
        files=[("file", ("one.txt", b"1")), ("file", ("two.txt", b"22"))],
    )
    assert r.status_code == 200, r.text
    assert [v["properties"]["filename"] for v in r.json()["value"]] == ["one.txt", "two.txt"]
    current = pool_http.post("/files", params=params(identifier), files=[("file", ("three.txt", b"333"))],
                             data={"x": "y"})
    assert current.json()["name"] == "three.txt" and current.json()["sizeInBytes"] == 3


def test_multipart_parser_handles_any_chunking(pool_http: httpx.Client, identifier: str) -> None:
    import random

    rng = random.Random(1234)
    boundary = "b0undary-XYZ"
    # Contents full of near-misses of the delimiter.
    a = b"\r\n--b0undary-XY\r\n--b0und\r\n-" * 50 + os.urandom(2000)
    b = b"--" + boundary.encode() + b"x" + b"\r\n--" + os.urandom(3000)
    body = (
        f"preamble\r\n--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="meta"\r\n\r\nsome field\r\n'
        + f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        + b"Content-Type: application/octet-stream\r\n\r\n" + a + b"\r\n"
        + f"--{boundary}\r\n".encode()
        + b"Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''b%C3%A9.bin\r\n\r\n" + b + b"\r\n"
        + f"--{boundary}--\r\nepilogue".encode()
    )

    def chunks():
        i = 0
        while i < len(body):
            n = rng.randint(1, 9) if rng.random() < 0.7 else rng.randint(10, 700)
            yield body[i : i + n]
            i += n

    r = pool_http.post(
        "/files/upload", params=params(identifier, LEGACY), content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 200, r.text
    assert [v["properties"]["filename"] for v in r.json()["value"]] == ["a.bin", "bé.bin"]
    assert pool_http.get("/files/a.bin/content", params=params(identifier)).content == a
    assert pool_http.get("/files/bé.bin/content", params=params(identifier)).content == b


def test_truncated_or_malformed_multipart_is_400(pool_http: httpx.Client, identifier: str) -> None:
    head = b'--zz\r\nContent-Disposition: form-data; name="file"; filename="t.txt"\r\n\r\nabc'
    for body in (head, head + b"\r\n--zz", b"--zzgarbage", b"no delimiter at all"):
        r = pool_http.post("/files", params=params(identifier), content=body,
                           headers={"Content-Type": "multipart/form-data; boundary=zz"})
        assert r.status_code == 400, (body, r.text)
    assert pool_http.get("/files", params=params(identifier)).json()["value"] == []


def test_no_symbolic_link_is_followed_even_inside_the_session_dir(
    local_pool, pool_http: httpx.Client, identifier: str
) -> None:
    # Links are refused as such, not by where they point now: what a link points
    # to can change between a check and the use of the path (TOCTOU), so the
    # server reaches files through directory descriptors opened with O_NOFOLLOW.
    assert upload(pool_http, identifier, "real.txt", b"mine", path="sub").status_code == 200
    session = local_pool.pool.get(identifier)
    os.symlink("sub", session.directory / "alias")  # a directory link that stays inside
    os.symlink("sub/real.txt", session.directory / "file-link")
    for r in (
        pool_http.get("/files/real.txt/content", params=params(identifier, path="alias")),
        pool_http.get("/files/real.txt", params=params(identifier, path="alias")),
        pool_http.get("/files", params=params(identifier, path="alias")),
        pool_http.get("/files/file-link/content", params=params(identifier)),
        pool_http.get("/files/file-link", params=params(identifier)),
        upload(pool_http, identifier, "new.txt", b"x", path="alias"),
        upload(pool_http, identifier, "alias/new.txt", b"x"),
        upload(pool_http, identifier, "file-link", b"x"),
        pool_http.get("/files/content/alias/real.txt", params=params(identifier, LEGACY)),
    ):
        assert r.status_code == 400, (r.request.url, r.text)
        assert "symbolic link" in r.json()["error"]["message"]
    assert not (session.directory / "sub" / "new.txt").exists()
    assert (session.directory / "sub" / "real.txt").read_bytes() == b"mine"
    # DELETE removes a link itself, never what it points to
    assert pool_http.delete("/files/file-link", params=params(identifier)).status_code == 204
    assert not os.path.lexists(session.directory / "file-link")
    assert (session.directory / "sub" / "real.txt").read_bytes() == b"mine"
    r = pool_http.delete("/files/real.txt", params=params(identifier, path="alias"))
    assert r.status_code == 400 and (session.directory / "sub" / "real.txt").exists()


def test_a_directory_swapped_for_a_link_during_requests_never_leaks(
    local_pool, pool_http: httpx.Client, identifier: str, tmp_path: Path
) -> None:
    import threading

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text("top secret")
    (outside / "outside-only.txt").write_text("x")
    assert upload(pool_http, identifier, "f.txt", b"mine", path="d").status_code == 200
    session = local_pool.pool.get(identifier)
    d, real, link = session.directory / "d", session.directory / "d-real", session.directory / "d-link"
    os.symlink(outside, link)
    stop = threading.Event()

    def flip() -> None:  # what code in the session could do, as fast as it can
        while not stop.is_set():
            for src, dst in ((d, real), (link, d), (d, link), (real, d)):
                with contextlib.suppress(OSError):  # an upload may recreate d meanwhile
                    os.rename(src, dst)

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        seen = set()
        for _ in range(150):
            r = pool_http.get("/files/f.txt/content", params=params(identifier, path="d"))
            seen.add(r.status_code)
            assert r.status_code in (200, 400, 404), r.text
            assert b"secret" not in r.content
            r = pool_http.get("/files", params=params(identifier, path="d"))
            assert r.status_code in (200, 400, 404) and "outside-only" not in r.text, r.text
            r = upload(pool_http, identifier, "planted.txt", b"x", path="d")
            assert r.status_code in (200, 400, 404), r.text
            assert not (outside / "planted.txt").exists()
    finally:
        stop.set()
        flipper.join()
    assert seen <= {200, 400, 404}
    assert (outside / "f.txt").read_text() == "top secret"


def test_a_fifo_in_the_session_dir_does_not_hang_a_download(
    local_pool, pool_http: httpx.Client, identifier: str
) -> None:
    assert upload(pool_http, identifier, "x.txt", b"x").status_code == 200
    session = local_pool.pool.get(identifier)
    os.mkfifo(session.directory / "pipe")
    r = pool_http.get("/files/pipe/content", params=params(identifier), timeout=10)
    assert r.status_code == 404
    r = pool_http.get("/files/x.txt/content", params=params(identifier))
    assert r.content == b"x" and r.headers["content-length"] == "1" and "last-modified" in r.headers
    assert upload(pool_http, identifier, "empty.txt", b"").status_code == 200
    r = pool_http.get("/files/empty.txt/content", params=params(identifier))
    assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "0")


def test_a_file_used_as_a_directory(pool_http: httpx.Client, identifier: str) -> None:
    assert upload(pool_http, identifier, "plain.txt", b"x").status_code == 200
    for r in (
        pool_http.get("/files", params=params(identifier, path="plain.txt")),
        pool_http.get("/files/a.txt", params=params(identifier, path="plain.txt")),
        pool_http.get("/files/a.txt/content", params=params(identifier, path="plain.txt")),
        pool_http.delete("/files/a.txt", params=params(identifier, path="plain.txt")),
    ):
        assert r.status_code == 404, (r.request.url, r.text)
        assert r.json()["error"]["code"] == "FileNotFound"
    for r in (upload(pool_http, identifier, "a.txt", b"x", path="plain.txt"),
              upload(pool_http, identifier, "plain.txt/a.txt", b"x")):
        assert r.status_code == 400, r.text
        assert "not a directory" in r.json()["error"]["message"]
