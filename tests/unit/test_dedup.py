"""dedup (issue #7): within-document collapsing, exact keys, near duplicates, shared passages.

All inputs are the user's seeds (``seeds/``) and copies made from them the way the wild makes
them: re-encoded, converted to the other script, full-width punctuation, other chrome.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from pathlib import Path

import opencc
import pytest

from cleaners import dedup
from cleaners.dedup import (
    Candidate,
    DedupConfig,
    Signature,
    choose_canonical,
    decide,
    dedup_key,
    fold,
    fold_with_map,
    jaccard,
    minhash,
    minhashes,
    near_duplicates,
    record_id,
    shared_passages,
    similarity,
    within,
)
from cleaners.model import Change, CleaningError, Document, Source, TrailEntry

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
CFG = DedupConfig()
# The repair step removes seed 004's flattened pinyin annotations (發(fā)) before dedup runs.
PINYIN = re.compile(r"\([a-zāáǎàōóǒòēéěèīíǐìūúǔùǖǘǚǜü]+\)")
# Full-width punctuation as a Big5 page or the convert step prints it.
FULL_WIDTH = str.maketrans({",": "，", ":": "：", "(": "（", ")": "）", "?": "？", "!": "！", ";": "；"})


# The repair step undoes seed 003's byte-misaligned mojibake (DESIGN.md, "repair"); dedup sees
# the repaired sentence, which a Big5 copy can carry too (the garbled one has private-use chars).
GARBLED_003 = re.compile(r"\?!皵底终.*?工程\?!敝袊.苿狱h")
REPAIRED_003 = "。“數字政府建設是一項長期性、持續性、系統性的宏大工程。”中國移動黨"


def seed(prefix: str) -> str:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    text = PINYIN.sub("", path.read_text(encoding="utf-8"))
    return GARBLED_003.sub(REPAIRED_003, text)


def doc(text: str, path: str = "x.txt", **metadata: object) -> Document:
    raw = text.encode("utf-8")
    return Document(Source.from_bytes(path, raw), raw=raw, text=text, metadata=metadata)


@pytest.fixture(scope="module")
def seeds() -> dict[str, str]:
    return {p.name[:3]: seed(p.name[:3]) for p in sorted(SEEDS.glob("*.txt"))}


@pytest.fixture(scope="module")
def cc() -> dict[str, opencc.OpenCC]:
    return {name: opencc.OpenCC(f"{name}.json") for name in ("t2s", "s2t", "s2tw", "s2hk")}


def changes(text: str) -> list[tuple[str, str, str, int]]:
    out = within(doc(text), CFG)
    return [(c.action, c.what, c.where, c.detail["kept_line"]) for c in out.changes]


# ---------------------------------------------------------------------------------------------
# Within a document: golden cases on the seeds.

# (seed, how the text reaches dedup, expected changes (action, rule, where, kept_line))
GOLDEN_WITHIN = [
    ("000", "as is", [("drop", "rule:teaser_lead", "line 1", 2)]),
    ("000", "label stripped", [("drop", "rule:teaser_lead", "line 1", 2)]),
    ("000", "simplified", [("drop", "rule:teaser_lead", "line 1", 2)]),
    ("001", "as is", []),
    ("002", "as is", [("remove", "rule:repeated_paragraph", "line 2", 1),
                      ("drop", "rule:teaser_lead", "line 15", 1)]),
    ("002", "simplified", [("remove", "rule:repeated_paragraph", "line 2", 1),
                           ("drop", "rule:teaser_lead", "line 15", 1)]),
    ("003", "as is", []),
    ("004", "as is", [("remove", "rule:glued_summary", "line 4", 4)]),
    ("004", "label stripped", [("remove", "rule:glued_summary", "line 4", 4)]),
    ("004", "simplified", [("remove", "rule:glued_summary", "line 4", 4)]),
]
LABELS = ("導讀 ", "核心提示:")


def prepared(seeds: dict[str, str], cc: dict[str, opencc.OpenCC], name: str, how: str) -> str:
    text = seeds[name]
    if how == "label stripped":          # boilerplate.strip removes only the label
        for label in LABELS:
            text = text.replace(label, "", 1)
    elif how == "simplified":            # script.convert ran with the default target
        text = cc["t2s"].convert(text)
    return text


@pytest.mark.parametrize(("name", "how", "expected"), GOLDEN_WITHIN,
                         ids=[f"{n}-{h}" for n, h, _ in GOLDEN_WITHIN])
def test_within_golden(seeds, cc, name, how, expected):
    text = prepared(seeds, cc, name, how)
    out = within(doc(text), CFG)
    assert [(c.action, c.what, c.where, c.detail["kept_line"]) for c in out.changes] == expected
    lines = text.split("\n")
    for change in out.changes:
        assert change.step == "dedup.within" and change.why
        line = lines[int(change.where.split()[1]) - 1]
        if change.action == "drop":               # the whole line is kept in the trail
            assert change.detail["text"] == line
        else:                                     # a removed part of the line is kept in the trail
            assert line.startswith(change.detail["text"]) and change.detail["chars"]
    if not expected:
        assert out.text == text
    # Idempotent: nothing left to collapse.
    assert within(doc(out.text), CFG).changes == ()


def test_000_teaser_dropped_body_kept(seeds):
    text = seeds["000"]
    out = within(doc(text), CFG)
    lines = text.split("\n")
    assert out.text == "\n".join(lines[1:])
    assert lines[0].startswith("導讀") and lines[0].endswith("...")
    assert out.changes[0].detail["text"] == lines[0]


def test_002_paragraph_once_question_kept(seeds):
    text = seeds["002"]
    lines = text.split("\n")
    para = lines[0]
    out = within(doc(text), CFG).text
    # The paragraph once; the question that was glued to its second copy stays as its own line.
    assert out.count(para) == 1
    assert out.split("\n")[:2] == [para, "我國數字政府建設現狀如何?"]
    assert lines[14] not in out and lines[14].startswith(para[:40])
    # The related-article teasers at the end (other articles, not this one) are not ours to drop.
    for line in lines[16:]:
        assert line in out


def test_004_truncated_summary_removed_full_paragraph_kept(seeds):
    text = seeds["004"]
    out = within(doc(text), CFG)
    line4 = out.text.split("\n")[3]
    assert line4.startswith("廣東省政府新聞辦舉行新聞發布會")
    assert "以及“十四五”時期發展目標" in line4 and line4.count("廣東省政府新聞辦") == 1
    removed = out.changes[0].detail
    assert removed["text"].startswith("核心提示:") and removed["text"].endswith("以及“十四五")
    assert removed["label"] == "核心提示:"
    # Before the repair step (pinyin still flattened in) the same collapse happens.
    raw = next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8")
    assert [c.what for c in within(doc(raw), CFG).changes] == ["rule:glued_summary"]


def test_within_variants_on_real_paragraphs(seeds):
    para = seeds["003"].split("\n")[12].strip()           # a 150-char paragraph of seed 003
    # A truncated summary with a label on its own line, before the paragraph.
    assert changes(f"核心提示:{para[:60]}\n{para}") == [("drop", "rule:teaser_lead", "line 1", 2)]
    # Without a label and without "...": a truncated copy of a later paragraph.
    assert changes(f"{para[:60]}\n{para}") == [("drop", "rule:repeated_paragraph", "line 1", 2)]
    # A teaser ending in "…" after the paragraph, and an exact repeat further down.
    assert changes(f"{para}\n其他段落。\n{para[:50]}…\n{para}") == [
        ("drop", "rule:teaser_lead", "line 3", 1), ("drop", "rule:repeated_paragraph", "line 4", 1)]
    # The same paragraph twice on one line: the second copy is the full one, the first goes.
    assert changes(f"{para}{para}") == [("remove", "rule:glued_summary", "line 1", 1)]


def test_within_leaves_short_and_distinct_lines_alone(seeds):
    # Repeated headings and titles (seed 001 prints its title twice) are not paragraphs.
    title = "河北省人民政府關於加強數字政府建設的實施意見"
    assert changes(f"{title}\n正文。\n{title}") == []
    # A short "..." line that is a prefix of a paragraph is a related-link title, not a teaser.
    assert changes("數字政府是指...\n" + seeds["002"].split("\n")[0]) == []
    # A title quoted inside a long paragraph is not a repeat of it.
    title = f"《{title}》的主要內容與解讀要點說明"
    body = seeds["001"].split("\n")[98].strip()
    assert changes(f"{title}\n{body[:80]}{title}{body[80:]}") == []


# ---------------------------------------------------------------------------------------------
# Exact duplicates: one key per page across encodings, scripts and widths.


def copies(text: str, cc: dict[str, opencc.OpenCC]) -> dict[str, str]:
    """The same page as it arrives from elsewhere, decoded back to text."""
    traditional_tw = cc["s2tw"].convert(text).translate(FULL_WIDTH).replace("\xa0", " ")
    return {
        "gb18030": text.encode("gb18030").decode("gb18030"),
        "utf-16": ("\ufeff" + text).encode("utf-16-le").decode("utf-16-le"),
        "big5": traditional_tw.encode("big5hkscs").decode("big5hkscs"),
        "simplified": cc["t2s"].convert(text),
        "traditional": cc["s2t"].convert(text),
        "hong-kong": cc["s2hk"].convert(text),
        "taiwan-corner-quotes": traditional_tw.replace("“", "「").replace("”", "」"),
        "crlf-and-spaces": text.replace("\n", "\r\n  ").replace("。", "。 "),
    }


@pytest.mark.parametrize("name", ["000", "001", "002", "003", "004"])
def test_key_equal_across_copies(seeds, cc, name):
    key = dedup_key(seeds[name])
    for how, copy in copies(seeds[name], cc).items():
        assert copy != seeds[name] or how == "gb18030"
        assert dedup_key(copy) == key, how


def test_five_seeds_five_keys_five_records(seeds, cc):
    keys = {dedup_key(t) for t in seeds.values()}
    assert len(keys) == 5
    assert all(record_id(k).isascii() and record_id(k).startswith("doc-") for k in keys)
    signatures = []
    for name, text in seeds.items():
        for how, copy in {"original": text, **copies(text, cc)}.items():
            signatures.append(dedup.signature(f"{name}/{how}", doc(copy, f"{name}-{how}.txt")))
    decisions = decide(signatures, known={})
    records = {d.record_id for d in decisions}
    assert len(records) == 5
    assert sum(d.kept for d in decisions) == 5
    for rid in records:
        members = [d for d in decisions if d.record_id == rid]
        assert len(members) == 9 and len({d.input_id.split("/")[0] for d in members}) == 1
        keeper = next(d for d in members if d.kept)
        assert all(d.duplicate_of == keeper.input_id for d in members if not d.kept)
    # Tonight's run over the same pages: every one is known, none kept anew.
    known = {s.key: record_id(s.key) for s in signatures}
    again = decide(signatures, known)
    assert not any(d.kept for d in again) and all(d.known for d in again)


def test_decide_keep_policy_prefers_earliest_then_official():
    text = "数字政府建设驱动数字经济发展和数字社会建设。" * 3
    sigs = [dedup.signature("mirror", doc(text, "b.txt", published="2021-07-17T09:00:00",
                                          url="https://www.example.com/a")),
            dedup.signature("gov", doc(text, "c.txt", published="2021-07-16T17:09:56",
                                       url="https://www.gd.gov.cn/a")),
            dedup.signature("undated", doc(text + " ", "a.txt"))]
    assert {d.input_id for d in decide(sigs, {}) if d.kept} == {"gov"}
    # The lead's code builds signatures positionally: the original four fields still suffice.
    legacy = Signature("0", dedup_key(text), len(text), "a.txt")
    assert decide([legacy], {})[0].kept


def test_decide_prefers_the_copy_repair_touched_least_before_the_path():
    """Same text, no publish time, no official source: the copy repair rebuilt loses although
    its path sorts first; a publish time still outranks it (the policy's order)."""
    text = "数字政府建设驱动数字经济发展和数字社会建设。" * 3
    garbled = Signature("garbled", dedup_key(text), len(text), "a.txt", repairs=11)
    intact = Signature("intact", dedup_key(text), len(text), "b.txt")
    assert {d.input_id for d in decide([garbled, intact], {}) if d.kept} == {"intact"}
    dated = dataclasses.replace(garbled, published="2022-06-24")
    assert {d.input_id for d in decide([dated, intact], {}) if d.kept} == {"garbled"}
    # What repair flags without editing does not count.
    repaired = Document(Source("x", "0", 0), text=text, trail=(TrailEntry(
        "mojibake.repair", "1", True, (Change("mojibake.repair", "decode", "utf-8/gb18030", "line 1", "x"),
                                       Change("mojibake.repair", "flag", "pua", "line 2", "x"))),))
    assert dedup.signature("r", repaired).repairs == 1


# ---------------------------------------------------------------------------------------------
# Near duplicates and shared passages.


def mirror_copy(text: str) -> str:
    """Seed 003 as another site prints it: other chrome, no copyright, a few words edited."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    body = lines[3:-2]                                      # no breadcrumb/title/date, no footer
    body[2] = body[2].replace("97.98%", "98%").replace("242項", "二百四十二項")
    body[-1] = body[-1].replace("更有效益、", "")
    return "\n".join(["首頁 | 新聞中心 | 政務", "藍圖已繪就 數字政府建設他們準備這么干!",
                      "2022-06-24 來源:新華網 編輯:王某", *body, "分享到:微信 微博", "相關閱讀"])


def test_near_duplicate_found_for_mirror_copy(seeds):
    # Seed 003 as it reaches dedup: strip has removed its SEO-spam last line.
    original = seeds["003"].rstrip("\n").rsplit("\n", 1)[0]
    copy = mirror_copy(seeds["003"])
    exact = jaccard(original, copy, CFG)
    assert exact >= CFG.near_threshold
    assert dedup_key(copy) != dedup_key(seeds["003"])
    sigs = dict(zip(seeds, minhashes([*seeds.values()], CFG), strict=True))
    sigs["003"] = minhash(original, CFG)
    batch = {"mirror": minhash(copy, CFG), "003": sigs["003"]}
    found = near_duplicates(batch, CFG, known={k: v for k, v in sigs.items() if k != "003"})
    assert [(p.a, p.b) for p in found] == [("003", "mirror")]
    assert found[0].similarity >= CFG.min_estimated_similarity
    # Against the archive (003 already known) the pair is found from the batch side.
    found = near_duplicates({"mirror": batch["mirror"]}, CFG, known=sigs)
    assert [(p.a, p.b) for p in found] == [("mirror", "003")]
    # With both texts at hand the similarity reported is the exact one.
    found = near_duplicates(batch, CFG, texts={"mirror": copy, "003": original})
    assert found[0].similarity == round(exact, 4)


def test_000_and_001_share_passages_but_are_not_near_duplicates(seeds):
    a, b = seeds["000"], seeds["001"]
    assert jaccard(a, b, CFG) < 0.1 and similarity(minhash(a, CFG), minhash(b, CFG)) < 0.2
    assert near_duplicates({"000": minhash(a, CFG), "001": minhash(b, CFG)}, CFG) == []
    passages = shared_passages(a, b, CFG)
    assert len(passages) == 2
    first, second = passages
    # Seed 000 quotes 001's 2025 and 2035 targets; one word differs (應用/套用, 智能/智慧型),
    # and the passage runs on across it.
    assert first.text.startswith("到2025年,數字政府頂層設計基本完善") and "應用成效" in first.text
    assert b[first.b_start:first.b_end].startswith("到2025年") and "套用成效" in b[first.b_start:first.b_end]
    assert second.text.startswith("到2035年,以數據要素驅動") and second.text.endswith("數字政府基本建成。")
    assert all(p.chars >= CFG.min_shared_chars for p in passages)
    stored = json.loads(json.dumps([p.to_json() for p in passages]))
    assert stored[0]["a"] == f"chars {first.a_start}-{first.a_end}"
    # No other pair of seeds quotes another.
    for x, y in itertools.combinations(sorted(seeds), 2):
        if (x, y) != ("000", "001"):
            assert shared_passages(seeds[x], seeds[y], CFG) == [], (x, y)
    # Fingerprints find the pair to check without comparing every pair. A few other pairs share
    # a fingerprint only through a common 12-character phrase (the title of the State Council's
    # guideline, "大数据、人工智能、区块链"): candidates, which verification above rejects.
    prints = {name: dedup.passage_fingerprints(text, CFG) for name, text in seeds.items()}
    pairs = dedup.passage_candidates(prints)
    assert ("000", "001") in pairs and len(pairs) < len(list(itertools.combinations(seeds, 2)))
    assert ("001", "000") in dedup.passage_candidates({"001": prints["001"]}, known=prints)
    assert len(prints["000"] & prints["001"]) > 2 * max(len(prints[x] & prints[y]) for x, y in pairs
                                                        if (x, y) != ("000", "001"))


def test_near_duplicates_over_all_seed_copies(seeds, cc):
    batch = {f"{name}/{how}": minhash(copy, CFG)
             for name, text in seeds.items() for how, copy in copies(text, cc).items()}
    found = near_duplicates(batch, CFG)
    # Every pair of copies of one seed (8 copies: 28 pairs each), and nothing across seeds.
    assert all(p.a.split("/")[0] == p.b.split("/")[0] for p in found)
    assert len(found) == 5 * 28


def test_minhash_is_storable_and_batch_equals_single(seeds):
    sig = minhash(seeds["002"], CFG)
    assert len(sig) == CFG.num_perm and all(isinstance(v, int) and 0 <= v < 2**32 for v in sig)
    assert json.loads(json.dumps(sig)) == sig
    batch = minhashes([seeds["002"], "", seeds["004"]], CFG)
    assert [list(s) for s in batch] == [sig, [], minhash(seeds["004"], CFG)]
    assert dedup.unpack_signature(dedup.pack_signature(batch[0])) == sig
    assert len(dedup.pack_signature(sig)) == 4 * CFG.num_perm
    assert minhash("", CFG) == [] and similarity([], []) == 0.0
    keys = dedup.band_keys(sig, CFG)
    assert len(keys) == CFG.bands and all(-(2**63) <= k < 2**63 for k in keys)
    assert dedup.band_keys(sig, CFG) == keys and len(set(keys)) == CFG.bands


def test_fold_map_agrees_with_fold(seeds):
    for text in seeds.values():
        folded, where = fold_with_map(text)
        assert folded == fold(text) and len(where) == len(folded) + 1
        assert list(where) == sorted(where)


# ---------------------------------------------------------------------------------------------
# Canonical choice and configuration.


def test_choose_canonical_policy():
    full = Candidate("full", 1000, "2021-07-18T10:00:00+08:00")
    early_short = Candidate("teaser", 400, "2021-07-01")
    # Completeness first: a much shorter copy loses even when it is earlier.
    assert choose_canonical([full, early_short]).id == "full"
    # Among equally complete copies (within 2%), the earliest publish time wins; times in
    # other zones are compared as instants (09:00Z is 17:00 in China).
    utc = Candidate("utc", 995, "2021-07-18T01:00:00Z")
    assert choose_canonical([full, utc]).id == "utc"
    # Then an official source; unknown times come last.
    undated_gov = Candidate("gov", 1000, None, official=True)
    dated_gov = Candidate("gov2", 990, "2021-07-18T10:00:00+08:00", official=True)
    assert choose_canonical([full, undated_gov, dated_gov]).id == "gov2"
    # Deterministic whatever the order.
    group = [full, utc, undated_gov, dated_gov, early_short]
    assert {choose_canonical(p).id for p in itertools.permutations(group)} == {"utc"}
    with pytest.raises(CleaningError):
        choose_canonical([])


def test_config_is_validated_and_every_default_has_a_reason():
    with pytest.raises(CleaningError, match="multiple of"):
        DedupConfig(num_perm=128, bands=30)
    source = Path(dedup.__file__).read_text(encoding="utf-8")
    for f in dataclasses.fields(DedupConfig):
        line = next(ln for ln in source.splitlines() if ln.strip().startswith(f"{f.name}:"))
        assert "#" in line, f.name


# --- the C-level helpers of shared passages and fingerprints ---------------------------------


def test_window_minima_and_common_length_agree_with_the_plain_definitions():
    """The block-minimum and slice-bisection shortcuts against the definitions, on random
    input that includes windows longer than the list and runs to either text's end."""
    import random

    import numpy as np

    rng = random.Random(6)
    for _ in range(300):
        values = [rng.randrange(50) for _ in range(rng.randrange(1, 120))]
        window = rng.randrange(1, len(values) + 1)
        expected = [min(values[i:i + window]) for i in range(len(values) - window + 1)]
        assert dedup._window_minima(np.array(values, dtype=np.uint32), window).tolist() == expected
    for _ in range(2000):
        a = "".join(rng.choice("数字政府") for _ in range(rng.randrange(1, 200)))
        b = a[rng.randrange(len(a)):] + "".join(rng.choice("数字政府") for _ in range(rng.randrange(40)))
        i, j = rng.randrange(len(a)), rng.randrange(len(b))
        plain = 0
        while i + plain < len(a) and j + plain < len(b) and a[i + plain] == b[j + plain]:
            plain += 1
        assert dedup._common_length(a, i, b, j, 0) == plain
