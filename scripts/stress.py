"""Stress: the heavy versions of the reliability suite (issue #23), printing figures.

    python scripts/stress.py [--near 10000] [--near-timeout 300] [--lock-trials 5000] [--kills 25]

1. Peak RSS and time of `docclean run` on each hostile kind at the default limits, just under
   and just over each limit, plus the issue's cases: a 1 GiB file, 20 and 50 MB single lines,
   14 MB of `&amp;lt;` (all must stay under 500 MB and end with exit 0).
2. N near-identical short texts in one run (cross-document dedup cost; issue #16 territory).
3. The writer lock raced by real processes: double holders in --lock-trials trials.
4. `kill -9` at --kills random moments, then reruns (tests/reliability/test_kill.py, heavier).
Exits 1 when a hostile kind goes over 500 MB or a run fails, or a lock trial has two holders.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "reliability"))

import hostile  # noqa: E402

from cleaners.config import LimitsConfig  # noqa: E402

DOCCLEAN = Path(sys.executable).parent / "docclean"
MAX_RSS_MB = 500


def measured(argv: list[str], timeout: float | None = None) -> tuple[int | None, float, float, str]:
    """(exit code or None on timeout, peak RSS MB of the run and its workers, seconds, output tail)."""
    probe = ("import json, resource, subprocess, sys, time\n"
             "t = time.monotonic()\n"
             "timeout = float(sys.argv[1]) or None\n"
             "try:\n"
             "    p = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=timeout)\n"
             "    code, out = p.returncode, p.stdout[-400:] + p.stderr[-400:]\n"
             "except subprocess.TimeoutExpired:\n"
             "    code, out = None, 'timed out'\n"
             "print(json.dumps([code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,"
             " time.monotonic() - t, out]))\n")
    proc = subprocess.run([sys.executable, "-c", probe, str(timeout or 0), *argv],
                          capture_output=True, text=True, check=True)
    code, rss, seconds, out = json.loads(proc.stdout)
    return code, rss, seconds, out


def fate(root: Path) -> str:
    lines = [json.loads(x) for f in root.glob("run-*/v1/content/metadata/dispositions.jsonl")
             for x in f.read_text().splitlines()]
    if not lines:
        return "-"
    kinds = {(d["disposition"], d.get("reason")) for d in lines}
    return ", ".join(f"{a}" + (f" ({b})" if b else "") for a, b in sorted(kinds, key=str))


def hostile_kinds(work: Path) -> bool:
    limits = LimitsConfig()
    cases: list[tuple[str, Path]] = []
    under_over = {
        "entity_flood": (limits.max_char_references - 1000, limits.max_char_references + 1),
        "entity_flood_html": (limits.max_char_references - 1000, limits.max_char_references + 1),
        "long_line": (limits.max_text_chars - 10_000, limits.max_text_chars + 10),
        "long_line_html": (limits.max_text_chars - 10_000, limits.max_text_chars + 10),
        "deep_nesting": (limits.max_html_elements // 2 - 1000, limits.max_html_elements // 2 + 1),
        "many_elements": (limits.max_html_elements // 2 - 1000, limits.max_html_elements // 2 + 1),
        "many_lines": (limits.max_text_chars // 8 - 1000, limits.max_text_chars // 8 + 1),
        "script_only": (limits.max_input_bytes - 1000, limits.max_input_bytes + 1),
        "binary": (1_000_000, 10_000_000),
    }
    for kind, sizes in under_over.items():
        for label, size in zip(("under", "over"), sizes, strict=True):
            folder = work / f"{kind}-{label}"
            folder.mkdir()
            cases.append((f"{kind} ({label}: {size:,})", hostile.write_kind(folder, kind, size)))
    issue = work / "issue"
    issue.mkdir()
    cases.append(("1 GiB file (sparse)", hostile.write_oversized(issue, 1 << 30)))
    for mb in (20, 50):
        path = issue / f"line-{mb}mb.txt"
        path.write_bytes(hostile.long_line(mb * 1024 * 1024 // 3))
        cases.append((f"{mb} MB single line", path))
    path = issue / "entities-14mb.txt"
    path.write_bytes(b"&amp;lt;" * (14 * 1024 * 1024 // 9))
    cases.append(("14 MB of &amp;lt;", path))
    ok = True
    print(f"{'hostile input':<34} {'bytes':>13} {'peak RSS MB':>12} {'seconds':>8}  fate")
    for name, path in cases:
        root = path.with_name(path.name + ".archive")
        code, rss, seconds, out = measured([str(DOCCLEAN), "run", str(path), "--archive", str(root),
                                            "--quiet", "--jobs", "1"])
        good = code == 0 and rss < MAX_RSS_MB
        ok &= good
        print(f"{name:<34} {path.stat().st_size:>13,} {rss:>12.0f} {seconds:>8.1f}  "
              f"{fate(root)}{'' if good else '  <-- FAIL ' + out}")
    return ok


def near_duplicates(work: Path, n: int, timeout: float) -> None:
    folder = work / "near"
    folder.mkdir()
    base = hostile.good_text(1) * 3
    for i in range(n):
        (folder / f"near-{i:05d}.txt").write_text(base + f"第{i}版。\n", encoding="utf-8")
    code, rss, seconds, _out = measured([str(DOCCLEAN), "run", str(folder), "--archive",
                                         str(work / "near-archive"), "--quiet", "--jobs", "2"], timeout)
    state = "timed out" if code is None else f"exit {code}"
    print(f"{n:,} near-identical short texts: {state} after {seconds:.0f} s, peak RSS {rss:.0f} MB")


def lock_trials(work: Path, trials: int) -> bool:
    from test_lock import race

    from archive import ocfl

    root = work / "lock"
    ocfl.init_root(root)
    start = time.monotonic()
    doubles, wins, states = race(root, trials)
    bad = sum(w != 1 for w in wins)
    print(f"writer lock: {trials:,} raced trials (3 processes; no lock, stale lock, stale bare pid, "
          f"old empty lock): {doubles} double holders, {bad} trials without exactly one holder, "
          f"{time.monotonic() - start:.1f} s")
    return doubles == 0 and bad == 0


def kills(n: int) -> bool:
    env = {**os.environ, "DOCCLEAN_KILLS": str(n), "DOCCLEAN_KILL_SEED": str(int(time.time()))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                           str(REPO / "tests/reliability/test_kill.py::test_kill_9_at_random_moments_then_rerun")],
                          env=env, capture_output=True, text=True, cwd=REPO)
    moments = [line for line in proc.stdout.splitlines() if line.startswith("kills")]
    verdict = "identical record set, audit sound" if proc.returncode == 0 else "FAILED"
    print(f"kill -9 at {n} random moments then rerun: {verdict}")
    for line in moments:
        print("  " + line)
    if proc.returncode:
        print(proc.stdout[-3000:])
    return proc.returncode == 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # The issue's figure. Before clusters and the streaming run store (issue #16) it peaked at
    # 5.8 GB before the timeout; now about 50 s at ~150 MB on 2 cores.
    p.add_argument("--near", type=int, default=10_000, help="near-identical texts (0: skip)")
    p.add_argument("--near-timeout", type=float, default=300.0, help="seconds before giving up")
    p.add_argument("--lock-trials", type=int, default=5_000)
    p.add_argument("--kills", type=int, default=25)
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)     # the lock race takes over stale locks by design
    ok = True
    with tempfile.TemporaryDirectory(prefix="docclean-stress-") as tmp:
        work = Path(tmp)
        ok &= hostile_kinds(work)
        ok &= lock_trials(work, args.lock_trials)
        ok &= kills(args.kills)
        if args.near:
            near_duplicates(work, args.near, args.near_timeout)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"stress: {'all figures within bounds' if ok else 'FAILED'} (this script's own peak {peak:.0f} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
