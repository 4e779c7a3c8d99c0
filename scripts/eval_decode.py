"""Evaluate the decode step (`encoding.detect`) on a labelled corpus, against plain charset-normalizer.

Usage: ``python scripts/eval_decode.py ../shared/corpus [--chardet]``

Reads ``encodings.tsv`` from the corpus folder (issue #3) and reports, per true encoding and per
length slice (first 32, 128, 512 bytes and the whole file), the share of files whose decoded text
equals the truth. Truth is the text of the ``X-utf8.txt`` partner for the CPython
``cjkencodings`` pairs, otherwise the label's codec or one of its supersets (a GB2312 file read
as GB18030 is right; a Big5 file read as Big5-HKSCS or CP950 is right when that gives the same
text). Files with no Python codec (EUC-TW) have no truth and are listed apart.

Cut final characters: a byte prefix may end inside a multibyte character. The truth for a
prefix is the label codec's *incremental* decode of it (``final=False``), which leaves a cut
final character out; a candidate passes when it equals that truth, or when it does after its
own last character is dropped (the character that stood for the cut bytes: decode flags it as
U+FFFD, charset-normalizer may render it otherwise). Nothing else is forgiven.

Also reports the share of Japanese and Korean files (and slices) decoded with a Chinese codec,
and decode throughput on UTF-8 and on legacy-encoded (GB18030, Big5) input built from seeds/.
Exits 0 with "skipped: corpus not found" when the folder is absent.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from cleaners.encoding import SUPERSET_CANDIDATES, DecodeConfig, decode
from cleaners.model import Document, Explained, Source

ROOT = Path(__file__).resolve().parents[1]
SLICES: tuple[int | None, ...] = (32, 128, 512, None)  # bytes; None = whole file
CHINESE_CODECS = frozenset({"gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950",
                            "euc-tw"})
THROUGHPUT_MB = 8  # size of each throughput input (MB): large enough to swamp per-call overhead
Decoder = Callable[[bytes, str], tuple[str | None, str | None]]


def slice_name(n: int | None) -> str:
    return "whole" if n is None else f"{n}B"


def truth_texts(raw: bytes, codec: str, exact: str | None, n: int | None) -> tuple[list[str], bool]:
    """Acceptable truths for the first `n` bytes, and whether a final character was cut."""
    part = raw if n is None else raw[:n]
    names = [codec, *SUPERSET_CANDIDATES.get(codecs.lookup(codec).name, ())]
    out: list[str] = []
    cut = False
    for name in names:
        dec = codecs.getincrementaldecoder(name)(errors="strict")
        try:
            text = dec.decode(part, final=n is None)
        except UnicodeDecodeError:
            continue
        if n is not None and dec.getstate()[0]:
            cut = True
        text = text.removeprefix("\ufeff")
        if exact is not None and not exact.startswith(text):
            continue
        if text not in out:
            out.append(text)
    if exact is not None and n is None:
        out = [exact]
    return out, cut


def passes(candidate: str | None, truths: list[str], cut: bool) -> bool:
    if candidate is None:
        return False
    if candidate in truths:
        return True
    return cut and candidate[:-1] in truths


def ours(raw: bytes, path: str) -> tuple[str | None, str | None]:
    doc = Document(Source.from_bytes(path, raw), raw=raw,
                   is_html=path.endswith((".html", ".htm", ".xml")))
    result = decode(doc, DecodeConfig())
    if isinstance(result, Explained):
        return result.text, str(result.decoding["encoding"])
    return None, None


def plain_charset_normalizer(raw: bytes, path: str) -> tuple[str | None, str | None]:
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        return None, None
    return str(best), best.encoding


def plain_chardet(raw: bytes, path: str) -> tuple[str | None, str | None]:
    import chardet

    label = chardet.detect(raw)["encoding"]
    if not label:
        return None, None
    try:
        return raw.decode(label, errors="replace").removeprefix("\ufeff"), label
    except LookupError:
        return None, label


def is_chinese_codec(codec: str | None) -> bool:
    if not codec:
        return False
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        name = codec.lower()
    return name in CHINESE_CODECS


def evaluate(corpus: Path, systems: dict[str, Decoder]) -> None:
    rows = list(csv.DictReader((corpus / "encodings.tsv").open(newline="", encoding="utf-8"),
                               delimiter="\t"))
    # score[system][group][slice] = [passed, total]
    score: dict[str, dict[str, dict[str, list[int]]]] = {
        s: defaultdict(lambda: defaultdict(lambda: [0, 0])) for s in systems}
    as_chinese: dict[str, dict[str, list[int]]] = {
        s: defaultdict(lambda: [0, 0]) for s in systems}
    seconds: dict[str, float] = defaultdict(float)
    failures: list[str] = []
    no_truth: list[str] = []
    for row in rows:
        path = corpus / row["path"]
        raw = path.read_bytes()
        codec = row["python_codec"]
        chinese = row["is_chinese"] == "true"
        lang = "zh" if chinese else (row["lang_hint"] or _lang_of(row))
        if not codec:
            no_truth.append(row["path"])
            for name, fn in systems.items():
                text, used = fn(raw, row["path"])
                no_truth.append(f"    {name}: {used}")
            continue
        exact = None
        if row["path"].startswith("cpython_cjkencodings/") and not row["path"].endswith("-utf8.txt"):
            partner = path.with_name(path.stem + "-utf8.txt")
            if partner.exists():
                exact = partner.read_text(encoding="utf-8")
        group = f"{lang}:{codecs.lookup(codec).name}"
        for n in SLICES:
            truths, cut = truth_texts(raw, codec, exact, n)
            part = raw if n is None else raw[:n]
            for name, fn in systems.items():
                start = time.perf_counter()
                text, used = fn(part, row["path"])
                seconds[name] += time.perf_counter() - start
                ok = passes(text, truths, cut)
                cell = score[name][group][slice_name(n)]
                cell[0] += ok
                cell[1] += 1
                total = score[name][f"ALL {lang}"][slice_name(n)]
                total[0] += ok
                total[1] += 1
                if not chinese:
                    cc = as_chinese[name][f"{lang} {slice_name(n)}"]
                    cc[0] += is_chinese_codec(used) and not is_chinese_codec(codec)
                    cc[1] += 1
                if chinese and not ok and name == "decode":
                    failures.append(f"{slice_name(n):>6} {row['path']} truth={codec} got={used}")
    names = list(systems)
    print("decode-exact share per group and slice (" + " | ".join(names) + ")")
    print(f"{'group':<26}" + "".join(f"{slice_name(n):>{12 * len(names)}}" for n in SLICES))
    groups = sorted({g for s in names for g in score[s]}, key=lambda g: (not g.startswith("ALL"), g))
    for group in groups:
        cells = []
        for n in SLICES:
            parts = []
            for s in names:
                ok, tot = score[s][group][slice_name(n)]
                parts.append(f"{ok:>3}/{tot:<3}{100 * ok / max(1, tot):>5.1f}%")
            cells.append(" ".join(f"{p:>12}" for p in parts))
        print(f"{group:<26}" + "  ".join(cells))
    print()
    print("Japanese/Korean decoded with a Chinese codec (" + " | ".join(names) + ")")
    for key in sorted({k for s in names for k in as_chinese[s]}):
        cells = [f"{as_chinese[s][key][0]}/{as_chinese[s][key][1]}" for s in names]
        print(f"  {key:<14}" + "  ".join(f"{c:>8}" for c in cells))
    print()
    print("files with no Python codec (no truth; what each system did):")
    for line in no_truth:
        print("  " + line)
    print()
    print("seconds spent per system on all slices: "
          + ", ".join(f"{s} {seconds[s]:.2f}" for s in names))
    print(f"Chinese slices decode got wrong ({len(failures)}):")
    for line in failures:
        print("  " + line)


def _lang_of(row: dict[str, str]) -> str:
    label = row["true_encoding"].lower()
    if any(k in label for k in ("kr", "949", "johab")):
        return "ko"
    if any(k in label for k in ("jp", "jis", "932")):
        return "ja"
    return "ja" if int(row["kana_chars"] or 0) > int(row["hangul_chars"] or 0) else "ko"


def throughput() -> None:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    text = "\n".join(seeds)
    reps = max(1, THROUGHPUT_MB * 1_000_000 // len(text.encode("utf-8")))
    big = text * reps
    inputs = {
        "utf-8": big.encode("utf-8"),
        "gb18030": big.encode("gb18030"),
        "big5hkscs": big.encode("big5hkscs", errors="replace"),
        "utf-16 (no BOM)": big.encode("utf-16-le"),
    }
    small_gb = [s.encode("gb18030") for s in seeds]
    print("throughput of decode (MB/s of input bytes):")
    for name, raw in inputs.items():
        doc = Document(Source.from_bytes("bench", raw), raw=raw)
        start = time.perf_counter()
        result = decode(doc, DecodeConfig())
        elapsed = time.perf_counter() - start
        used = result.decoding["encoding"] if isinstance(result, Explained) else result.reason
        print(f"  {name:<16} {len(raw) / 1e6:6.1f} MB  {len(raw) / 1e6 / elapsed:8.1f} MB/s  -> {used}")
    for label, docs in (("gb18030 seeds", small_gb),
                        ("utf-8 seeds", [s.encode("utf-8") for s in seeds])):
        size = sum(map(len, docs))
        rounds = 20
        start = time.perf_counter()
        for _ in range(rounds):
            for raw in docs:
                decode(Document(Source.from_bytes("bench", raw), raw=raw), DecodeConfig())
        elapsed = time.perf_counter() - start
        print(f"  {label:<16} {size / 1e3:6.1f} kB  {rounds * size / 1e6 / elapsed:8.1f} MB/s"
              f"  (5 documents of 6-31 kB, {rounds} rounds)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder laid out like ../shared/corpus")
    parser.add_argument("--chardet", action="store_true", help="also score plain chardet (slow)")
    parser.add_argument("--no-throughput", action="store_true")
    args = parser.parse_args(argv)
    if not (args.corpus / "encodings.tsv").exists():
        print(f"skipped: corpus not found ({args.corpus / 'encodings.tsv'})")
        return 0
    systems: dict[str, Decoder] = {"decode": ours, "charset-normalizer": plain_charset_normalizer}
    if args.chardet:
        systems["chardet"] = plain_chardet
    evaluate(args.corpus, systems)
    if not args.no_throughput:
        print()
        throughput()
    return 0


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
