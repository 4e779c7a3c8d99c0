"""Precision / recall of `boilerplate.strip` removals on seeds/, against tests/golden/strip/*.json.

    .venv/bin/python scripts/eval_strip.py [SEEDS_DIR] [--golden DIR]

For each golden file ({file, with, without}, trafilatura's format): strip runs on the seed
(seed 004 as repair hands it over: pinyin annotations removed), then
- junk removed  = characters of "without" snippets absent from the output (true removals),
- body removed  = characters of "with" snippets absent from the output (wrong removals),
- precision     = junk removed / (junk removed + body removed),
- recall        = junk removed / all "without" characters.
Figures are printed per seed and overall, with the speed of strip on the seeds (MB/s, text
input). Gate: exits 1 when overall precision or recall falls below the pinned floors, or when
the golden files changed without the pin being updated (their sha256 is pinned below, so a
floor cannot be met by editing the golden lists). Exits 0 with "skipped: …" when the seeds
directory is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

from cleaners.boilerplate import StripConfig, strip
from cleaners.model import Document, Source

ROOT = Path(__file__).resolve().parents[1]
# Floors: every junk block of issue #5 is removed and no body sentence is (seeds, 2026-11).
MIN_PRECISION = 1.0
MIN_RECALL = 1.0
# sha256 over the golden files (sorted by name, concatenated bytes) the floors were set on.
GOLDEN_SHA256 = "4ed363d711ff0c4e2d0faf7174fa3a22e207d41ad1640c13e7be9ebd8628bfeb"
ANNOTATION = re.compile(r"(?<=[\u3400-\u9fff])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")


def golden_sha256(golden_dir: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(golden_dir.glob("*.json")):
        h.update(path.read_bytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seeds", type=Path, nargs="?", default=ROOT / "seeds")
    ap.add_argument("--golden", type=Path, default=ROOT / "tests" / "golden" / "strip")
    ap.add_argument("--print-sha", action="store_true", help="print the golden sha256 and exit")
    args = ap.parse_args(argv)
    if args.print_sha:
        print(golden_sha256(args.golden))
        return 0
    if not args.seeds.is_dir():
        print(f"skipped: corpus not found at {args.seeds}")
        return 0
    strip(Document(Source("warm-up", "", 0), text="標題\n正文。"), StripConfig())  # builds the fold table
    junk_total = junk_removed = body_removed = 0
    total_bytes, seconds = 0, 0.0
    print(f"{'seed':<28} {'junk removed':>14} {'body removed':>13} {'precision':>9} {'recall':>7}")
    for path in sorted(args.golden.glob("*.json")):
        golden = json.loads(path.read_text(encoding="utf-8"))
        seed = args.seeds / Path(golden["file"]).name
        if not seed.exists():
            print(f"{seed.name:<28} missing")
            continue
        text = seed.read_text(encoding="utf-8")
        if golden.get("deannotate"):
            text = ANNOTATION.sub("", text)
        doc = Document(Source.from_bytes(str(seed), text.encode()), text=text)
        start = time.perf_counter()
        out = strip(doc, StripConfig()).text
        seconds += time.perf_counter() - start
        total_bytes += len(text.encode())
        jt = sum(len(w) for w in golden["without"])
        jr = sum(len(w) for w in golden["without"] if w not in out)
        br = sum(len(w) for w in golden["with"] if w not in out)
        junk_total, junk_removed, body_removed = junk_total + jt, junk_removed + jr, body_removed + br
        p = jr / (jr + br) if jr + br else 1.0
        r = jr / jt if jt else 1.0
        print(f"{seed.name:<28} {jr:>6}/{jt:<7} {br:>13} {p:>9.3f} {r:>7.3f}")
    precision = junk_removed / (junk_removed + body_removed) if junk_removed + body_removed else 1.0
    recall = junk_removed / junk_total if junk_total else 1.0
    print(f"{'overall':<28} {junk_removed:>6}/{junk_total:<7} {body_removed:>13} {precision:>9.3f} "
          f"{recall:>7.3f}")
    if seconds:
        mb = total_bytes / 1e6
        print(f"speed: {mb:.3f} MB in {seconds:.3f} s = {mb / seconds:.1f} MB/s (text input)")
    sha = golden_sha256(args.golden)
    failures = []
    if precision < MIN_PRECISION:
        failures.append(f"precision {precision:.3f} < floor {MIN_PRECISION}")
    if recall < MIN_RECALL:
        failures.append(f"recall {recall:.3f} < floor {MIN_RECALL}")
    if sha != GOLDEN_SHA256:
        failures.append(f"golden files changed (sha256 {sha}); review them and update GOLDEN_SHA256")
    for failure in failures:
        print(f"GATE FAILED: {failure}")
    if not failures:
        print(f"gate passed: precision >= {MIN_PRECISION}, recall >= {MIN_RECALL}, golden {sha[:12]}")
    return 1 if failures else 0


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
