"""Benchmark: build a corpus of a chosen size, run the pipeline, print MB/s per step and end to end.

    python scripts/bench.py [--mb 5] [--corpus ../shared/corpus] [--jobs 2]

The corpus is made from seeds/ in several encodings (UTF-8, UTF-8 with BOM, UTF-16, GB18030,
Big5-HKSCS), each copy made unique by a numbered line so dedup does not collapse the run, plus,
when --corpus names a folder laid out like ../shared/corpus, its labelled encoding files and
HTML pages. Figures:
- per step: input megabytes (raw bytes) / seconds spent in the step, single process;
- end to end: `docclean run` (clean in --jobs processes, dedup, archive with digests) MB/s;
- peak resident memory of this process and of its worker processes.
Later issues add their floors here (FLOORS): the script exits 1 when a figure is below one.
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archive import batch, flow  # noqa: E402
from archive.reader import discover  # noqa: E402
from cleaners.config import load_config  # noqa: E402

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "gb18030", "big5hkscs")
# Floors in MB/s, end to end on 2 cores; a later issue raises them with its own measurement.
FLOORS = {"end_to_end": 0.2}


def build_corpus(out: Path, megabytes: float, corpus: Path | None) -> tuple[int, int]:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((REPO / "seeds").glob("*.txt"))]
    target = int(megabytes * 1024 * 1024)
    total = files = 0
    if corpus is not None:
        for tsv, column in (("encodings.tsv", "path"), ("html.tsv", "path")):
            table = corpus / tsv
            if not table.is_file():
                continue
            with table.open(encoding="utf-8") as fh:
                for row in csv.DictReader(fh, delimiter="\t"):
                    src = corpus / row[column]
                    if src.is_file():
                        dest = out / "corpus" / row[column].replace("/", "__")
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(src, dest)
                        total += dest.stat().st_size
                        files += 1
    n = 0
    while total < target:
        text = seeds[n % len(seeds)] + f"\n第{n}份副本。\n"
        codec = ENCODINGS[(n // len(seeds)) % len(ENCODINGS)]
        data = text.encode(codec, errors="replace" if codec == "big5hkscs" else "strict")
        path = out / "seeds" / f"{n:06d}.{codec}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
        files += 1
        n += 1
    return files, total


def peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=5.0, help="corpus size in MB (default 5)")
    ap.add_argument("--corpus", type=Path, help="a folder laid out like ../shared/corpus (optional)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes end to end (default 2)")
    args = ap.parse_args(argv)
    corpus = args.corpus
    if corpus is not None and not corpus.is_dir():
        print(f"corpus {corpus} not found: using seeds only")
        corpus = None
    cfg = load_config()
    with tempfile.TemporaryDirectory(prefix="docclean-bench-") as tmp:
        work = Path(tmp)
        files, size = build_corpus(work / "in", args.mb, corpus)
        mb = size / 1024 / 1024
        print(f"corpus: {files} files, {mb:.2f} MB ({', '.join(ENCODINGS)}"
              f"{' + ' + str(corpus) if corpus else ''})")
        inputs = list(discover([work / "in"]))
        start = time.perf_counter()
        results, stats = batch.clean_inputs(inputs, cfg, None, jobs=1)
        single = time.perf_counter() - start
        print(f"\nper step, one process ({single:.2f} s for the whole pipeline, {mb / single:.2f} MB/s):")
        print(f"  {'step':<20}{'docs':>7}{'changed':>9}{'dropped':>9}{'seconds':>10}{'MB/s':>10}")
        for name, s in stats.items():
            rate = f"{mb / s.seconds:.2f}" if s.total and s.seconds else "-"
            print(f"  {name:<20}{s.total:>7}{s.changed:>9}{s.dropped:>9}{s.seconds:>10.3f}{rate:>10}")
        rejected = sum(r.status == "rejected" for r in results)
        start = time.perf_counter()
        summary = flow.run_paths([work / "in"], work / "archive", cfg, jobs=args.jobs)
        e2e = time.perf_counter() - start
        own, children = peak_mb()
        print(f"\nend to end (docclean run, {args.jobs} jobs): {e2e:.2f} s, {mb / e2e:.2f} MB/s, "
              f"{files / e2e:.0f} docs/s; {summary.counts.get('records', 0)} records, {rejected} rejected")
        print(f"peak memory: {own:.0f} MB (main process), {children:.0f} MB (largest worker)")
    failed = [k for k, floor in FLOORS.items() if {"end_to_end": mb / e2e}[k] < floor]
    for k in failed:
        print(f"BELOW FLOOR: {k} < {FLOORS[k]} MB/s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
