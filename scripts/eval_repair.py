"""Evaluate `mojibake.repair` on the development corpus (issue #4, "Done when").

Usage: python scripts/eval_repair.py CORPUS_DIR [--show N]

Reads CORPUS_DIR/mojibake.jsonl and reports, per mechanism (the row's `likely_mechanism`,
grouped into the issue's families), how many rows the repair got
  exact      output == fixed
  partial    changed, not exact, nothing invented, closer to `fixed` than the garbled text
  untouched  output == garbled
  wrong      changed, and either invented characters or moved away from `fixed`
and, for rows marked lossy, how many characters were invented (a character in the output that
is neither in `fixed` nor kept from the garbled text, U+FFFD and the lost-character marker
excepted: it must be 0).

Then the number of changed lines among texts that were not garbled: the seeds' clean lines
(every line except the intended repairs of seeds 003 and 004), the `fixed` side of every row,
and the corpus pages (magic_html gold texts, the text of every page in html.tsv, CPython's
cjkencodings UTF-8 texts, OpenCC's test cases). It must be 0.

Last, synthetic damage of the clean pages' lines (UTF-8 read as GB18030, cp1252, Big5, with
Python's errors="replace" so some lines lose bytes): exact lines among the lossless ones, and
wrong edits (a repaired span that, U+FFFD taken as "one or more lost characters", does not
occur in the original line). Wrong edits must be 0.

Exits 0 with "skipped: corpus not found" when CORPUS_DIR is absent.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from cleaners.model import Change, Document, Source
from cleaners.mojibake import RepairConfig, repair

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {
    "utf8_read_as_cp1252": "cp1252/latin-1",
    "utf8_read_as_latin1": "cp1252/latin-1",
    "utf8_read_as_gbk": "gbk/gb18030/big5",
    "utf8_read_as_gb18030": "gbk/gb18030/big5",
    "utf8_read_as_big5": "gbk/gb18030/big5",
    "gbk_read_as_utf8": "gbk read as utf-8 (lossy)",
}


def family(row: dict[str, object]) -> str:
    mechanism = str(row.get("likely_mechanism") or "unknown")
    for key, name in FAMILIES.items():
        if mechanism == key:
            return name
    if mechanism.startswith("gbk_read_as_utf8"):
        return "gbk read as utf-8 (lossy)"
    if mechanism.startswith("rare_hanzi"):
        return "placeholder (lossy)"
    return "other"


def run(text: str, cfg: RepairConfig) -> str:
    doc = Document(source=Source.from_bytes("eval", text.encode("utf-8")), text=text)
    return repair(doc, cfg).text


def invented(garbled: str, out: str, fixed: str, marker: str) -> int:
    """Characters of `out` that are neither matched in `fixed` nor kept from `garbled`."""
    def matched(a: str, b: str) -> set[int]:
        blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        return {i for block in blocks for i in range(block.a, block.a + block.size)}

    ok = matched(out, fixed) | matched(out, garbled)
    return sum(1 for i, ch in enumerate(out) if i not in ok and ch not in ("\ufffd", marker))


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def evaluate_rows(path: Path, cfg: RepairConfig, show: int) -> list[str]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    table: dict[tuple[str, bool], Counter[str]] = defaultdict(Counter)
    examples: list[str] = []
    fixed_sides: list[str] = []
    for row in rows:
        garbled, fixed, lossy = row["garbled"], row.get("fixed"), bool(row.get("lossy"))
        out = run(garbled, cfg)
        key = (family(row), lossy)
        if fixed is None:
            table[key]["no_fix_given:" + ("changed" if out != garbled else "unchanged")] += 1
            continue
        fixed_sides.append(fixed)
        made_up = invented(garbled, out, fixed, cfg.lost_char_marker)
        table[key]["invented_chars"] += made_up
        if out == fixed:
            verdict = "exact"
        elif out == garbled:
            verdict = "untouched"
        elif made_up == 0 and similarity(out, fixed) > similarity(garbled, fixed):
            verdict = "partial"
        else:
            verdict = "wrong"
        table[key][verdict] += 1
        if verdict in ("wrong", "partial", "untouched") and len(examples) < show:
            examples.append(f"  [{verdict}] {key[0]} lossy={lossy}\n    garbled {garbled[:100]!r}\n"
                            f"    output  {out[:100]!r}\n    fixed   {fixed[:100]!r}")
    print(f"mojibake.jsonl: {len(rows)} rows")
    print(f"{'family':34} {'lossy':5} {'rows':>5} {'exact':>6} {'partial':>7} {'untouched':>9} "
          f"{'wrong':>5} {'exact%':>7} {'invented':>8}")
    for (name, lossy), counts in sorted(table.items()):
        scored = sum(counts[k] for k in ("exact", "partial", "untouched", "wrong"))
        nofix = sum(v for k, v in counts.items() if k.startswith("no_fix_given"))
        pct = f"{100 * counts['exact'] / scored:6.1f}%" if scored else "      -"
        print(f"{name:34} {str(lossy):5} {scored + nofix:5d} {counts['exact']:6d} {counts['partial']:7d} "
              f"{counts['untouched']:9d} {counts['wrong']:5d} {pct} {counts['invented_chars']:8d}")
        if nofix:
            print(f"{'':34} {'':5} rows with no fix given: "
                  f"{counts['no_fix_given:changed']} changed, {counts['no_fix_given:unchanged']} unchanged")
    for family_name in ("cp1252/latin-1", "gbk/gb18030/big5"):
        totals = Counter[str]()
        for (name, lossy), counts in table.items():
            if name == family_name and (not lossy or family_name == "cp1252/latin-1"):
                totals.update(counts)
        scored = sum(totals[k] for k in ("exact", "partial", "untouched", "wrong"))
        if scored:
            label = "all rows" if family_name == "cp1252/latin-1" else "rows not marked lossy"
            print(f"  {family_name}, {label}: {totals['exact']}/{scored} exact "
                  f"({100 * totals['exact'] / scored:.1f}%)")
    made_up = sum(c["invented_chars"] for (_, lossy), c in table.items() if lossy)
    print(f"  lossy rows: {made_up} invented characters")
    if examples:
        print("examples:")
        print("\n".join(examples))
    return fixed_sides


def seed_texts() -> Iterator[tuple[str, str, set[int]]]:
    """(name, text, 1-based lines meant to change) for each seed."""
    from cleaners import ruby

    for path in sorted((ROOT / "seeds").glob("*.txt")):
        text = path.read_text("utf-8")
        intended: set[int] = set()
        for number, line in enumerate(text.split("\n"), 1):
            if path.name.startswith("003_") and "\ue47f" in line:
                intended.add(number)  # the two byte-misaligned sentences (issue #4)
            if path.name.startswith("004_") and (ruby.ANNOTATED.search(line) or ruby.LOST.search(line)):
                intended.add(number)  # flattened annotations (issue #4)
        yield path.name, text, intended


def page_texts(corpus: Path) -> Iterator[tuple[str, str]]:
    gold = corpus / "magic_html" / "gold_zh"
    for path in sorted(gold.glob("*.txt")):
        yield f"magic_html gold {path.name[:40]}", path.read_text("utf-8", errors="replace")
    tsv = corpus / "html.tsv"
    if tsv.exists():
        import lxml.html

        lines = tsv.read_text("utf-8").splitlines()
        header = lines[0].split("\t")
        for row in lines[1:]:
            fields = dict(zip(header, row.split("\t"), strict=False))
            path = corpus / fields["path"]
            codec = fields.get("decodes_as") or "utf-8"
            try:
                raw = path.read_bytes()
                html_text = raw.decode(codec)
            except (OSError, LookupError, UnicodeDecodeError):
                continue
            try:
                tree = lxml.html.fromstring(html_text.encode("utf-8"),
                                            parser=lxml.html.HTMLParser(encoding="utf-8"))
            except Exception:  # noqa: BLE001 - a page lxml cannot parse is skipped, not scored
                continue
            for bad in tree.xpath("//script|//style"):
                bad.drop_tree()
            yield f"page {fields['path'][:50]}", tree.text_content()
    cjk = corpus / "cpython_cjkencodings" / "Lib" / "test" / "cjkencodings"
    for name in ("gb18030-utf8.txt", "gbk-utf8.txt", "big5-utf8.txt", "big5hkscs-utf8.txt", "hz-utf8.txt"):
        if (cjk / name).exists():
            yield f"cjkencodings {name}", (cjk / name).read_text("utf-8")
    cases = corpus / "opencc" / "test" / "testcases" / "testcases.json"
    if cases.exists():
        import re

        data = json.loads(re.sub(r",(\s*[\]}])", r"\1", cases.read_text("utf-8")))
        texts = []

        def walk(node: object) -> None:
            if isinstance(node, str) and any("\u4e00" <= ch <= "\u9fff" for ch in node):
                texts.append(node)
            elif isinstance(node, dict):
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(data)
        yield "opencc testcases", "\n".join(texts)


def synthetic(lines: list[str], cfg: RepairConfig) -> None:
    import re

    import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-1252)

    from cleaners.mojibake import repair_line

    print("\nsynthetic damage of the clean pages' lines:")
    print(f"{'read as':10} {'lines':>6} {'lossless':>8} {'exact':>6} {'lossy':>6} {'edits':>6} {'wrong':>6}")
    for codec in ("gb18030", "cp1252", "big5"):
        name = "sloppy-windows-1252" if codec == "cp1252" else codec
        counts = Counter[str]()
        for line in lines:
            damaged = line.encode("utf-8").decode(name, errors="replace")
            changes: list[Change] = []
            out = repair_line(damaged, 1, cfg, changes=changes)
            lossless = "\ufffd" not in damaged
            counts["lines"] += 1
            counts["lossless"] += lossless
            counts["exact"] += lossless and out == line
            counts["lossy"] += not lossless
            for change in changes:
                if change.action == "flag":
                    continue
                counts["edits"] += 1
                after = str(change.detail["after"])
                pattern = "".join(".+?" if ch == "\ufffd" else re.escape(ch) for ch in after)
                counts["wrong"] += re.search(pattern, line) is None
        print(f"{codec:10} {counts['lines']:6d} {counts['lossless']:8d} {counts['exact']:6d} "
              f"{counts['lossy']:6d} {counts['edits']:6d} {counts['wrong']:6d}")


def changed_lines(before: str, after: str) -> list[int]:
    a, b = before.split("\n"), after.split("\n")
    assert len(a) == len(b), "line structure changed"
    return [i + 1 for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path, help="the corpus directory (../shared/corpus)")
    parser.add_argument("--show", type=int, default=12, help="examples of non-exact rows to print")
    args = parser.parse_args(argv)
    if not (args.corpus / "mojibake.jsonl").exists():
        print(f"skipped: corpus not found ({args.corpus / 'mojibake.jsonl'})")
        return 0
    cfg = RepairConfig()
    fixed_sides = evaluate_rows(args.corpus / "mojibake.jsonl", cfg, args.show)

    print("\nchanged lines in text that was not garbled (must be 0):")
    total_lines = total_changed = 0
    unintended = 0
    seed_lines = 0
    for name, text, intended in seed_texts():
        lines = changed_lines(text, run(text, cfg))
        seed_lines += text.count("\n") + 1 - len(intended)
        bad = [n for n in lines if n not in intended]
        unintended += len(bad)
        if bad:
            print(f"  seed {name}: unintended changes on lines {bad}")
    print(f"  seeds, clean lines: {unintended} of {seed_lines} changed")
    total_lines += seed_lines
    total_changed += unintended
    changed = sum(1 for fixed in fixed_sides for _ in changed_lines(fixed, run(fixed, cfg)))
    n_fixed = sum(fixed.count("\n") + 1 for fixed in fixed_sides)
    print(f"  mojibake.jsonl `fixed` sides: {changed} of {n_fixed} lines changed")
    total_lines += n_fixed
    total_changed += changed
    pages = page_lines = page_changed = 0
    clean_page_lines: list[str] = []
    for name, text in page_texts(args.corpus):
        if name.startswith("magic_html gold"):
            clean_page_lines += [line for line in text.split("\n") if line.strip()]
        out = run(text, cfg)
        lines = changed_lines(text, out)
        pages += 1
        page_lines += text.count("\n") + 1
        page_changed += len(lines)
        for number in lines[:3]:
            print(f"  {name} line {number}: {text.split(chr(10))[number - 1][:80]!r} -> "
                  f"{out.split(chr(10))[number - 1][:80]!r}")
    print(f"  corpus pages ({pages} texts): {page_changed} of {page_lines} lines changed")
    total_lines += page_lines
    total_changed += page_changed
    print(f"  total: {total_changed} of {total_lines} clean lines changed")
    synthetic(clean_page_lines, cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
