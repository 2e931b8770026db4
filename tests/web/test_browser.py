"""The REPL in a real browser: Debian's Chromium, driven by Playwright, on a real
``acajs-repl web`` whose app runs code on the local pool.

What the page shows is read from the terminal stream the page receives over
its websocket (Playwright hands the test each frame), replayed into a pyte
screen of the size the page asked for: xterm.js draws on a canvas, which has no
text to read, and its instance is not reachable from the page. The screenshot
shows what xterm.js drew.
"""

from __future__ import annotations

import json
import re
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyte

from repl.local.embedded import EmbeddedPool
from tests.web.conftest import WebServerProcess, start_web_server, stop_web_server

DEADLINE_S = 60.0
VIEWPORT = {"width": 1200, "height": 800}


class TerminalMirror:
    """The page's terminal, rebuilt from the websocket frames the browser sends and receives."""

    def __init__(self) -> None:
        self.screen: pyte.Screen | None = None
        self.stream: pyte.ByteStream | None = None
        self.pending: list[bytes] = []
        self.sent: list[str] = []

    def attach(self, ws: Any) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload: str | bytes) -> None:
        if not isinstance(payload, str):
            return
        self.sent.append(payload)
        message = json.loads(payload)
        if message[0] == "resize":
            width, height = message[1]["width"], message[1]["height"]
            if self.screen is None:
                self.screen = pyte.Screen(width, height)
                self.stream = pyte.ByteStream(self.screen)
                for data in self.pending:
                    self.stream.feed(data)
            else:
                self.screen.resize(height, width)

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            if self.stream is None:
                self.pending.append(payload)
            else:
                self.stream.feed(payload)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display) if self.screen else ""


def wait_for(page: Any, condition: Callable[[], bool], what: str) -> None:
    """Let the page run until ``condition()`` holds (frames arrive while Playwright waits)."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(100)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_type_run_palette_screenshot(browser: Any, web_server: WebServerProcess, local_pool: EmbeddedPool,
                                     tmp_path: Path) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    mirror = TerminalMirror()
    page.on("websocket", mirror.attach)
    try:
        page.goto(web_server.url)
        assert page.url == f"{web_server.base}/"  # the token is gone from the address bar
        page.wait_for_selector("body.-first-byte", timeout=DEADLINE_S * 1000)
        # The app in the page runs on the endpoint given to `acajs-repl web`
        # (the shared local pool, its token forwarded in the environment).
        pool_host = local_pool.endpoint.split("/")[2]
        wait_for(page, lambda: "JavaScript here" in mirror.text() and pool_host in mirror.text(),
                 "the REPL's editor and header")

        page.click(".xterm")
        page.keyboard.type("6*7")
        page.keyboard.press("Enter")
        wait_for(page, lambda: "Out[1]: 42" in mirror.text(), "Out[1]: 42")
        assert "In [1]" in mirror.text()
        assert any(s == '["stdin","6"]' for s in mirror.sent)  # typed in the page, sent by xterm.js

        # The side panel's countdown runs once the session is used; Ctrl+B toggles the panel.
        wait_for(page, lambda: re.search(r"\d:\d\d left", mirror.text()) is not None, "the countdown")
        page.keyboard.press("Control+b")
        wait_for(page, lambda: "Cooldown" not in mirror.text(), "the side panel to close")
        page.keyboard.press("Control+b")
        wait_for(page, lambda: "Cooldown" in mirror.text(), "the side panel to open")

        page.keyboard.press("Control+p")
        wait_for(page, lambda: "Search for commands" in mirror.text(), "the command palette")
        assert ".help" in mirror.text()

        shot = tmp_path / "web.png"
        page.screenshot(path=str(shot))
        data = shot.read_bytes()
        assert png_size(data) == (VIEWPORT["width"], VIEWPORT["height"])
        assert len(data) > 20_000  # a drawn terminal, not a blank page
    finally:
        context.close()
    # Closing the tab stops its app process.
    deadline = time.monotonic() + DEADLINE_S
    while web_server.children() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert web_server.children() == []


def test_another_site_cannot_open_the_websocket(browser: Any, web_server: WebServerProcess) -> None:
    """Cross-site websocket hijacking: a page on another origin, in a browser
    that holds the REPL's cookie, tries to drive the REPL."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(web_server.url)  # the browser now holds the access cookie
        page.wait_for_selector("body.-first-byte", timeout=DEADLINE_S * 1000)
        page.goto("about:blank")
        evil = "http://evil.test/"
        context.route(evil, lambda route: route.fulfill(status=200, content_type="text/html",
                                                        body="<html><body>hello</body></html>"))
        page.goto(evil)
        ws_url = web_server.base.replace("http://", "ws://") + "/ws?width=80&height=24"
        outcome = page.evaluate(
            """url => new Promise(resolve => {
                const ws = new WebSocket(url);
                ws.onopen = () => resolve("open");
                ws.onerror = () => resolve("refused");
                setTimeout(() => resolve("no answer"), 20000);
            })""",
            ws_url,
        )
        assert outcome == "refused"
        # ... and fetching the page from there gets nothing readable either.
        status = page.evaluate("url => fetch(url, {credentials: 'include'}).then(r => r.status, () => 'blocked')",
                               web_server.base + "/")
        assert status in (403, "blocked")
    finally:
        context.close()
    assert not any("Traceback" in line for line in web_server.output)


def test_font_size_for_a_projector(browser: Any, web_server: WebServerProcess) -> None:
    fontsize = "32"
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    mirror = TerminalMirror()
    page.on("websocket", mirror.attach)
    try:
        page.goto(f"{web_server.url}&fontsize={fontsize}")
        assert page.url == f"{web_server.base}/?fontsize={fontsize}"
        page.wait_for_selector("body.-first-byte", timeout=DEADLINE_S * 1000)
        wait_for(page, lambda: mirror.screen is not None, "the terminal size")
        assert mirror.screen is not None
        # Twice the default font: about half the columns of the 16 px terminal (~120 at 1200 px).
        assert mirror.screen.columns < 70
    finally:
        context.close()


def test_stopping_the_server_stops_the_open_tabs_repls(browser: Any, local_pool: EmbeddedPool,
                                                       web_env: dict[str, str]) -> None:
    server = start_web_server(["--endpoint", local_pool.endpoint], web_env)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    mirror = TerminalMirror()
    page.on("websocket", mirror.attach)
    try:
        page.goto(server.url)
        wait_for(page, lambda: "JavaScript here" in mirror.text(), "the REPL")
        running = server.children()
        assert running  # the tab's app process (through a shell)
        stop_web_server(server)  # SIGTERM with the tab still open
        assert server.proc.returncode == 0
        deadline = time.monotonic() + DEADLINE_S
        while any(alive(pid) for pid in running) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(alive(pid) for pid in running)
        wait_for(page, lambda: page.evaluate("document.body.classList.contains('-closed')"),
                 "the page to say the session ended")
    finally:
        context.close()
        stop_web_server(server)


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
