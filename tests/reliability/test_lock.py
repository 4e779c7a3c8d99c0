"""The writer lock is exclusive (issue #23): real processes race for it, 1,000 times, from no
lock, a lock left by a dead writer (both formats) and an old empty lock file; `--wait` queues
behind a live writer; the work cleaned before a conflict is kept."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive import flow, ocfl
from archive.cli import main

TRIALS = 1000
RACERS = 3
DOCCLEAN = Path(sys.executable).parent / "docclean"


def _racer(root: str, trials: int, barrier, held, doubles, wins) -> None:
    for trial in range(trials):
        barrier.wait()                                     # the trial's starting state is set
        try:
            with ocfl.writer_lock(Path(root)):
                with held.get_lock():
                    held.value += 1
                    if held.value > 1:
                        doubles.value += 1
                wins[trial] += 1
                barrier.wait()                             # every racer has tried meanwhile
                with held.get_lock():
                    held.value -= 1
        except ocfl.LockHeld:
            barrier.wait()
        barrier.wait()                                     # the trial is over


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def race(root: Path, trials: int, racers: int = RACERS) -> tuple[int, list[int], list[str]]:
    """(double holders, holders per trial, starting state per trial)."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(racers + 1)
    held, doubles = ctx.Value("i", 0), ctx.Value("i", 0)
    wins = ctx.Array("i", trials)
    lock = ocfl.workspace(root) / ocfl.LOCK
    gone = dead_pid()
    host = socket.gethostname()
    states = ["none", "stale", "stale-bare-pid", "old-empty"]
    procs = [ctx.Process(target=_racer, args=(str(root), trials, barrier, held, doubles, wins))
             for _ in range(racers)]
    for p in procs:
        p.start()
    try:
        for trial in range(trials):
            state = states[trial % len(states)]
            lock.unlink(missing_ok=True)
            if state == "stale":
                lock.write_text(json.dumps({"pid": gone, "host": host, "start": 1}))
            elif state == "stale-bare-pid":
                lock.write_text(str(gone))
            elif state == "old-empty":
                lock.write_text("")
                old = time.time() - ocfl.GARBLED_LOCK_GRACE - 10
                os.utime(lock, (old, old))
            barrier.wait(timeout=60)
            barrier.wait(timeout=60)
            barrier.wait(timeout=60)
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    return doubles.value, list(wins), [states[t % len(states)] for t in range(trials)]


def test_no_two_writers_ever_hold_the_lock(tmp_path):
    root = tmp_path / "a"
    ocfl.init_root(root)
    doubles, wins, states = race(root, TRIALS)
    assert doubles == 0
    assert wins == [1] * TRIALS, [(s, w) for s, w in zip(states, wins, strict=True) if w != 1][:5]
    assert not (ocfl.workspace(root) / ocfl.LOCK).exists()


def test_a_live_or_foreign_lock_is_never_taken(tmp_path):
    root = tmp_path / "a"
    ocfl.init_root(root)
    lock = ocfl.workspace(root) / ocfl.LOCK
    for holder in ({"pid": os.getppid(), "host": socket.gethostname(), "start": None},
                   {"pid": dead_pid(), "host": "another-machine", "start": 1}, ""):
        lock.write_text(holder if isinstance(holder, str) else json.dumps(holder))  # young, empty
        start = time.monotonic()
        with pytest.raises(ocfl.LockHeld):
            with ocfl.writer_lock(root, wait=0.3):
                pass
        assert time.monotonic() - start >= 0.3                    # it queued before giving up
        assert lock.exists()


def test_wait_queues_behind_a_writer_and_parks_work_on_a_conflict(seed_paths, tmp_path, capsys):
    root = tmp_path / "a"
    ocfl.init_root(root)
    lock = ocfl.workspace(root) / ocfl.LOCK
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(json.dumps(ocfl.holder_record() | {"pid": holder.pid,
                                                           "start": ocfl._start_time(holder.pid)}))
        # without --wait: fails at once, but the cleaned results are parked ...
        assert main(["run", *map(str, seed_paths), "--archive", str(root), "--quiet"]) == 1
        assert "kept in" in capsys.readouterr().err
        (parked,) = (root / ocfl.EXTENSIONS / ocfl.STAGING).glob("parked-*")
        # ... and a run that queues gets the lock once the writer is gone, without cleaning again
        waiter = subprocess.Popen([str(DOCCLEAN), "run", *map(str, seed_paths), "--archive", str(root),
                                   "--quiet", "--wait", "30"], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert waiter.poll() is None                                 # queued
    finally:
        holder.kill()
        holder.wait()
    out, _ = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, out
    assert "5 archived" in out
    assert not parked.exists() and not list(parked.parent.glob("cli-*"))
    run = json.loads(next(root.glob("run-*/v1/content/metadata/run.json")).read_text())
    assert run["counts"]["records"] == 5


def test_staging_of_killed_runs_is_reported_then_swept(seed_paths, tmp_path, capsys):
    root = tmp_path / "a"
    assert main(["run", str(seed_paths[0]), "--archive", str(root), "--quiet"]) == 0
    left = flow.staging_dir(root, f"cli-{dead_pid()}-20260101T000000")
    (left / "raw").mkdir()
    (left / "raw" / "x").write_bytes(b"x" * 1000)
    (left / flow.OWNER).write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname(),
                                               "start": 1}))
    legacy = flow.staging_dir(root, f"cli-{dead_pid()}-20260101T000001")     # no owner file
    live = flow.staging_dir(root, f"cli-{os.getpid()}-20260101T000002")
    capsys.readouterr()
    assert main(["audit", str(root)]) == 1
    out = capsys.readouterr().out
    assert left.name in out and legacy.name in out and live.name not in out
    assert main(["run", str(seed_paths[1]), "--archive", str(root), "--quiet"]) == 0
    assert not left.exists() and not legacy.exists() and live.exists()
    live.rmdir()
    capsys.readouterr()
    assert main(["audit", str(root)]) == 0
