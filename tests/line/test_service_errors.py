"""Service errors print clearly and never end the loop."""

from __future__ import annotations

from repl.config import Settings

from .conftest import engine_for, free_port, run_repl


async def test_closed_port_prints_service_error_and_loop_goes_on(tmp_path, data_dir):
    port = free_port()  # nothing listens there
    settings = Settings(endpoint=f"http://127.0.0.1:{port}", token="sekrit-token-value")
    async with engine_for(settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            m = h.mark()
            h.type("1 + 1\r")
            await h.wait_for("service error", after=m)
            screen = h.since(m)
            assert engine.transcript.cells[-1].error  # the engine recorded a service failure
            assert f"127.0.0.1:{port}" in screen  # the message says where it tried
            assert "✓" not in screen
            # the loop is alive: a dot-command still answers
            m = h.mark()
            h.type(".help\r")
            await h.wait_for(".export", after=m)
            assert await h.exit() == 0
        assert "sekrit-token-value" not in h.output.raw
        assert "sekrit-token-value" not in (data_dir / "history.jsonl").read_text()
