"""Throughput of `mojibake.repair` on clean and on damaged text (issue #4: >= 10 MB/s on clean
text; damaged text far faster than the prototype's 80-500 s/MB).

Usage: python scripts/bench_repair.py [CORPUS_DIR] [--mb 4]

Clean text: the seeds' clean documents (000-002), plus the corpus's magic_html gold texts when
CORPUS_DIR is given, repeated to --mb megabytes (UTF-8). Damaged text: the same lines turned
into mojibake (UTF-8 read as GB18030, as cp1252, as Big5, as KOI8-R; GBK read as cp1250: issue
#15), and seeds 003 (misaligned GBK) and 004 (flattened pinyin), each repeated. Prints MB/s
and s/MB per kind; the first call's one-off loading (frequency table, ftfy, pypinyin, OpenCC)
is measured separately.

A corpus path that does not exist is reported and the seeds alone are used.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cleaners.model import Document, Source
from cleaners.mojibake import RepairConfig, repair

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000


def clean_lines(corpus: Path | None) -> list[str]:
    lines: list[str] = []
    for name in ("000_", "001_", "002_"):
        for path in (ROOT / "seeds").glob(f"{name}*.txt"):
            lines += path.read_text("utf-8").split("\n")
    if corpus is not None:
        for path in sorted((corpus / "magic_html" / "gold_zh").glob("*.txt")):
            lines += path.read_text("utf-8", errors="replace").split("\n")
    return [line for line in lines if line.strip()]


def grow(lines: list[str], megabytes: float) -> str:
    """Lines repeated until the text is `megabytes` of UTF-8."""
    out: list[str] = []
    size = 0
    while size < megabytes * MB:
        for line in lines:
            out.append(line)
            size += len(line.encode("utf-8")) + 1
            if size >= megabytes * MB:
                break
    return "\n".join(out)


def damage(lines: list[str], codec: str, source: str = "utf-8") -> list[str]:
    import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-1252)

    name = "sloppy-windows-1252" if codec == "cp1252" else codec
    return [line.encode(source, errors="replace").decode(name, errors="replace") for line in lines]


def measure(text: str, cfg: RepairConfig, repeat: int = 1) -> tuple[float, int]:
    doc = Document(source=Source.from_bytes("bench", b""), text=text)
    best = float("inf")
    changes = 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = repair(doc, cfg)
        best = min(best, time.perf_counter() - start)
        changes = len(result.changes)
    return best, changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path, nargs="?", help="the corpus directory (../shared/corpus)")
    parser.add_argument("--mb", type=float, default=4.0, help="megabytes of clean text")
    parser.add_argument("--damaged-mb", type=float, default=0.5, help="megabytes of each damaged kind")
    args = parser.parse_args(argv)
    corpus = args.corpus
    if corpus is not None and not corpus.exists():
        print(f"corpus not found ({corpus}): seeds only")
        corpus = None
    cfg = RepairConfig()
    lines = clean_lines(corpus)

    warm = "\n".join([*damage(lines[:3], "gb18030"), *damage(lines[:3], "cp1252"),
                      (ROOT / "seeds").joinpath(next(p.name for p in (ROOT / "seeds").glob("004_*")))
                      .read_text("utf-8")])
    start = time.perf_counter()
    measure(warm, cfg)
    print(f"one-off loading (first damaged document): {time.perf_counter() - start:.2f} s")

    kinds: list[tuple[str, Callable[[], str], float]] = [
        ("clean (seeds 000-002" + (" + magic_html gold" if corpus else "") + ")",
         lambda: grow(lines, args.mb), args.mb),
        ("UTF-8 read as GB18030", lambda: grow(damage(lines, "gb18030"), args.damaged_mb), args.damaged_mb),
        ("UTF-8 read as cp1252", lambda: grow(damage(lines, "cp1252"), args.damaged_mb), args.damaged_mb),
        ("UTF-8 read as Big5", lambda: grow(damage(lines, "big5"), args.damaged_mb), args.damaged_mb),
        ("GBK read as cp1250", lambda: grow(damage(lines, "cp1250", "gbk"), args.damaged_mb),
         args.damaged_mb),
        ("UTF-8 read as KOI8-R", lambda: grow(damage(lines, "koi8-r"), args.damaged_mb), args.damaged_mb),
    ]
    for seed in ("003_", "004_"):
        path = next((ROOT / "seeds").glob(f"{seed}*.txt"))
        seed_lines = path.read_text("utf-8").split("\n")
        label = "seed 003 (misaligned GBK)" if seed == "003_" else "seed 004 (flattened pinyin)"
        kinds.append((label, lambda s=seed_lines: grow(s, args.damaged_mb), args.damaged_mb))
    print(f"{'text':44} {'MB':>6} {'seconds':>8} {'MB/s':>8} {'s/MB':>8} {'changes':>8}")
    for label, make, _ in kinds:
        text = make()
        size = len(text.encode("utf-8")) / MB
        seconds, changes = measure(text, cfg, repeat=3 if label.startswith("clean") else 1)
        print(f"{label:44} {size:6.2f} {seconds:8.3f} {size / seconds:8.1f} {seconds / size:8.3f} "
              f"{changes:8d}")
    return 0


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
