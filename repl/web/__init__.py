"""``acajs-repl web``: the same Textual app, served to a browser.

`textual-serve <https://github.com/Textualize/textual-serve>`_ does the work:
for every browser tab that connects it starts the app as a child process
(``python -m repl.web.app_process`` with the REPL's flags forwarded) under
Textual's web driver, and relays the terminal stream over a websocket to
xterm.js in the page. So everything the terminal app does (keys, palette, side
panel, countdown, themes) works in the browser unchanged; browser zoom gives
the large font a projector needs.

textual-serve has no access control of its own: anyone who can reach the port
gets a REPL (which runs code in your sessions), and any web page you visit
could open its websocket (browsers let any site connect to
``ws://127.0.0.1:PORT``). :mod:`repl.web.server` wraps it in a gate:

- a token in the URL printed at start (``/?token=...``) is exchanged for an
  HttpOnly, ``SameSite=Strict`` cookie and dropped from the address bar; every
  request (page, static files, websocket, downloads) needs that cookie;
- the websocket also needs an ``Origin`` equal to the page's own
  (cross-site websocket hijacking);
- bound to loopback (the default), the ``Host`` header must name the loopback
  address (DNS rebinding); another address needs ``--allow-remote``;
- no access log (URLs carry the token), no third-party fonts, no framing.

The module needs the ``web`` extra (``pip install 'acajs-repl[web]'``):
textual-serve brings aiohttp and jinja2, which nothing else here uses.
"""

from __future__ import annotations

WEB_EXTRA_HINT = "acajs-repl web needs the web extra: pip install 'acajs-repl[web]'"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name to listen on) is this machine only."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")
