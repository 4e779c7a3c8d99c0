"""How long the HTML report of a large run takes to build (issue: a 10,000-document run in < 30 s).

    python scripts/bench_report.py [--docs 10000] [--jobs 2] [--limit 200] [--keep DIR]

Generates DOCS distinct short documents from the seeds' sentences (each its own mix, so no two
are near duplicates), archives them with `docclean run`, then builds the report (every index page,
`--limit` document pages, each replaying the pipeline on its document) and prints the figures.
Exits 1 when the build takes longer than the floor.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLOOR_SECONDS = 30.0


def sentences() -> list[str]:
    out = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        out += [s for s in re.split(r"(?<=[。！？])", path.read_text(encoding="utf-8")) if len(s.strip()) >= 12]
    return [s.strip() for s in out]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=10_000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary folder)")
    args = p.parse_args()
    sys.path.insert(0, str(REPO))
    from archive import report

    work = args.keep or Path(tempfile.mkdtemp(prefix="docclean-bench-report-"))
    inbox, root = work / "in", work / "archive"
    pool = sentences()
    rng = random.Random(1)
    if not root.exists():
        for n in range(args.docs):
            sub = inbox / f"{n // 1000:03d}"
            sub.mkdir(parents=True, exist_ok=True)
            body = "".join(rng.sample(pool, 3))
            (sub / f"{n:06d}.txt").write_text(f"第{n}号文件 编号{rng.getrandbits(48):x}\n{body}\n", encoding="utf-8")
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "docclean"), "run", str(inbox), "--archive", str(root),
                        "--jobs", str(args.jobs), "-q"], check=True, stdout=subprocess.DEVNULL)
        print(f"docclean run: {args.docs} documents in {time.perf_counter() - started:.1f} s")
    built = report.build(root, limit=args.limit)
    size = sum(f.stat().st_size for f in built.out.rglob("*.html"))
    print(f"report: {built.index_pages} index pages, {len(built.document_pages)} document pages, "
          f"{size / 1e6:.1f} MB, built in {built.seconds:.1f} s (floor {FLOOR_SECONDS:.0f} s): {built.out}")
    return 0 if built.seconds <= FLOOR_SECONDS else 1


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
