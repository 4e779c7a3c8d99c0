"""Throughput of `script.convert` (issue #6: at least 20 MB/s), printed per target script.

The text is the five seeds concatenated and repeated to about --mb megabytes of UTF-8, one
document (seed 001 in it carries the over-conversion signature, so the phrase table runs too).
Figures: MB of UTF-8 input per second for OpenCC alone and for the whole step (OpenCC +
regional vocabulary + punctuation), best CPU time of --repeat runs, after a warm-up that
builds the cached converters.

    .venv/bin/python scripts/bench_convert.py [SEEDS_DIR] [--mb 10] [--repeat 5] [--floor 20]

Exit status 1 when any target's script.convert figure is below --floor MB/s (issue #6: at
least 20), after printing every figure.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cleaners.model import Document, Source
from cleaners.script import SCRIPTS, ConvertConfig, convert, opencc_info, to_script

DEFAULT_SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def seed_text(seeds: Path, megabytes: float) -> str:
    one = "\n".join(p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt")))
    size = len(one.encode("utf-8"))
    return "\n".join([one] * max(1, round(megabytes * 1e6 / size)))


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """Best CPU seconds of `repeat` runs: CPU time, not wall time, so other processes on a
    shared machine do not count against the step (it is single-threaded)."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="?", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument("--mb", type=float, default=10.0, help="size of the test text (MB)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--floor", type=float, default=20.0,
                        help="exit 1 if script.convert is below this for any target (MB/s)")
    args = parser.parse_args(argv)
    if not args.seeds.is_dir() or not any(args.seeds.glob("*.txt")):
        print(f"skipped: seeds not found at {args.seeds}")
        return 0
    text = seed_text(args.seeds, args.mb)
    mb = len(text.encode("utf-8")) / 1e6
    doc = Document(Source("bench", "0", len(text)), text=text)
    print(f"text: {mb:.1f} MB UTF-8, {len(text):,} characters, {text.count(chr(10)) + 1:,} lines "
          f"(seeds from {args.seeds}); best of {args.repeat}")
    below: list[str] = []
    for target in SCRIPTS:
        cfg = ConvertConfig(target=target)
        convert(Document(doc.source, text="开"), cfg)  # warm-up: build the cached converter
        opencc_s = best_of(args.repeat, functools.partial(to_script, text, target))
        result = convert(doc, cfg)
        step_s = best_of(args.repeat, functools.partial(convert, doc, cfg))
        info = opencc_info(target)
        print(f"{target:5} opencc {info['opencc']} {info['config']:10} "
              f"opencc alone {mb / opencc_s:6.1f} MB/s   script.convert {mb / step_s:6.1f} MB/s   "
              f"({len(result.changes):,} changes)")
        if mb / step_s < args.floor:
            below.append(f"{target} {mb / step_s:.1f}")
    if below:
        print(f"FAIL: below the floor of {args.floor:g} MB/s: {', '.join(below)}")
        return 1
    print(f"ok: every target at least {args.floor:g} MB/s")
    return 0


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
