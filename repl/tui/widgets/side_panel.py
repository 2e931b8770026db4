"""The side panel: endpoint, session identifier (copyable), pool status, the
cooldown countdown and a sparkline of recent round trips."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from repl.tui.app import acajs_app
from repl.tui.widgets.countdown import Countdown

if TYPE_CHECKING:
    from repl.api.models import PoolStatus

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int) -> Text:
    """The last ``width`` values as one bar character each (the newest on the
    right), scaled from the smallest to the largest shown; equal values sit in
    the middle."""
    shown = list(values)[-width:] if width > 0 else []
    if not shown:
        return Text()
    low, high = min(shown), max(shown)
    span = high - low
    out = []
    for v in shown:
        level = len(BARS) // 2 if span <= 0 else round((v - low) / span * (len(BARS) - 1))
        out.append(BARS[level])
    return Text("".join(out))


def pool_lines(status: PoolStatus | None) -> list[tuple[str, str]]:
    """(label, value) rows for a :class:`repl.api.models.PoolStatus`."""
    if status is None:
        return [("status", "loading…")]

    def val(v: object) -> str:
        return "?" if v is None else str(v)

    in_use = status.sessions_in_use
    maximum = status.max_sessions
    sessions = f"{val(in_use)} of {val(maximum)}"
    egress = status.egress
    if egress:
        egress = {"egressenabled": "enabled", "egressdisabled": "disabled"}.get(egress.lower(), egress)
    rows = [
        ("container", val(status.container_type)),
        ("runtime", val(status.runtime)),
        ("kernel", val(status.kernel)),
        ("sessions", sessions),
        ("ready", val(status.ready_sessions)),
        ("egress", val(egress)),
        ("state", val(status.provisioning_state)),
    ]
    for note in status.notes:
        rows.append(("note", note))
    return rows


class SidePanel(VerticalScroll, can_focus=True):
    HELP = """\
## Side panel

Where you are connected, the session identifier (press **c** to copy it), the
pool's status (polled with pool-level calls only, so it never keeps your
session alive), the cooldown countdown and recent round-trip times.
"""

    BINDINGS = [
        Binding("c", "copy_identifier", "Copy identifier", id="panel.copy_identifier"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._round_trips: list[float] = []
        self.countdown = Countdown(id="countdown")

    def compose(self) -> ComposeResult:
        yield Label("Endpoint", classes="panel-title")
        yield Static(id="panel-endpoint", classes="panel-value")
        yield Label("Session", classes="panel-title")
        yield Static(id="panel-identifier", classes="panel-value")
        yield Label("Cooldown", classes="panel-title")
        yield self.countdown
        yield Label("Pool", classes="panel-title")
        yield Static(id="panel-pool", classes="panel-value")
        yield Label("Round trips", classes="panel-title")
        yield Static(id="round-trips", classes="panel-value")
        yield Static(id="round-trip-text", classes="panel-value")

    def on_mount(self) -> None:
        self.show_connection("connecting…", None)
        self.show_pool(None)
        self.show_round_trips([])

    def show_connection(self, endpoint: str, identifier: str | None) -> None:
        shown = acajs_app(self.app).shown  # presenter mode hides identifiers
        self.query_one("#panel-endpoint", Static).update(Text(shown(endpoint)))
        self.query_one("#panel-identifier", Static).update(
            Text.assemble(shown(identifier or "—"), ("  [c] copy" if identifier else "", "dim"))
        )

    def show_pool(self, status: PoolStatus | None, error: str | None = None) -> None:
        shown = acajs_app(self.app).shown
        text = Text()
        if error:
            text.append(shown(error), style="italic")
        else:
            rows = pool_lines(status)
            width = max(len(k) for k, _ in rows)
            for i, (k, v) in enumerate(rows):
                if i:
                    text.append("\n")
                text.append(k.ljust(width) + " ", style="dim")
                text.append(shown(v))
        self.query_one("#panel-pool", Static).update(text)

    def show_round_trips(self, values: list[float]) -> None:
        self._round_trips = list(values)
        bars = self.query_one("#round-trips", Static)
        bars.update(sparkline(self._round_trips, self._bar_width()))
        bars.display = bool(values)
        if values:
            last = values[-1]
            text = f"last {last:.0f} ms · min {min(values):.0f} · max {max(values):.0f}"
        else:
            text = "no runs yet"
        self.query_one("#round-trip-text", Static).update(Text(text, style="dim"))

    def _bar_width(self) -> int:
        width = self.scrollable_content_region.width
        return width if width > 0 else 30

    def on_resize(self) -> None:
        if self._round_trips:
            self.query_one("#round-trips", Static).update(sparkline(self._round_trips, self._bar_width()))

    def action_copy_identifier(self) -> None:
        from repl.tui.screens.main import ReplScreen  # the screen imports this module

        if isinstance(self.screen, ReplScreen):
            self.screen.action_copy_identifier()
