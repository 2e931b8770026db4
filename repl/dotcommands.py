"""Dot-commands: ``.name args`` typed in the input (and listed in the palette).

``parse(line)`` returns a :class:`DotCommand`, ``None`` when the input is
JavaScript (``.5 + 1``, ``.foo`` for an unknown name that does not look like a
command... see below), or raises :class:`DotCommandError` whose message is the
usage text.

What counts as a dot-command: the first non-space character is ``.`` directly
followed by a letter, the whole input is one line, and the word after the dot
is a known command name (or a unique prefix of one, like Node's ``.ed``).
An unknown word made of letters only (``.frob``) raises ``DotCommandError``
("unknown command, see .help") so typos are not sent as JavaScript; anything
else (``.5``, ``.foo()``, ``.x = 1``, multi-line input) is JavaScript.

:data:`COMMANDS` is the registry in display order: each entry carries its
arguments, its help, its handler (an engine operation), whether it waits for
the runs typed before it, and the question to ask before it runs. Adding a
command is one entry here plus its engine operation; ``.help``, the palette,
completion and both front ends follow. :func:`help_text` renders it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    from repl.engine import ReplEngine

Handler: TypeAlias = "Callable[[ReplEngine, DotCommand], CommandResult | Awaitable[CommandResult]]"
Confirm: TypeAlias = "Callable[[ReplEngine, DotCommand], str | None]"


Kind = Literal["info", "error"]
#: What a command asks of the front end beyond showing its message:
#: ``clear`` the screen (running and queued cells stay), toggle ``editor``
#: mode, ``exit``, ``load`` ``data`` into the input, ``session`` changed
#: (refresh the header), ``break`` (drop the pending input), ``help`` (``data``
#: is the command registry, for a front end that draws a table), ``replay``
#: (``data`` is the list of replay cells to run, in order, as queued runs),
#: ``play`` (a play moved: ``data`` is the step's code for the input, or None;
#: the message is the progress, "step 3 of 9").
Action = Literal["clear", "editor", "exit", "load", "session", "break", "help", "replay", "play"]


@dataclass(frozen=True, slots=True)
class CommandResult:
    message: str
    kind: Kind = "info"
    data: Any = None
    action: Action | None = None

    @property
    def ok(self) -> bool:
        return self.kind != "error"


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    optional: bool = False
    local_path: bool = False  # names a file on this machine (completion offers paths)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One dot-command: its arguments, its help, its handler and how it is
    scheduled. Front ends read this registry for ``.help``, the palette and
    completion; they never dispatch on a command's name themselves."""

    name: str
    args: tuple[Arg, ...]
    summary: str
    #: The engine operation (a CommandResult, or an awaitable of one).
    handler: Handler
    #: Waits for the runs submitted before it (a session command typed ahead
    #: runs in order); a command that only changes the screen acts at once.
    queued: bool = True
    #: The question to ask before running it, or None: nothing to confirm.
    confirm: Confirm | None = None

    @property
    def usage(self) -> str:
        parts = [f".{self.name}"]
        for a in self.args:
            parts.append(f"[{a.name}]" if a.optional else a.name)
        return " ".join(parts)

    @property
    def min_args(self) -> int:
        return sum(1 for a in self.args if not a.optional)


@dataclass(frozen=True, slots=True)
class DotCommand:
    name: str
    args: tuple[str, ...] = ()
    spec: CommandSpec | None = None

    def arg(self, i: int, default: str | None = None) -> str | None:
        return self.args[i] if i < len(self.args) else default


class DotCommandError(ValueError):
    """An input that is a dot-command but is not valid; the message says the usage."""


_LOCAL_PATH_ARGS = frozenset({"PATH", "FILE", "DEST"})


def _spec(
    name: str,
    args: str,
    summary: str,
    handler: Handler,
    *,
    queued: bool = True,
    confirm: Confirm | None = None,
) -> CommandSpec:
    parsed = []
    for word in args.split():
        bare = word.strip("[]")
        local = bare.split(".")[0] in _LOCAL_PATH_ARGS
        parsed.append(Arg(bare, optional=word.startswith("["), local_path=local))
    return CommandSpec(name, tuple(parsed), summary, handler, queued=queued, confirm=confirm)


def _replaces_file(engine: ReplEngine, command: DotCommand) -> str | None:
    path = engine.resolve_path(command.args[0])
    if path.is_file():
        return f"{path} exists. Replace it?"
    return None


def _replays(engine: ReplEngine, command: DotCommand) -> str | None:
    plan = engine.replay_plan()
    if plan is None:
        return None  # nothing to replay: the handler says so
    return (
        f"Replay {plan.summary()} from the lost session into session {engine.short_identifier}? "
        f"This sends:\n{plan.preview()}"
    )


def _deletes_session(engine: ReplEngine, command: DotCommand) -> str | None:
    return (
        f"Delete session {engine.short_identifier} on the server? "
        "Its variables and files in /mnt/data are gone for good."
    )


COMMANDS: tuple[CommandSpec, ...] = (
    _spec("help", "", "Show this help", lambda e, c: e.help(), queued=False),
    _spec("new", "", "Start a fresh session (new identifier)", lambda e, c: e.new_session()),
    _spec("session", "ID", "Attach to an existing session identifier", lambda e, c: e.attach(c.args[0])),
    _spec(
        "delete",
        "",
        "Delete the session on the server (state and files are gone)",
        lambda e, c: e.delete_session(),
        confirm=_deletes_session,
    ),
    _spec(
        "replay",
        "",
        "Rebuild a lost session: re-run the inputs that succeeded in it, re-upload its files",
        lambda e, c: e.replay(),
        confirm=_replays,
    ),
    _spec("files", "", "List the files in the session's /mnt/data", lambda e, c: e.list_files()),
    _spec("upload", "PATH", "Upload a local file to /mnt/data", lambda e, c: e.upload(c.args[0])),
    _spec(
        "download",
        "NAME [DEST]",
        "Download a file from /mnt/data (never overwrites DEST)",
        lambda e, c: e.download(c.args[0], c.arg(1)),
    ),
    _spec("load", "FILE", "Load a local .js file into the editor", lambda e, c: e.load(c.args[0]), queued=False),
    _spec(
        "save",
        "FILE",
        "Save the inputs of this session as a .js file",
        lambda e, c: e.save(c.args[0]),
        confirm=_replaces_file,
    ),
    _spec(
        "export",
        "FILE.md",
        "Export the transcript with outputs and timings as Markdown",
        lambda e, c: e.export(c.args[0]),
        confirm=_replaces_file,
    ),
    _spec(
        "play",
        "[FILE]",
        "Play a demo file step by step (.play next, back, skip, stop; PageDown/PageUp)",
        lambda e, c: e.play(c.arg(0)),
        queued=False,
    ),
    _spec("clear", "", "Clear the screen (the session keeps its state)", lambda e, c: e.effect("clear"), queued=False),
    _spec(
        "editor",
        "",
        "Editor mode: Enter inserts a newline, Ctrl+J runs",
        lambda e, c: e.effect("editor"),
        queued=False,
    ),
    _spec("break", "", "Drop the input being typed (a pending block)", lambda e, c: e.effect("break"), queued=False),
    _spec("exit", "", "Exit the REPL", lambda e, c: e.effect("exit"), queued=False),
)
BY_NAME: dict[str, CommandSpec] = {c.name: c for c in COMMANDS}

_COMMAND_RE = re.compile(r"^\s*\.([A-Za-z][A-Za-z_-]*)(?:\s+(.*?))?\s*$", re.DOTALL)


#: Commands that destroy something on the server: never run from a prefix.
EXACT_ONLY = frozenset({"delete"})


def lookup(word: str) -> CommandSpec | None:
    """Exact name, else a unique prefix (``.ed`` → ``.editor``); ``.delete`` only in full."""
    if word in BY_NAME:
        return BY_NAME[word]
    matches = [c for c in COMMANDS if c.name.startswith(word)]
    if len(matches) == 1 and matches[0].name not in EXACT_ONLY:
        return matches[0]
    return None


def is_dot_command(text: str) -> bool:
    """True when :func:`parse` would treat ``text`` as a command (valid or not)."""
    try:
        return parse(text) is not None
    except DotCommandError:
        return True


def parse(line: str) -> DotCommand | None:
    """Parse one input; ``None`` means it is JavaScript, not a command."""
    stripped = line.strip()
    if "\n" in stripped:
        return None  # a multi-line block is always code
    m = _COMMAND_RE.match(stripped)
    if m is None:
        return None
    word, rest = m.group(1), m.group(2) or ""
    spec = lookup(word.lower())
    if spec is None:
        if rest == "" and word.isalpha():
            candidates = [c.usage for c in COMMANDS if c.name.startswith(word.lower())]
            if len(candidates) == 1:  # a prefix of a command that must be typed in full
                raise DotCommandError(f"Type {candidates[0]} in full (it cannot be undone)")
            if candidates:
                raise DotCommandError(f"Ambiguous command .{word}: " + ", ".join(candidates))
            raise DotCommandError(f"Unknown command .{word}: type .help for the list")
        return None  # `.foo bar` etc.: let the server judge it as code
    try:
        args = tuple(shlex.split(rest)) if rest else ()
    except ValueError as exc:  # unbalanced quotes
        raise DotCommandError(f"{exc}. Usage: {spec.usage}") from None
    if len(args) < spec.min_args:
        missing = spec.args[len(args)].name
        raise DotCommandError(f".{spec.name} needs {missing}. Usage: {spec.usage}")
    if len(args) > len(spec.args):
        raise DotCommandError(f".{spec.name} takes at most {len(spec.args)} argument(s). Usage: {spec.usage}")
    return DotCommand(spec.name, args, spec)


def help_text() -> str:
    width = max(len(c.usage) for c in COMMANDS)
    lines = ["Commands:"]
    for c in COMMANDS:
        lines.append(f"  {c.usage.ljust(width)}  {c.summary}")
    lines.append("")
    lines.append("Anything else is JavaScript, sent to the session. Paths with spaces: quote them.")
    return "\n".join(lines)
