from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from repl.cooldown import Cooldown


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def test_not_started_shows_full_period_and_is_not_expired() -> None:
    cd = Cooldown(300, FakeClock())
    assert not cd.started
    assert cd.remaining() == 300
    assert not cd.expired
    assert cd.fraction == 1.0


def test_touch_starts_and_time_runs_down_to_expiry() -> None:
    clock = FakeClock()
    cd = Cooldown(300, clock)
    cd.touch()
    clock.advance(100)
    assert cd.remaining() == pytest.approx(200)
    assert cd.fraction == pytest.approx(2 / 3)
    assert not cd.expired
    clock.advance(200)
    assert cd.remaining() == 0
    assert cd.expired
    clock.advance(50)
    assert cd.remaining() == 0  # never negative
    assert cd.fraction == 0


def test_every_touch_resets_the_timer() -> None:
    clock = FakeClock()
    cd = Cooldown(300, clock)
    cd.touch()
    clock.advance(299)
    cd.touch()
    clock.advance(299)
    assert cd.remaining() == pytest.approx(1)
    assert not cd.expired


def test_sync_from_server_expire_at_corrects_drift() -> None:
    clock = FakeClock()
    cd = Cooldown(300, clock)
    cd.touch()
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    cd.sync(now + timedelta(seconds=250), now)
    assert cd.remaining() == pytest.approx(250)
    clock.advance(50)
    assert cd.remaining() == pytest.approx(200)
    # naive datetimes are taken as UTC
    cd.sync(datetime(2026, 1, 1, 12, 1), datetime(2026, 1, 1, 12, 0))
    assert cd.remaining() == pytest.approx(60)


def test_sync_with_expire_at_in_the_past_is_expired() -> None:
    cd = Cooldown(300, FakeClock())
    now = datetime.now(UTC)
    cd.sync(now - timedelta(seconds=5), now)
    assert cd.expired and cd.remaining() == 0


def test_set_period_and_reset() -> None:
    clock = FakeClock()
    cd = Cooldown(300, clock)
    cd.touch()
    cd.set_period(60)
    assert cd.period_s == 60
    assert cd.remaining() == pytest.approx(60)  # clamped to the new period
    cd.set_period(3600)
    assert cd.remaining() == pytest.approx(60)  # a longer period keeps the deadline
    assert cd.fraction == pytest.approx(60 / 3600)
    cd.reset()
    assert not cd.started and cd.remaining() == 3600


def test_snapshot_restore_undoes_a_touch() -> None:
    clock = FakeClock()
    cd = Cooldown(300, clock)
    snap = cd.snapshot()
    cd.touch()
    cd.restore(snap)
    assert not cd.started


def test_period_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Cooldown(0)
