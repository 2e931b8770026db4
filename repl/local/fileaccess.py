"""Symlink-safe access to a session's ``/mnt/data``: paths, directory descriptors,
listing and deletion of any tree.

Every file route reaches its file through directory file descriptors, one path
component at a time, opened with ``O_NOFOLLOW``: a symbolic link anywhere on the
way is refused (400) at the moment it is met, so code in the session that swaps a
directory for a link between a check and the use of the path (a TOCTOU race)
cannot make the server read, write or list anything outside the session
directory.  No path is checked first and opened later.

Listing (``walk``) and deletion (``remove_at``, ``remove_tree``) are iterative
with an explicit stack, never recursive Python: a 1,500-level directory chain
(one line of JS makes it) neither hits the recursion limit nor holds 1,500 file
descriptors.  At most ``MAX_OPEN_DIRS`` directories of the stack stay open; a
closed one is reopened through ``..`` of its child and accepted only if it is the
same directory (device and inode) that was entered, so a tree moved meanwhile is
noticed instead of followed.  Both are blocking: call them in a thread.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from repl.local.errors import PoolError, validation_failed

DATA_ROOT = "/mnt/data"
NAME_MAX = 255  # bytes of one path component (Linux, macOS)
MAX_OPEN_DIRS = 32  # directory descriptors one walk or deletion keeps open at most
_MAX_REFILLS = 1000  # a directory refilled while deleted this often: give up (409)

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO never hangs open()

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- path rules
def path_parts(value: str | None, what: str) -> list[str]:
    """Relative parts of a directory or file path inside /mnt/data; 400 if it escapes
    or if a component is longer than a file name can be (NAME_MAX bytes)."""
    if value is None:
        return []
    if "\x00" in value:
        raise validation_failed(f"The {what} contains a NUL character.", target=what)
    p = value.replace("\\", "/")
    if p == DATA_ROOT or p.startswith(DATA_ROOT + "/"):
        p = p[len(DATA_ROOT) :]
    elif p.startswith("/") and p.strip("/"):
        raise validation_failed(
            f"The {what} {_short(value)!r} is an absolute path outside {DATA_ROOT}; use a path "
            f"relative to {DATA_ROOT}.",
            target=what,
        )
    parts = [x for x in p.split("/") if x not in ("", ".")]
    if ".." in parts:
        raise validation_failed(
            f"The {what} {_short(value)!r} contains '..'; it must stay inside {DATA_ROOT}.", target=what
        )
    for part in parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise validation_failed(
                f"The {what} has a component of {len(os.fsencode(part))} bytes ({_short(part)!r}); "
                f"a file or directory name is at most {NAME_MAX} bytes.",
                target=what,
            )
    return parts


def name_parts(name: str, what: str = "name") -> list[str]:
    parts = path_parts(name, what)
    if not parts:
        raise validation_failed(f"The {what} {_short(name)!r} does not name a file.", target=what)
    return parts


def display(parts: list[str]) -> str:
    return "/".join(parts)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def symlink_refused(shown: str, what: str) -> PoolError:
    return validation_failed(
        f"The {what} {_short(shown)!r} goes through a symbolic link; symbolic links in the "
        f"session's {DATA_ROOT} are not followed.",
        target=what,
    )


def access_denied(shown: str, what: str) -> PoolError:
    return PoolError(
        403, "FileAccessDenied",
        f"{DATA_ROOT}/{_short(shown)} is not accessible (its permissions were changed in the session).",
        target=what,
    )


# ------------------------------------------------------- descriptor walking
def is_symlink_at(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None


def open_dir(root: Path, parts: list[str], shown: str, what: str, *, create: bool = False) -> int:
    """A file descriptor of the directory ``root/parts...``, reached without following
    any symbolic link (400 if one is met); 404 if it does not exist (``create``: made)."""
    return open_dir_fd(os.open(root, DIR_FLAGS), parts, shown, what, create=create)


def open_dir_at(base_fd: int, parts: list[str], shown: str, what: str) -> int:
    """Like ``open_dir`` with ``create``, from an open directory descriptor (left open)."""
    return open_dir_fd(os.dup(base_fd), parts, shown, what, create=True)


def open_dir_fd(fd: int, parts: list[str], shown: str, what: str, *, create: bool = False) -> int:
    """``open_dir`` from the directory descriptor ``fd``, which it takes over."""
    try:
        for part in parts:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if isinstance(exc, FileNotFoundError) or (
                    isinstance(exc, NotADirectoryError) and not create and not is_symlink_at(fd, part)
                ):
                    raise PoolError(
                        404, "FileNotFound", f"No directory {DATA_ROOT}/{_short(shown)} in this session.",
                        target=what,
                    ) from None
                if is_symlink_at(fd, part) or exc.errno == errno.ELOOP:
                    raise symlink_refused(shown, what) from None
                if isinstance(exc, NotADirectoryError):
                    raise validation_failed(
                        f"{DATA_ROOT}/{_short(shown)}: {_short(part)!r} is a file, not a directory.", target=what
                    ) from None
                if isinstance(exc, PermissionError):
                    raise access_denied(shown, what) from None
                raise
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


# --------------------------------------------------------- the stack of dirs
class TreeMoved(OSError):
    """A directory of a walk was moved or replaced while the walk was in it."""


@dataclass(slots=True)
class _Frame:
    fd: int | None
    name: str
    rel: str  # path relative to the walk's top ("" for the top)
    ident: tuple[int, int]  # (st_dev, st_ino)
    names: Iterator[str] | None = None


class _DirStack:
    """Frames of a depth-first walk with at most ``max_open`` descriptors open."""

    def __init__(self, max_open: int = MAX_OPEN_DIRS) -> None:
        self.frames: list[_Frame] = []
        self.max_open = max(1, max_open)
        self.open_count = 0
        self.low = 0  # index of the lowest frame whose descriptor is open

    def push(self, fd: int, name: str, rel: str) -> _Frame:
        st = os.fstat(fd)
        frame = _Frame(fd, name, rel, (st.st_dev, st.st_ino))
        self.frames.append(frame)
        self.open_count += 1
        while self.open_count > self.max_open:
            low = self.frames[self.low]
            if low.fd is not None:
                os.close(low.fd)
                low.fd = None
                self.open_count -= 1
            self.low += 1
        return frame

    def pop(self) -> _Frame:
        """Remove the top frame (its descriptor closed) and make sure the new top is open."""
        child = self.frames.pop()
        try:
            if self.frames and self.frames[-1].fd is None:
                parent = self.frames[-1]
                assert child.fd is not None
                fd = os.open("..", DIR_FLAGS, dir_fd=child.fd)
                st = os.fstat(fd)
                if (st.st_dev, st.st_ino) != parent.ident:
                    os.close(fd)
                    raise TreeMoved(errno.ESTALE, f"{parent.rel or '.'} was moved during the walk")
                parent.fd = fd
                self.open_count += 1
                self.low = len(self.frames) - 1
        finally:
            if child.fd is not None:
                os.close(child.fd)
                child.fd = None
                self.open_count -= 1
            self.low = min(self.low, max(0, len(self.frames) - 1))
        return child

    def close(self) -> None:
        for frame in self.frames:
            if frame.fd is not None:
                os.close(frame.fd)
                frame.fd = None
        self.frames.clear()
        self.open_count = 0


# ------------------------------------------------------------------- listing
Entry = tuple[str, str, os.stat_result]  # name, directory relative to the top, lstat


def walk(dir_fd: int, recursive: bool, files_only: bool = False) -> list[Entry]:
    """(name, directory relative to ``dir_fd``, lstat) of entries, depth first in name
    order; symbolic links are skipped, subdirectories entered by descriptor (never by
    path).  A directory moved away during the walk ends it with what was found."""
    out: list[Entry] = []
    add = out.append
    lstat, is_link, is_dir = os.stat, stat.S_ISLNK, stat.S_ISDIR
    stack = _DirStack()
    try:
        top = stack.push(os.dup(dir_fd), "", "")
        top.names = iter(_sorted_names(top.fd))
        while stack.frames:
            frame = stack.frames[-1]
            fd, rel, names = frame.fd, frame.rel, frame.names
            assert fd is not None and names is not None
            # This directory's names in one tight loop, left only to descend
            # into a subdirectory (its frame then resumes where it stopped).
            for name in names:
                try:
                    st = lstat(name, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    continue
                mode = st.st_mode
                if is_link(mode):
                    continue
                if not is_dir(mode):
                    add((name, rel, st))
                    continue
                if not files_only:
                    add((name, rel, st))
                if recursive:
                    try:
                        child = os.open(name, DIR_FLAGS, dir_fd=fd)
                    except OSError:  # replaced by a link or removed meanwhile
                        continue
                    sub = stack.push(child, name, f"{rel}/{name}" if rel else name)
                    sub.names = iter(_sorted_names(child))
                    break
            else:
                stack.pop()
    except TreeMoved:
        pass
    finally:
        stack.close()
    return out


def _sorted_names(fd: int | None) -> list[str]:
    try:
        return sorted(os.listdir(fd)) if fd is not None else []
    except OSError:
        return []


# ------------------------------------------------------------------ deletion
class DirectoryKeptChanging(OSError):
    """Entries kept appearing in a directory while it was being deleted."""


def remove_at(parent_fd: int, name: str) -> bool:
    """Remove ``name`` in ``parent_fd``, a file, a link (never followed) or a directory
    tree of any depth; False if it did not exist.  Blocking: call it in a thread."""
    for _attempt in range(3):
        try:
            return _remove_at(parent_fd, name)
        except TreeMoved:
            continue
    return _remove_at(parent_fd, name)


def remove_tree(path: Path) -> None:
    """``shutil.rmtree(path, ignore_errors=True)`` for any depth and without following
    links: the pool's own session and pool directories.  Failures are logged."""
    try:
        parent = os.open(path.parent, DIR_FLAGS & ~os.O_NOFOLLOW)
    except OSError:
        return
    try:
        remove_at(parent, path.name)
    except OSError as exc:
        log.warning("could not remove %s completely: %s", path, exc)
    finally:
        os.close(parent)


def _remove_at(parent_fd: int, name: str) -> bool:
    st = lstat_at(parent_fd, name)
    if st is None:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return _unlink(parent_fd, name)
    try:
        top_fd = _open_for_removal(parent_fd, name)
    except FileNotFoundError:
        return False
    except (NotADirectoryError, TreeMoved):  # swapped for a file or link meanwhile
        return _unlink(parent_fd, name)
    stack = _DirStack()
    refills = 0
    try:
        stack.push(top_fd, name, "")
        while stack.frames:
            frame = stack.frames[-1]
            assert frame.fd is not None
            if frame.names is None:
                frame.names = iter(_listdir_for_removal(frame.fd))
            child_name = _empty_files_of(frame)
            if child_name is not None:
                try:
                    child = _open_for_removal(frame.fd, child_name)
                except FileNotFoundError:
                    continue
                except (NotADirectoryError, TreeMoved):
                    _unlink(frame.fd, child_name)
                    continue
                stack.push(child, child_name, "")
                continue
            done = stack.pop()
            holder = stack.frames[-1].fd if stack.frames else parent_fd
            assert holder is not None
            try:
                os.rmdir(done.name, dir_fd=holder)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                refills += 1  # new entries appeared meanwhile: go through it again
                if refills > _MAX_REFILLS:
                    raise DirectoryKeptChanging(
                        errno.ENOTEMPTY, "entries kept appearing while the directory was deleted"
                    ) from None
                try:
                    again = _open_for_removal(holder, done.name)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                stack.push(again, done.name, "")
    finally:
        stack.close()
    return True


def _empty_files_of(frame: _Frame) -> str | None:
    """Unlink the non-directories of ``frame`` (and rmdir its empty subdirectories) until
    a non-empty subdirectory is met: its name, or None when the listing is done."""
    assert frame.fd is not None and frame.names is not None
    for name in frame.names:
        st = lstat_at(frame.fd, name)
        if st is None:
            continue
        if not stat.S_ISDIR(st.st_mode):
            _unlink(frame.fd, name)
            continue
        try:
            os.rmdir(name, dir_fd=frame.fd)
            continue
        except FileNotFoundError:
            continue
        except PermissionError:
            _make_writable(frame.fd)
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=frame.fd)
                continue
        except OSError:
            pass
        return name
    return None


def _unlink(dir_fd: int, name: str) -> bool:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    except PermissionError:  # the directory is not writable: make it so (it is ours to delete)
        _make_writable(dir_fd)
        os.unlink(name, dir_fd=dir_fd)
    except IsADirectoryError:  # replaced by a directory meanwhile
        return remove_at(dir_fd, name)
    return True


def _listdir_for_removal(fd: int) -> list[str]:
    try:
        return os.listdir(fd)
    except PermissionError:
        _make_writable(fd)
        return os.listdir(fd)


def _open_for_removal(parent_fd: int, name: str) -> int:
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except PermissionError:  # a directory made unreadable (chmod 000) by its owner
        _chmod_dir_at(parent_fd, name)
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise TreeMoved(errno.ELOOP, f"{name} became a symbolic link") from None
        raise


def _make_writable(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o700)


def _chmod_dir_at(parent_fd: int, name: str) -> None:
    """chmod 700 the directory ``name`` without following a link put in its place:
    through an O_PATH descriptor of exactly that directory (Linux)."""
    o_path = getattr(os, "O_PATH", 0)
    if not o_path:
        return
    fd = os.open(name, o_path | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    try:
        with contextlib.suppress(OSError):
            os.chmod(f"/proc/self/fd/{fd}", 0o700)
    finally:
        os.close(fd)
