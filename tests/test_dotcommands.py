from __future__ import annotations

import pytest

from repl.dotcommands import COMMANDS, DotCommandError, help_text, is_dot_command, parse


@pytest.mark.parametrize(
    "line, name, args",
    [
        (".help", "help", ()),
        ("  .new  ", "new", ()),
        (".session abc-123", "session", ("abc-123",)),
        (".delete", "delete", ()),
        (".files", "files", ()),
        (".upload data.csv", "upload", ("data.csv",)),
        ('.upload "my file.csv"', "upload", ("my file.csv",)),
        (".download out.png", "download", ("out.png",)),
        (".download out.png ./here.png", "download", ("out.png", "./here.png")),
        (".load script.js", "load", ("script.js",)),
        (".save all.js", "save", ("all.js",)),
        (".export t.md", "export", ("t.md",)),
        (".clear", "clear", ()),
        (".editor", "editor", ()),
        (".ed", "editor", ()),  # unique prefix, like Node
        (".exit", "exit", ()),
        (".EXIT", "exit", ()),
    ],
)
def test_parse_commands(line: str, name: str, args: tuple[str, ...]) -> None:
    cmd = parse(line)
    assert cmd is not None
    assert cmd.name == name
    assert cmd.args == args


@pytest.mark.parametrize(
    "line",
    [
        ".5 + 1",
        "1 + 1",
        "a.b",
        ".x = 1",
        ".foo()",
        "[1,2].map(x => x)\n.filter(Boolean)",
        ".help\nmore",  # multi-line is code
        "",
        "  ",
        "x.exit",
    ],
)
def test_javascript_is_not_a_command(line: str) -> None:
    assert parse(line) is None
    assert not is_dot_command(line)


@pytest.mark.parametrize(
    "line, needle",
    [
        (".session", "Usage: .session ID"),
        (".upload", "Usage: .upload PATH"),
        (".download", "Usage: .download NAME [DEST]"),
        (".download a b c", "at most 2"),
        (".help me", "Usage: .help"),
        (".load", "needs FILE"),
        (".export", "FILE.md"),
        ('.upload "unclosed', "Usage: .upload PATH"),
        (".frobnicate", "Unknown command .frobnicate"),
        (".e", "Ambiguous"),
    ],
)
def test_usage_errors(line: str, needle: str) -> None:
    with pytest.raises(DotCommandError) as info:
        parse(line)
    assert needle in str(info.value)
    assert is_dot_command(line)


def test_help_lists_every_command() -> None:
    text = help_text()
    names = [c.name for c in COMMANDS]
    assert names == [
        "help", "new", "session", "delete", "replay", "files", "upload", "download",
        "load", "save", "export", "play", "clear", "editor", "break", "exit",
    ]
    for c in COMMANDS:
        assert c.usage in text
        assert c.summary in text


def test_delete_runs_only_when_typed_in_full() -> None:
    assert parse(".delete").name == "delete"
    for prefix in (".del", ".dele", ".delet"):
        with pytest.raises(DotCommandError, match=r"\.delete in full"):
            parse(prefix)
        assert is_dot_command(prefix)  # never sent as JavaScript either
    with pytest.raises(DotCommandError, match="Ambiguous"):
        parse(".d")  # .delete, .download
