"""Evaluate `mojibake.repair` on the development corpus (issue #4, "Done when").

Usage: python scripts/eval_repair.py CORPUS_DIR [--show N]
       python scripts/eval_repair.py [CORPUS_DIR] --synthetic [--lines N]

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

--synthetic (issue #15) is a generated benchmark that needs no corpus: clean Chinese lines (the
seeds' clean lines, then the corpus's magic_html gold texts when CORPUS_DIR is there, up to
--lines) encoded in each source encoding (UTF-8, GBK, Big5: the Traditional form from OpenCC's
s2t), decoded through each single-byte codepage (Python's codec, errors="replace"), intact, with
the last byte dropped, and with one byte missing in the middle of a character. It reports:
  - exact repairs per (source x codepage) cell among the lines whose garbled form keeps every
    byte (floor 99% per cell); lines a codepage made lossy itself are counted apart;
  - for the damaged variants: the damage flagged lossy where it is (floor 100%), lines with a
    guessed character (`invented`, floor 0), and the rest restored exactly; a lost lead byte
    whose trail is ASCII 40-7E leaves a plain letter and is counted as undetectable;
  - negatives: the same clean lines and other clean text (classical Chinese, the golden
    negatives, European languages: a few written lines and CLDR's names in 27 locales via
    babel, code, Japanese and Korean: CPython's cjkencodings and uchardet's samples when the
    corpus is there, a few written lines when not), floor 0 changed.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
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


# ---------------------------------------------------------------------------------------------
# --synthetic: Chinese bytes read through each codepage (issue #15)

SOURCES = ("utf-8", "gbk", "big5")
# The codepages of issue #15; latin-1 is read back through the cp1252 table (its superset here).
CODEPAGES = ("cp1252", "latin-1", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257",
             "iso8859-2", "iso8859-5", "iso8859-7", "koi8-r", "mac-roman")
VARIANTS = ("intact", "last byte dropped", "middle byte dropped")
# Negatives written here (the seeds-only run has no corpus): European text a Chinese page
# quotes, whose letters are exactly what the codepages produce, and code.
WRITTEN_NEGATIVES = {
    "european": [
        "Президент России Владимир Путин провёл переговоры в Пекине.",
        "Ελληνική Δημοκρατία: η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "Dvořák napsal Novosvětskou symfonii; Łódź, Kraków i Gdańsk leżą w Polsce.",
        "İstanbul Boğazı'nda gemi trafiği; Şişli ve Üsküdar ilçeleri.",
        "Rīga un Vilnius: Lietuvos ir Latvijos sostinės; Tõnu Õnnepalu.",
        "Müller & Söhne GmbH, Straße 5, Zürich — café crème, naïve, façade.",
        "德沃夏克（Antonín Dvořák）出生于波希米亚，代表作《自新大陆》。",
        "普京（Владимир Путин）与希腊（Ελλάδα）总理会谈。",
        "伊斯坦布尔（İstanbul）和罗兹（Łódź）是友好城市。",
    ],
    "code": [
        'print("你好，世界")  # 输出问候语',
        "SELECT name, age FROM users WHERE city = '北京' ORDER BY age DESC;",
        "const msg = `共 ${count} 条记录`; if (a && b || !c) { return x[i] ^ 0xFF; }",
        "<div class=\"title\">新闻标题</div><span>&copy; 2024</span>",
        "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; } // 计算内积",
        "def 计算(x: int) -> int:\n    return x ** 2",
    ],
}


def synthetic_lines(corpus: Path | None, limit: int) -> list[str]:
    """Clean Chinese lines: the seeds' clean lines, then the corpus's gold texts (if any)."""
    lines: list[str] = []
    for _name, text, intended in seed_texts():
        for number, line in enumerate(text.split("\n"), 1):
            if number not in intended and any("\u4e00" <= ch <= "\u9fff" for ch in line):
                lines.append(line.strip())
    if corpus is not None:
        for path in sorted((corpus / "magic_html" / "gold_zh").glob("*.txt")):
            for line in path.read_text("utf-8", errors="replace").split("\n"):
                if sum("\u4e00" <= ch <= "\u9fff" for ch in line) >= 4 and "\ufffd" not in line:
                    lines.append(line.strip())
    seen: set[str] = set()
    unique = [line for line in lines if line and not (line in seen or seen.add(line))]
    return unique[:limit]


def negative_lines(corpus: Path | None) -> dict[str, list[str]]:
    """Clean text that must come out unchanged, by kind."""
    kinds: dict[str, list[str]] = defaultdict(list)
    for case in json.loads((ROOT / "tests" / "golden" / "mojibake" / "negative.json").read_text("utf-8")):
        kind = "classical" if case["label"].startswith("classical") else "mixed (golden negatives)"
        kinds[kind] += case["original"].split("\n")
    for kind, lines in WRITTEN_NEGATIVES.items():
        kinds[kind] += [part for line in lines for part in line.split("\n")]
    kinds["european (CLDR names)"] += cldr_lines()
    if corpus is not None:
        cjk = corpus / "cpython_cjkencodings" / "Lib" / "test" / "cjkencodings"
        for name, kind in (("euc_jp-utf8.txt", "japanese"), ("iso2022_jp-utf8.txt", "japanese"),
                           ("euc_jisx0213-utf8.txt", "japanese"), ("cp949-utf8.txt", "korean"),
                           ("euc_kr-utf8.txt", "korean"), ("johab-utf8.txt", "korean")):
            if (cjk / name).exists():
                kinds[kind] += (cjk / name).read_text("utf-8", errors="replace").split("\n")
        for rel, codec, kind in (("uchardet/test/ja/shift_jis.txt", "shift_jis", "japanese"),
                                 ("uchardet/test/ko/utf-8.txt", "utf-8", "korean")):
            if (corpus / rel).exists():
                kinds[kind] += (corpus / rel).read_bytes().decode(codec, errors="replace").split("\n")
    else:
        kinds["japanese"] += ["Python の開発は、1990 年ごろから開始されています。",
                              "東京都の天気予報：明日は晴れ、最高気温は２５度です。"]
        kinds["korean"] += ["파이썬은 1991년 귀도 반 로섬이 발표한 프로그래밍 언어입니다.",
                            "서울특별시는 대한민국의 수도이다."]
    return {kind: [line for line in lines if line.strip()] for kind, lines in kinds.items()}


# Locales whose letters are the codepages' upper halves: Cyrillic, Greek, Central European,
# Baltic, Turkish, Nordic, Western.
CLDR_LOCALES = ("ru uk bg sr mk el pl cs sk hu ro hr sl tr lv lt et de fr es pt it is da sv nb "
                "fi az").split()


def cldr_lines() -> list[str]:
    """Real European words next to Chinese: the CLDR names of territories, languages, months
    and days in each locale (babel, installed with the dev extra), six to a line, and three in
    a Chinese sentence. Empty when babel is not installed."""
    try:
        from babel import Locale
    except ImportError:
        return []
    lines: list[str] = []
    for code in CLDR_LOCALES:
        locale = Locale.parse(code)
        words = [w for w in [*locale.territories.values(), *list(locale.languages.values())[:300],
                             *locale.months["format"]["wide"].values(),
                             *locale.days["format"]["wide"].values()] if not w.isascii()]
        for i in range(0, len(words), 6):
            lines.append(" ".join(words[i:i + 6]))
            lines.append("（" + "、".join(words[i:i + 3]) + "）是外文名称。")
    return lines


def _source_bytes(line: str, source: str, to_traditional: Callable[[str], str]) -> bytes | None:
    """`line` in `source` (Big5 gets the Traditional form); None when it cannot be encoded."""
    try:
        if source == "big5":
            return to_traditional(line).encode("cp950")
        return line.encode("gb18030" if source == "gbk" else source)
    except UnicodeEncodeError:
        return None


def _char_spans(text: str, source: str) -> list[tuple[int, int]]:
    codec = {"gbk": "gb18030", "big5": "cp950"}.get(source, source)
    spans, pos = [], 0
    for ch in text:
        size = len(ch.encode(codec))
        spans.append((pos, pos + size))
        pos += size
    return spans


def _damage(text: str, raw: bytes, source: str, variant: str) -> tuple[bytes, int] | None:
    """The bytes with one byte dropped and the index of the damaged character (None: the
    variant does not apply, e.g. the byte to drop is ASCII)."""
    spans = _char_spans(text, source)
    if variant == "last byte dropped":
        index = len(text) - 1
        drop = len(raw) - 1
    else:
        wide = [i for i, (a, b) in enumerate(spans) if b - a > 1]
        if not wide:
            return None
        index = wide[len(wide) // 2]
        drop = spans[index][1] - 1  # its last byte (for a double-byte character: the trail)
        if len(wide) % 2:
            drop = spans[index][0]  # every other line loses the lead byte instead
    if spans[index][1] - spans[index][0] < 2:
        return None
    return raw[:drop] + raw[drop + 1:], index


def evaluate_synthetic(corpus: Path | None, cfg: RepairConfig, limit: int, show: int) -> int:
    import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-1252)
    import opencc

    to_traditional = opencc.OpenCC("s2t.json").convert
    lines = synthetic_lines(corpus, limit)
    print(f"synthetic (issue #15): {len(lines)} clean Chinese lines "
          f"({'seeds + corpus gold texts' if corpus else 'seeds only'}), "
          f"{len(SOURCES)} source encodings x {len(CODEPAGES)} codepages x {len(VARIANTS)} variants")
    intact: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    damaged: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    examples: list[str] = []
    for source in SOURCES:
        for line in lines:
            raw = _source_bytes(line, source, to_traditional)
            if raw is None:
                continue
            # what a right decoder makes of the bytes (cp950 reads "•" back as "‧")
            text = raw.decode("cp950" if source == "big5" else "gb18030" if source == "gbk" else source)
            for codepage in CODEPAGES:
                garbled = raw.decode(codepage, errors="replace")
                counts = intact[(source, codepage)]
                out, changes = _run_line(garbled, cfg)
                lossless = "\ufffd" not in garbled
                counts["lossless" if lossless else "lossy"] += 1
                counts["exact"] += lossless and out == text
                counts["wrong"] += _guessed(garbled, out, cfg, text)
                if lossless and out != text and len(examples) < show:
                    examples.append(f"  [{source} via {codepage}] {garbled[:60]!r}\n"
                                    f"     -> {out[:60]!r}\n     want {text[:60]!r}")
                for variant in VARIANTS[1:]:
                    hurt = _damage(text, raw, source, variant)
                    if hurt is None:
                        continue
                    cut, index = hurt
                    garbled = cut.decode(codepage, errors="replace")
                    if "\ufffd" in garbled:
                        continue  # the floor is on damage the codepage itself did not add to
                    out, changes = _run_line(garbled, cfg)
                    counts = damaged[(source, variant)]
                    counts["lines"] += 1
                    counts[f"lines {codepage}"] += 1
                    spans = _char_spans(text, source)
                    remnant = cut[spans[index][0]:spans[index][1] - 1].decode(codepage, errors="replace")
                    partial = text[:index] + remnant + text[index + 1:]
                    # ftfy's fix_c1_controls rewrites a C1 control in the kept remnant as the
                    # cp1252 character of the same byte ("æ\x9c" -> "æœ"): same bytes, no guess
                    c1 = remnant.encode("latin-1", errors="ignore").decode("sloppy-windows-1252")
                    wrong = _guessed(garbled, out, cfg, text, partial, text[:index] + c1 + text[index + 1:])
                    counts["wrong"] += wrong
                    counts[f"wrong {codepage}"] += wrong
                    if remnant.isascii():
                        # a lost lead byte whose trail is ASCII 40-7E: "關" (EA 50) leaves "P",
                        # which nothing tells from a letter that was there
                        counts["undetectable"] += 1
                        counts[f"lines {codepage}"] -= 1
                        counts["lines"] -= 1
                        continue
                    flagged = any(c.detail.get("lossy") and (remnant in str(c.detail.get("before"))
                                                             or c1 in str(c.detail.get("before")))
                                  for c in changes)
                    counts["flagged"] += flagged
                    counts[f"flagged {codepage}"] += flagged
                    counts["rest exact"] += out == partial
                    if not flagged and len(examples) < 2 * show:
                        examples.append(f"  [{source} via {codepage}, {variant}, not flagged] "
                                        f"{garbled[:60]!r}\n     -> {out[:60]!r}")
    print("\nexact repairs where the garbled form keeps all bytes (floor 99% in every cell):")
    print(f"{'source':7}" + "".join(f"{cp:>11}" for cp in CODEPAGES))
    worst = 100.0
    for source in SOURCES:
        cells = []
        for codepage in CODEPAGES:
            c = intact[(source, codepage)]
            pct = 100 * c["exact"] / c["lossless"] if c["lossless"] else float("nan")
            worst = min(worst, pct) if c["lossless"] else worst
            cells.append(f"{pct:10.1f}%" if c["lossless"] else f"{'-':>11}")
        print(f"{source:7}" + "".join(cells))
    print(f"{'lines':7}" + "".join(f"{intact[(s, cp)]['lossless']:>11}" for s in SOURCES[:1] for cp in CODEPAGES)
          + "  (utf-8; gbk and big5 below)")
    for source in SOURCES[1:]:
        print(f"{'':7}" + "".join(f"{intact[(source, cp)]['lossless']:>11}" for cp in CODEPAGES))
    lossy = sum(c["lossy"] for c in intact.values())
    wrong = sum(c["wrong"] for c in intact.values())
    print(f"lines the codepage itself made lossy (undefined bytes, U+FFFD): {lossy}, not scored "
          f"for exactness; lines with a guessed character, all intact lines: {wrong}")
    print(f"worst cell: {worst:.1f}%")
    print("\ndamaged (one byte dropped): the damage flagged lossy (floor 100%), wrong = lines "
          "with a guessed character (floor 0), everything else restored exactly:")
    print(f"{'source':7} {'variant':20} {'lines':>6} {'flagged':>8} {'wrong':>6} {'rest exact':>10} "
          f"{'undetectable':>12}")
    for (source, variant), c in sorted(damaged.items()):
        print(f"{source:7} {variant:20} {c['lines']:6d} {100 * c['flagged'] / c['lines']:7.1f}% "
              f"{c['wrong']:6d} {100 * c['rest exact'] / c['lines']:9.1f}% {c['undetectable']:12d}")
    print("  (undetectable: the lost byte was a lead whose trail is ASCII 40-7E, so what is left "
          "is a letter like any other; not in `lines`)")
    unflagged = [f"{s}/{v}/{cp}: {c['lines ' + cp] - c['flagged ' + cp]}" for (s, v), c in sorted(damaged.items())
                 for cp in CODEPAGES if c["lines " + cp] - c["flagged " + cp]]
    if unflagged:
        print("  not flagged, by cell: " + ", ".join(unflagged))
    print("\nnegatives: the same clean lines and other clean text, untouched (floor 0 changed):")
    negatives = {"the clean lines above": lines, **negative_lines(corpus)}
    total = changed_total = 0
    for kind, texts in negatives.items():
        changed = flagged = 0
        for text in texts:
            out, changes = _run_line(text, cfg)
            changed += out != text
            flagged += out == text and bool(changes)
            if out != text and len(examples) < 3 * show:
                examples.append(f"  [negative {kind}] {text[:60]!r}\n     -> {out[:60]!r}")
        total += len(texts)
        changed_total += changed
        print(f"  {kind:28} {changed:4d} of {len(texts):5d} changed ({flagged} only flagged)")
    print(f"  total: {changed_total} of {total} clean lines changed")
    if examples:
        print("examples:")
        print("\n".join(examples))
    return 0


def _run_line(text: str, cfg: RepairConfig) -> tuple[str, tuple[Change, ...]]:
    doc = Document(source=Source.from_bytes("eval", b""), text=text)
    result = repair(doc, cfg)
    return result.text, result.changes


def _guessed(garbled: str, out: str, cfg: RepairConfig, *originals: str) -> bool:
    """Does `out` hold a character that is neither in an original nor kept from the garbled
    line (`invented`)? The originals of a damaged line also keep the damaged character's
    remnant as it was."""
    return min(invented(garbled, out, original, cfg.lost_char_marker) for original in originals) > 0


def changed_lines(before: str, after: str) -> list[int]:
    a, b = before.split("\n"), after.split("\n")
    assert len(a) == len(b), "line structure changed"
    return [i + 1 for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path, nargs="?", help="the corpus directory (../shared/corpus)")
    parser.add_argument("--show", type=int, default=12, help="examples of non-exact rows to print")
    parser.add_argument("--synthetic", action="store_true",
                        help="the generated benchmark of issue #15 (seeds, plus the corpus's "
                             "clean texts when CORPUS is given and present)")
    parser.add_argument("--lines", type=int, default=600, help="clean lines for --synthetic")
    args = parser.parse_args(argv)
    if args.synthetic:
        corpus = args.corpus if args.corpus is not None and args.corpus.exists() else None
        return evaluate_synthetic(corpus, RepairConfig(), args.lines, args.show)
    if args.corpus is None or not (args.corpus / "mojibake.jsonl").exists():
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
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
