"""Evaluate main-text extraction on the gold pages of CORPUS/html.tsv, next to its peers.

    .venv/bin/python scripts/eval_extract.py --corpus ../shared/corpus [-v] [--no-peers]
        [--loho FIELD=V1,V2,...] [--baseline tests/golden/extract/eval_baseline.json]

Pages: every html.tsv row with a text gold: the magic_html pages (human-annotated main text,
article and forum) and the pages whose gold is another tool's frozen full text (newspaper4k's
txt, readability.js's expected.html), reported as their own bucket "reference".
docclean is scored as a user runs it, `docclean clean PAGE --until strip` (decode, extract,
repair, strip), and after extract alone; the peers in the same run on the same decoded pages
(installed by the `eval` extra, never by the product): trafilatura default, trafilatura
favor_recall + include_comments, readability-lxml.

Score: character-bigram precision / recall / F1 against the gold, whitespace removed (the text
as one string of non-space characters; bigrams as a multiset, so order inside the text matters
only locally and a moved block is not punished twice). Reported overall (human gold), by page
type, by gold length (< 300 / >= 300 non-space characters), by source, the count of pages under
F1 0.3, the pages whose extraction reports low confidence (docclean's and the peers' F1
there: does a second opinion earn its place?), and ms per page in-process (median, p95) for
docclean (extract+repair+strip on the decoded page) and trafilatura default (on the same
decoded text).

`--loho FIELD=V1,V2,...` scores an ExtractConfig threshold leave-one-host-out: for each host
the value with the best mean F1 on the other hosts' pages is chosen and the host's pages are
scored with it; printed next to the in-sample best value.
`--baseline FILE` exits 1 when docclean's mean F1 (human gold) is more than 0.01 below the
figure in FILE (`{"mean_f1": ...}`); `--write-baseline FILE` writes the current figure.
Exits 0 with "skipped: corpus not found" when CORPUS does not exist.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from cleaners import runner
from cleaners.config import PipelineConfig
from cleaners.model import Document, Source
from cleaners.pipeline import STEPS

DECODE = tuple(s for s in STEPS if s.short == "decode")
AFTER_DECODE_EXTRACT = tuple(s for s in STEPS if s.short == "extract")
AFTER_DECODE_STRIP = tuple(s for s in STEPS if s.short in ("extract", "repair", "strip"))
SHORT_GOLD = 300          # non-space chars: the short/long split
FAILED_F1 = 0.3           # a page under this F1 is the wrong region
BASELINE_SLACK = 0.01     # CI fails when the mean drops more than this below the baseline
_SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "ac"}


@dataclasses.dataclass
class Page:
    path: Path
    gold: str
    kind: str           # article / forum / reference
    host: str
    codec: str
    decoded: Document | None = None
    html: str = ""


def bigrams(text: str) -> Counter[str]:
    s = "".join(text.split())
    return Counter(s[i:i + 2] for i in range(len(s) - 1))


def prf(ours: str, gold: str) -> tuple[float, float, float]:
    """Character-bigram precision, recall and F1 (whitespace removed).

    >>> [round(x, 2) for x in prf("今天天气好", "今天 天气很好")]
    [0.75, 0.6, 0.67]
    """
    a, b = bigrams(ours), bigrams(gold)
    common = sum((a & b).values())
    p = common / sum(a.values()) if a else 0.0
    r = common / sum(b.values()) if b else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _host(url: str, path: str) -> str:
    name = urlparse(url).hostname or ""
    if not name:
        parts = Path(path).parts
        return f"{parts[0]}:{Path(path).parent.name}:{Path(path).stem}"
    labels = name.lower().removeprefix("www.").split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def _gold_text(corpus: Path, gold_file: str) -> str | None:
    path = corpus / gold_file.split("#")[0]
    if "#" in gold_file or not path.is_file():
        return None
    if path.suffix == ".html":
        import lxml.html

        return lxml.html.fromstring(path.read_text(encoding="utf-8")).text_content()
    return path.read_text(encoding="utf-8", errors="replace")


def load_pages(corpus: Path) -> list[Page]:
    with (corpus / "html.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    pages = []
    for row in rows:
        if not row["gold_file"] or row["path"].startswith(("gne/", "trafilatura/")):
            continue        # gne: another tool's 2019 output; trafilatura: snippets, scored apart
        gold = _gold_text(corpus, row["gold_file"])
        if gold is None:
            continue
        if row["path"].startswith("magic_html/"):
            kind = row["gold_file"].split("/")[-1].split("__")[0]
        else:
            kind = "reference"
        pages.append(Page(corpus / row["path"], gold, kind, _host(row["url"], row["path"]),
                          row["decodes_as"] or "utf-8"))
    for page in pages:
        raw = page.path.read_bytes()
        out = runner.run(Document(Source.from_bytes(str(page.path), raw), raw=raw, is_html=True),
                         PipelineConfig(), steps=DECODE)
        page.decoded = out if isinstance(out, Document) else None
        page.html = page.decoded.text if page.decoded else raw.decode(page.codec, errors="replace")
    return pages


def docclean_run(page: Page, cfg: PipelineConfig, steps: tuple = AFTER_DECODE_STRIP) -> Document | None:
    if page.decoded is None:
        return None
    out = runner.run(page.decoded, cfg, steps=steps)
    return out if isinstance(out, Document) else None


def docclean_text(page: Page, cfg: PipelineConfig, steps: tuple = AFTER_DECODE_STRIP) -> str:
    out = docclean_run(page, cfg, steps)
    return out.text if out is not None else ""


def _peers() -> dict[str, Callable[[str], str]]:
    peers: dict[str, Callable[[str], str]] = {}
    try:
        import trafilatura
    except ImportError:
        print("   (trafilatura not installed: `uv pip install -e '.[eval]'`)")
    else:
        peers["trafilatura"] = lambda html: trafilatura.extract(html) or ""
        peers["trafilatura recall+comments"] = lambda html: trafilatura.extract(
            html, favor_recall=True, include_comments=True) or ""
    try:
        import lxml.html
        from readability import Document as Readable
    except ImportError:
        print("   (readability-lxml not installed: `uv pip install -e '.[eval]'`)")
    else:
        def _readability(html: str) -> str:
            summary = Readable(html).summary(html_partial=True)
            return lxml.html.fromstring(summary).text_content() if summary.strip() else ""
        peers["readability-lxml"] = _readability
    return peers


def _quiet(fn: Callable[[str], str], html: str) -> str:
    try:
        return fn(html)
    except Exception as exc:  # noqa: BLE001 - a peer failing on a page scores 0 on it, as ours would
        print(f"   peer error: {type(exc).__name__}: {exc}"[:200], file=sys.stderr)
        return ""


def _mean(xs: list[float]) -> float:
    return statistics.mean(xs) if xs else float("nan")


def _ms(samples: list[float]) -> str:
    s = sorted(samples)
    p95 = s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]
    return f"median {statistics.median(s) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def report(pages: list[Page], scores: dict[str, list[tuple[float, float, float]]]) -> None:
    human = [i for i, p in enumerate(pages) if p.kind != "reference"]
    gold_len = [len("".join(p.gold.split())) for p in pages]
    buckets: list[tuple[str, list[int]]] = [
        ("ALL (human gold)", human),
        ("article", [i for i in human if pages[i].kind == "article"]),
        ("forum", [i for i in human if pages[i].kind == "forum"]),
        (f"gold < {SHORT_GOLD}", [i for i in human if gold_len[i] < SHORT_GOLD]),
        (f"gold >= {SHORT_GOLD}", [i for i in human if gold_len[i] >= SHORT_GOLD]),
        ("reference (tool gold)", [i for i, p in enumerate(pages) if p.kind == "reference"]),
    ]
    names = list(scores)
    print("== bigram F1 by bucket (mean P / R / F1; pages under F1 0.3)")
    print(f"   {'bucket':<22} {'n':>3}  " + "  ".join(f"{n[:27]:>27}" for n in names))
    for label, idx in buckets:
        cells = []
        for n in names:
            ps = [scores[n][i] for i in idx]
            low = sum(f < FAILED_F1 for _, _, f in ps)
            cells.append(f"{_mean([x[0] for x in ps]):.2f}/{_mean([x[1] for x in ps]):.2f}/"
                         f"{_mean([x[2] for x in ps]):.3f} <.3:{low:<2}")
        print(f"   {label:<22} {len(idx):>3}  " + "  ".join(f"{c:>27}" for c in cells))


def loho(pages: list[Page], spec: str) -> None:
    """Leave-one-host-out for one ExtractConfig field over candidate values."""
    from cleaners.html import ExtractConfig

    name, _, values = spec.partition("=")
    default = getattr(ExtractConfig(), name)
    cands = [type(default)(v) for v in values.split(",")]
    human = [p for p in pages if p.kind != "reference"]
    table: dict[object, list[float]] = {}
    for v in cands:
        cfg = dataclasses.replace(PipelineConfig(), extract=dataclasses.replace(
            PipelineConfig().extract, **{name: v}))
        table[v] = [prf(docclean_text(p, cfg), p.gold)[2] for p in human]
    hosts = sorted({p.host for p in human})
    held: list[float] = []
    chosen: Counter[object] = Counter()
    for h in hosts:
        train = [i for i, p in enumerate(human) if p.host != h]
        test = [i for i, p in enumerate(human) if p.host == h]
        best = max(cands, key=lambda v: (_mean([table[v][i] for i in train]), v == default))
        chosen[best] += 1
        held.extend(table[best][i] for i in test)
    print(f"== leave-one-host-out: {name} (default {default}), {len(hosts)} hosts")
    for v in cands:
        print(f"   {name}={v!s:<8} in-sample mean F1 {_mean(table[v]):.3f}")
    print(f"   held-out mean F1 {_mean(held):.3f}; value chosen per fold: "
          + ", ".join(f"{v}×{n}" for v, n in chosen.most_common()))


def snippets(corpus: Path) -> None:
    evaldata = json.loads((corpus / "trafilatura" / "evaldata_zh_subset.json").read_text("utf-8"))
    with (corpus / "html.tsv").open(encoding="utf-8", newline="") as fh:
        by_file = {Path(r["path"]).name: r for r in csv.DictReader(fh, delimiter="\t")
                   if r["path"].startswith("trafilatura/")}
    kept = kept_n = dropped = dropped_n = 0
    for case in evaldata.values():
        row = by_file.get(case["file"])
        if row is None:
            continue
        path = corpus / row["path"]
        raw = path.read_bytes()
        out = runner.run(Document(Source.from_bytes(str(path), raw), raw=raw, is_html=True),
                         PipelineConfig(), steps=DECODE + AFTER_DECODE_STRIP)
        text = out.text if isinstance(out, Document) else ""
        kept += sum(w in text for w in case["with"])
        kept_n += len(case["with"])
        dropped += sum(w not in text for w in case["without"])
        dropped_n += len(case["without"])
    print(f"== trafilatura zh snippets (extract+strip): with kept {kept}/{kept_n}, "
          f"without dropped {dropped}/{dropped_n}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    ap.add_argument("corpus_pos", nargs="?", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--verbose", "-v", action="store_true", help="one line per page")
    ap.add_argument("--no-peers", action="store_true", help="docclean only (CI)")
    ap.add_argument("--loho", action="append", default=[], metavar="FIELD=V1,V2,...")
    ap.add_argument("--baseline", type=Path, help="fail when mean F1 drops below this file's figure")
    ap.add_argument("--write-baseline", type=Path)
    args = ap.parse_args(argv)
    corpus = args.corpus_pos or args.corpus
    if not (corpus / "html.tsv").exists():
        print(f"skipped: corpus not found at {corpus}")
        return 0
    pages = load_pages(corpus)
    cfg = PipelineConfig()
    scores: dict[str, list[tuple[float, float, float]]] = {"docclean": [], "docclean extract": []}
    timing: dict[str, list[float]] = {"docclean": []}
    low: list[int] = []         # pages whose extraction says it is unsure
    for i, p in enumerate(pages):
        start = time.perf_counter()
        out = docclean_run(p, cfg)
        timing["docclean"].append(time.perf_counter() - start)
        scores["docclean"].append(prf(out.text if out is not None else "", p.gold))
        if out is None or (out.metadata.get("extraction") or {}).get("low_confidence"):
            low.append(i)
        scores["docclean extract"].append(prf(docclean_text(p, cfg, AFTER_DECODE_EXTRACT), p.gold))
    peers = {} if args.no_peers else _peers()
    for name, fn in peers.items():
        scores[name] = []
        for p in pages:
            start = time.perf_counter()
            text = _quiet(fn, p.html)
            if name == "trafilatura":
                timing.setdefault(name, []).append(time.perf_counter() - start)
            scores[name].append(prf(text, p.gold))
    if args.verbose:
        print("== per page: F1 per extractor (docclean P/R)")
        for i, p in enumerate(pages):
            gl = len("".join(p.gold.split()))
            dp, dr, _ = scores["docclean"][i]
            print(f"   {p.kind:<9} {p.host[:24]:<24} {p.path.name[:10]:<10} gold={gl:<6} "
                  + " ".join(f"{scores[n][i][2]:.2f}" for n in scores) + f"  P={dp:.2f} R={dr:.2f}")
        print("   columns: " + " | ".join(scores))
    report(pages, scores)
    human_low = [i for i in low if pages[i].kind != "reference"]
    print(f"== second opinion: {len(human_low)} human-gold pages with low extraction confidence; "
          "mean F1 there: " + ", ".join(f"{n} {_mean([scores[n][i][2] for i in human_low]):.3f}"
                                       for n in scores))
    for name, samples in timing.items():
        print(f"== {name}: {_ms(samples)} per page ({len(samples)} pages, in-process)")
    for spec in args.loho:
        loho(pages, spec)
    if not args.no_peers:
        snippets(corpus)
    human = [s[2] for s, p in zip(scores["docclean"], pages, strict=True) if p.kind != "reference"]
    mean = _mean(human)
    if args.write_baseline:
        args.write_baseline.write_text(json.dumps({"mean_f1": round(mean, 4), "pages": len(human)})
                                       + "\n", encoding="utf-8")
    if args.baseline:
        base = json.loads(args.baseline.read_text(encoding="utf-8"))["mean_f1"]
        if mean < base - BASELINE_SLACK:
            print(f"FAIL: mean F1 {mean:.4f} is more than {BASELINE_SLACK} below the baseline {base:.4f}")
            return 1
        print(f"ok: mean F1 {mean:.4f} (baseline {base:.4f})")
    return 0


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
