"""Evaluate `html.extract` (and extract + strip) on the Chinese pages of CORPUS_DIR/html.tsv.

    .venv/bin/python scripts/eval_extract.py ../shared/corpus [--compare-python /tmp/x/bin/python]

- magic_html pages with human gold: character-level precision, recall and F1 of the main text
  against the gold, per page type (article / forum) and overall, next to two baselines:
  a plain BeautifulSoup text dump (script/style removed) and, when `--compare-python` names
  an interpreter that has trafilatura installed (a venv of its own: the product does not
  depend on it), trafilatura.extract with its defaults.
- trafilatura's zh subset: the share of "with" snippets kept and "without" snippets dropped.
- speed: MB/s of extract and of extract + strip over every page of html.tsv (decode excluded).

Character-level P/R/F1: the texts are compared as multisets of characters, whitespace
removed (a page's main text as a bag of characters: order-insensitive, so a block moved by the
extractor is not punished twice; extra navigation text costs precision, a lost paragraph costs
recall). P = |ours ∩ gold| / |ours|, R = |ours ∩ gold| / |gold|, F1 their harmonic mean.
Exits 0 with "skipped: corpus not found" when CORPUS_DIR does not exist.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cleaners import runner
from cleaners.config import PipelineConfig
from cleaners.model import Document, Source
from cleaners.pipeline import STEPS

EXTRACT_STEPS = tuple(s for s in STEPS if s.short in ("decode", "extract"))
STRIP_STEPS = tuple(s for s in STEPS if s.short in ("decode", "extract", "repair", "strip"))

_TRAFILATURA_CODE = r"""
import json, sys, trafilatura
out = []
for path, codec in json.load(sys.stdin):
    html = open(path, "rb").read().decode(codec, errors="replace")
    out.append(trafilatura.extract(html) or "")
json.dump(out, sys.stdout)
"""


@dataclass
class Scores:
    p: list[float] = field(default_factory=list)
    r: list[float] = field(default_factory=list)
    f: list[float] = field(default_factory=list)

    def add(self, ours: str, gold: str) -> tuple[float, float, float]:
        p, r, f = prf(ours, gold)
        self.p.append(p)
        self.r.append(r)
        self.f.append(f)
        return p, r, f

    def line(self, name: str) -> str:
        if not self.f:
            return f"{name:<22} (none)"
        return (f"{name:<22} P={statistics.mean(self.p):.3f} R={statistics.mean(self.r):.3f} "
                f"F1={statistics.mean(self.f):.3f}  (n={len(self.f)})")


def _bag(text: str) -> Counter[str]:
    return Counter(ch for ch in text if not ch.isspace())


def prf(ours: str, gold: str) -> tuple[float, float, float]:
    """Character-bag precision, recall and F1 (whitespace ignored)."""
    a, b = _bag(ours), _bag(gold)
    common = sum((a & b).values())
    p = common / sum(a.values()) if a else 0.0
    r = common / sum(b.values()) if b else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _rows(corpus: Path) -> list[dict[str, str]]:
    with (corpus / "html.tsv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _run(path: Path, steps: tuple) -> tuple[str, Document]:
    raw = path.read_bytes()
    doc = Document(Source.from_bytes(str(path), raw), raw=raw, is_html=True)
    out = runner.run(doc, PipelineConfig(), steps=steps)
    if not isinstance(out, Document):
        return "", doc
    return out.text, out


def _bs4_dump(path: Path, codec: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes().decode(codec, errors="replace"), "lxml")
    for tag in soup(["script", "style", "noscript"]):
        tag.decompose()
    return soup.get_text("\n")


def _trafilatura(python: str | None, items: list[tuple[str, str]]) -> list[str] | None:
    if not python or not Path(python).exists():
        return None
    proc = subprocess.run([python, "-c", _TRAFILATURA_CODE], input=json.dumps(items),
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        print(f"trafilatura failed: {proc.stderr[-500:]}", file=sys.stderr)
        return None
    return list(json.loads(proc.stdout))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--compare-python", default="/tmp/strip5-venv/bin/python",
                    help="an interpreter with trafilatura installed (skipped when absent)")
    ap.add_argument("--verbose", "-v", action="store_true", help="one line per page")
    args = ap.parse_args(argv)
    if not (args.corpus / "html.tsv").exists():
        print(f"skipped: corpus not found at {args.corpus}")
        return 0
    rows = _rows(args.corpus)
    gold_rows = [r for r in rows if r["path"].startswith("magic_html/") and r["gold_file"]]
    items = [(str(args.corpus / r["path"]), r["decodes_as"] or "utf-8") for r in gold_rows]
    traf = _trafilatura(args.compare_python, items)

    groups: dict[str, dict[str, Scores]] = {}
    for i, row in enumerate(gold_rows):
        kind = row["gold_file"].split("/")[-1].split("__")[0]
        gold = (args.corpus / row["gold_file"]).read_text(encoding="utf-8")
        path = args.corpus / row["path"]
        ours, _ = _run(path, EXTRACT_STEPS)
        stripped, _ = _run(path, STRIP_STEPS)
        per = {
            "extract": ours,
            "extract+strip": stripped,
            "bs4 text dump": _bs4_dump(path, row["decodes_as"] or "utf-8"),
        }
        if traf is not None:
            per["trafilatura"] = traf[i]
        figures = []
        for name, text in per.items():
            for key in (kind, "all"):
                groups.setdefault(key, {}).setdefault(name, Scores())
            p, r, f = groups[kind][name].add(text, gold)
            groups["all"][name].add(text, gold)
            figures.append(f"{name}={f:.2f}")
        if args.verbose:
            print(f"{kind:8} {Path(row['path']).name[:16]}  " + "  ".join(figures)
                  + f"  gold={len(gold)}")

    print("== magic_html gold pages: character-level P/R/F1 (bag of characters, whitespace ignored)")
    for key in sorted(groups, key=lambda k: (k == "all", k)):
        print(f"-- {key}")
        for name, sc in groups[key].items():
            print("   " + sc.line(name))
    if "all" in groups and "trafilatura" in groups["all"]:
        ours_f = statistics.mean(groups["all"]["extract"].f)
        traf_f = statistics.mean(groups["all"]["trafilatura"].f)
        print(f"   extract - trafilatura mean F1: {ours_f - traf_f:+.3f}")

    print("== trafilatura zh subset: with kept / without dropped")
    evaldata = json.loads((args.corpus / "trafilatura" / "evaldata_zh_subset.json").read_text("utf-8"))
    by_file = {Path(r["path"]).name: r for r in rows if r["path"].startswith("trafilatura/")}
    kept = kept_n = dropped = dropped_n = 0
    for case in evaldata.values():
        row = by_file.get(case["file"])
        if row is None:
            continue
        for name, steps in (("extract", EXTRACT_STEPS), ("extract+strip", STRIP_STEPS)):
            text, _ = _run(args.corpus / row["path"], steps)
            k = sum(w in text for w in case["with"])
            d = sum(w not in text for w in case["without"])
            if name == "extract+strip":
                kept, kept_n = kept + k, kept_n + len(case["with"])
                dropped, dropped_n = dropped + d, dropped_n + len(case["without"])
            print(f"   {case['file'][:44]:<44} {name:<14} with {k}/{len(case['with'])}  "
                  f"without {d}/{len(case['without'])}")
    if kept_n:
        print(f"   total (extract+strip): with kept {kept}/{kept_n}, without dropped {dropped}/{dropped_n}")

    print("== speed over every page of html.tsv (decode excluded)")
    pages = [args.corpus / r["path"] for r in rows if (args.corpus / r["path"]).exists()]
    decoded = []
    for path in pages:
        raw = path.read_bytes()
        doc = runner.run(Document(Source.from_bytes(str(path), raw), raw=raw, is_html=True),
                         PipelineConfig(), steps=EXTRACT_STEPS[:1])
        if isinstance(doc, Document):
            decoded.append(doc)
    total_mb = sum(d.source.size for d in decoded) / 1e6
    deep = 0
    for d in decoded:
        out = runner.run(d, PipelineConfig(), steps=EXTRACT_STEPS[1:])
        trail = out.trail if isinstance(out, Document) else ()
        deep += any(c.what == "rule:deep_nesting" for t in trail for c in t.changes)
    print(f"   pages flagged rule:deep_nesting (past libxml2's depth limit): {deep}/{len(decoded)}")
    for name, steps in (("extract", EXTRACT_STEPS[1:]), ("extract+strip", STRIP_STEPS[1:])):
        start = time.perf_counter()
        for d in decoded:
            runner.run(d, PipelineConfig(), steps=steps)
        seconds = time.perf_counter() - start
        print(f"   {name:<14} {len(decoded)} pages, {total_mb:.1f} MB in {seconds:.2f} s = "
              f"{total_mb / seconds:.1f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
