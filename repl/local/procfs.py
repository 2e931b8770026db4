"""What ``/proc`` says about a kernel's processes: identity, tree, memory, CPU time.

The memory and CPU watchdog of :mod:`repl.local.kernel` samples a kernel's
whole process tree (the sandbox's own processes, Node, and whatever Node
started), because with the OS sandbox a session may start child processes.
Linux only; elsewhere every function answers "unknown" (None, empty).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# A tree deeper or wider than this is not walked further (a fork bomb is the
# memory watchdog's business through the processes it does see).
MAX_TREE = 4096


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/<pid>/stat`` (after the command name), None when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return raw.rsplit(b") ", 1)[-1].decode("ascii", "replace").split()


def process_tag(pid: int) -> str | None:
    """``"<pid> <start time>"`` of a live process (the start time tells a reused pid apart)."""
    fields = _stat_fields(pid)
    return f"{pid} {fields[19]}" if fields is not None and len(fields) > 19 else None


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (those its main thread started, or adopted as a
    namespace's init), from ``/proc/<pid>/task/<pid>/children``."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def host_pid_of(root: int, ns_pid: int, depth: int = 3) -> int | None:
    """The host pid of the process in ``root``'s tree (``depth`` levels down) that
    sees itself as ``ns_pid`` in its own, deeper PID namespace (the last ``NSpid``
    of ``/proc/<pid>/status``); None when there is none."""
    level = [root]
    for _ in range(depth):
        level = [child for pid in level for child in children(pid)][:MAX_TREE]
        for pid in level:
            try:
                with open(f"/proc/{pid}/status", "rb") as f:
                    status = f.read()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith(b"NSpid:"):
                    ids = line.split()[1:]
                    if len(ids) > 1 and ids[-1] == str(ns_pid).encode():
                        return pid
                    break
    return None


@dataclass(slots=True)
class TreeUsage:
    rss: int  # bytes resident, summed over the tree (shared pages counted per process)
    cpu: float  # seconds of CPU, the tree's own plus that of its reaped children
    processes: int


def tree_usage(root: int) -> TreeUsage | None:
    """Memory and CPU of ``root`` and all its descendants; None once ``root`` is gone."""
    rss = 0
    ticks = 0
    seen = 0
    stack = [root]
    while stack and seen < MAX_TREE:
        pid = stack.pop()
        fields = _stat_fields(pid)
        if fields is None or len(fields) < 22:
            if pid == root:
                return None
            continue
        if fields[0] == "Z":  # a zombie holds no memory; its CPU time moves to its parent
            continue
        seen += 1
        try:
            ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
            rss += int(fields[21]) * PAGE_SIZE
        except ValueError:
            continue
        stack.extend(children(pid))
    return TreeUsage(rss=rss, cpu=ticks / CLOCK_TICKS, processes=seen)
