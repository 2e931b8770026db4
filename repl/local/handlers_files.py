"""Route handlers for the files of a session's ``/mnt/data`` (both dialects).

Paths are reached through ``fileaccess`` (descriptors, no symbolic link
followed).  Listing and deletion run in a worker thread, JSON encoding of a
listing included: 100,000 files or a 1,500-level chain never stall the event
loop, so other sessions' requests are served meanwhile.
"""

from __future__ import annotations

import errno
import os
import stat
from email.utils import formatdate

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from repl.local import validation
from repl.local.errors import PoolError, validation_failed
from repl.local.fileaccess import (
    DATA_ROOT,
    FILE_FLAGS,
    DirectoryKeptChanging,
    access_denied,
    display,
    is_symlink_at,
    lstat_at,
    name_parts,
    open_dir,
    open_dir_at,
    path_parts,
    remove_at,
    symlink_refused,
    walk,
)
from repl.local.listing import content_type, file_entry, json_bytes, legacy_list, listing_json
from repl.local.multipart import stream_multipart
from repl.local.pool import Session, SessionPool
from repl.local.settings import PoolSettings
from repl.local.versions import ALL_DATA_PLANE, CURRENT_VERSIONS, LEGACY_ONLY, LEGACY_VERSIONS, api_version


class FdFileResponse(Response):
    """The content of an already opened file (``FileResponse`` would open it again by
    path, after the check, which a link swapped in meanwhile would redirect): at most
    the size it had when opened, read in a worker thread."""

    chunk_size = 256 * 1024

    def __init__(self, fd: int, st: os.stat_result, media_type: str) -> None:
        self.file = os.fdopen(fd, "rb", buffering=0)
        self.size = st.st_size
        super().__init__(
            media_type=media_type,
            headers={"content-length": str(st.st_size), "last-modified": formatdate(st.st_mtime, usegmt=True)},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            left = self.size
            if scope.get("method") == "HEAD":
                left = 0
            while left > 0:
                chunk = await anyio.to_thread.run_sync(self.file.read, min(self.chunk_size, left))
                if not chunk:  # shrank meanwhile: the length is sent, so the connection is dropped
                    raise RuntimeError("the file became shorter while it was sent")
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
            if self.size == 0 or scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.file.close()


class FileHandlers:
    def __init__(self, pool: SessionPool, settings: PoolSettings, *, max_upload_bytes: int) -> None:
        self.pool = pool
        self.settings = settings
        self.max_upload_bytes = max_upload_bytes

    # ------------------------------------------------------------- locating
    def _dir(self, session: Session, request: Request, *, create: bool = False) -> tuple[int, list[str]]:
        """A file descriptor of the ``path`` directory (the caller closes it), its parts."""
        parts = path_parts(request.query_params.get("path"), "path")
        return open_dir(session.directory, parts, display(parts), "path", create=create), parts

    def _locate(self, request: Request, name: str) -> tuple[int, str, list[str]]:
        """The session's directory fd that holds ``name`` (under ``?path=``), the
        last path part and all parts; a missing directory on the way is a 404
        that names the whole path."""
        session = self.pool.acquire(validation.identifier(request))
        parts = path_parts(request.query_params.get("path"), "path") + name_parts(name)
        try:
            fd = open_dir(session.directory, parts[:-1], display(parts), "name")
        except PoolError as exc:
            if exc.status == 404:
                raise self._not_found(parts) from None
            raise
        return fd, parts[-1], parts

    def _not_found(self, parts: list[str]) -> PoolError:
        return PoolError(
            404,
            "FileNotFound",
            f"No file {DATA_ROOT}/{display(parts)[:300]} in this session.",
            target="name",
        )

    # --------------------------------------------------------------- upload
    async def _upload(self, request: Request) -> tuple[Session, list[tuple[str, os.stat_result, list[str]]]]:
        identifier = validation.identifier(request)
        session = self.pool.acquire(identifier)
        dir_fd, dir_parts = self._dir(session, request, create=True)
        try:
            uploads = await stream_multipart(request, self.pool.staging_dir, self.max_upload_bytes)
            stored: list[tuple[str, os.stat_result, list[str]]] = []
            try:
                for up in uploads:
                    parts_of_name = name_parts(up.filename, "file name")
                    parts = dir_parts + parts_of_name
                    shown = display(parts)
                    parent = open_dir_at(dir_fd, parts_of_name[:-1], shown, "file name")
                    try:
                        st = self._store(up.temp, parent, parts_of_name[-1], shown)
                        stored.append((parts_of_name[-1], st, parts))
                    finally:
                        os.close(parent)
            finally:
                for up in uploads:
                    up.temp.unlink(missing_ok=True)
        finally:
            os.close(dir_fd)
        session.touch(self.pool.clock())
        return session, stored

    @staticmethod
    def _store(temp: os.PathLike[str], parent: int, name: str, shown: str) -> os.stat_result:
        st = lstat_at(parent, name)
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise symlink_refused(shown, "file name")
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise validation_failed(f"{DATA_ROOT}/{shown} is a directory.", target="file")
        # rename() replaces a link put there meanwhile, never follows it
        try:
            os.replace(temp, name, dst_dir_fd=parent)
        except IsADirectoryError:
            raise validation_failed(f"{DATA_ROOT}/{shown} is a directory.", target="file") from None
        except FileNotFoundError:  # its directory was removed meanwhile
            raise PoolError(
                404, "FileNotFound",
                f"The directory of {DATA_ROOT}/{shown} was removed during the upload.",
                target="path",
            ) from None
        except PermissionError:
            raise access_denied(shown, "file") from None
        return os.stat(name, dir_fd=parent, follow_symlinks=False)

    async def files_upload(self, request: Request) -> Response:
        api_version(request, CURRENT_VERSIONS, "files")
        _session, stored = await self._upload(request)
        name, st, parts = stored[0]
        return JSONResponse(file_entry(name, display(parts[:-1]), st))

    async def files_upload_legacy(self, request: Request) -> Response:
        api_version(request, LEGACY_VERSIONS, "files/upload")
        _session, stored = await self._upload(request)
        return JSONResponse(legacy_list([(display(p), st) for _name, st, p in stored]))

    # -------------------------------------------------------------- listing
    async def files_list(self, request: Request) -> Response:
        version = api_version(request, ALL_DATA_PLANE, "files")
        identifier = validation.identifier(request)
        session = self.pool.acquire(identifier)
        recursive = request.query_params.get("recursive", "false").lower() in ("true", "1", "yes")
        legacy = version in LEGACY_ONLY

        def listing() -> bytes:
            dir_fd, _parts = self._dir(session, request)
            try:
                if legacy:
                    entries = walk(dir_fd, recursive=True, files_only=True)
                    files = [(f"{rel}/{name}" if rel else name, st) for name, rel, st in entries]
                    return json_bytes(legacy_list(files))
                entries = walk(dir_fd, recursive=recursive)
            finally:
                os.close(dir_fd)
            return listing_json(entries)

        body = await anyio.to_thread.run_sync(listing)
        return Response(body, media_type="application/json")

    # ------------------------------------------------------ single files
    async def file_get(self, request: Request) -> Response:
        api_version(request, CURRENT_VERSIONS, "files/{name}")
        parent, name, parts = self._locate(request, request.path_params["name"])
        try:
            st = lstat_at(parent, name)
        finally:
            os.close(parent)
        if st is None:
            raise self._not_found(parts)
        if stat.S_ISLNK(st.st_mode):
            raise symlink_refused(display(parts), "name")
        return JSONResponse(file_entry(name, display(parts[:-1]), st))

    async def _content(self, request: Request, name: str) -> Response:
        parent, last, parts = self._locate(request, name)
        try:
            try:
                fd = os.open(last, FILE_FLAGS, dir_fd=parent)
            except FileNotFoundError:
                raise self._not_found(parts) from None
            except OSError as exc:
                if exc.errno == errno.ELOOP or is_symlink_at(parent, last):
                    raise symlink_refused(display(parts), "name") from None
                raise self._not_found(parts) from None
        finally:
            os.close(parent)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise self._not_found(parts)
        return FdFileResponse(fd, st, content_type(last))

    async def file_content(self, request: Request) -> Response:
        api_version(request, CURRENT_VERSIONS, "files/{name}/content")
        return await self._content(request, request.path_params["name"])

    async def file_content_legacy(self, request: Request) -> Response:
        api_version(request, LEGACY_VERSIONS, "files/content/{name}")
        return await self._content(request, request.path_params["name"])

    async def file_delete(self, request: Request) -> Response:
        api_version(request, CURRENT_VERSIONS, "files/{name}")
        parent, name, parts = self._locate(request, request.path_params["name"])
        try:
            # A symbolic link itself is removed, never followed; a directory of
            # any depth is removed through descriptors, in a worker thread.
            found = await anyio.to_thread.run_sync(remove_at, parent, name)
        except DirectoryKeptChanging:
            raise PoolError(
                409, "DirectoryKeptChanging",
                f"{DATA_ROOT}/{display(parts)[:300]} kept getting new entries while it was deleted "
                "(code in the session is writing into it); try again.",
                target="name",
            ) from None
        except OSError as exc:  # e.g. a mount point, a read-only file system
            raise PoolError(
                409, "FileNotDeleted",
                f"{DATA_ROOT}/{display(parts)[:300]} could not be deleted completely: {exc.strerror or exc}.",
                target="name",
            ) from None
        finally:
            os.close(parent)
        if not found:
            raise self._not_found(parts)
        return Response(status_code=204)
