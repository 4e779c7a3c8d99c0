"""strip (`boilerplate.strip`): site chrome, ads and spam out; metadata found on the way kept.

Shape: cleaner ``(Document) -> Explained``. Runs on every document after `repair` and before
`convert` (issue #5), on text flattened from a page (the seeds) and on text `html.extract`
already reduced to the main content.

How: the text is split into lines (a line is a block: scraped dumps put one paragraph, one
menu item or one list entry per line). Each line is classified by named rules, first by its
own content, then by its neighbours (a list after a "相關推薦" heading, a run of truncated
teasers, a short line sandwiched between ads: jusText's context-sensitive pass, measured in
characters because Chinese has no spaces). Every removal is a `Change(action="remove",
what="rule:<name>", where="line N")` keeping the removed text in `detail["text"]`, so nothing of
the body can go silently. Lines that are kept are never rewritten except for two named partial
removals (a lead label such as "核心提示:", and 【打印】-style chrome tokens inside a line).

Rules (the `what` of each change; a line gets the first that fires):
  stray_bullet   a line of only dashes/bullets (seed 004 "-")
  spam           SEO keyword stuffing (`cleaners.spam`; seed 003's "|" block)
  breadcrumb     "中國西藏網 > 即時新聞 > 時政" (seed 003); the first crumb becomes `site`
  copyright      a line starting "版權聲明/版權所有/Copyright…", or an ICP licence line
  chrome_line    a line that is only site furniture: "相關詞條", "【打印】【關閉】" (001, 004)
  related_list   a "相關推薦/熱點資訊…" heading and the short or bulleted lines after it (000, 004)
  meta_line      a short line made only of "label: value" fields and dates, e.g. "發布時間:…來源:
                 新華社" (003), "2021/7/16 17:09:56 來源:…【打印】" (004), "標題:…"/"地址:URL"
                 (000); its values move into the metadata
  editor_line    a meta_line holding only the editor: "(責編: 李雨潼)" (003)
  infobox        an encyclopedia infobox: a "基本介紹" heading and "• 中文名:…" lines (001)
  toc_line       "意見全文,內容解讀," whose items are headings found further down (001)
  cta / promo    calls to action and sales pitches: "關注公眾號", "可以點擊購買…報告" (002)
  teaser_run     two or more lines cut off with "..."/"…" in a row, blank or removed lines
                 between them allowed (002's teaser headlines)
  sandwich       a short line whose neighbours are both ads (002's report title between
                 "免費咨詢行業專家" and its teaser)
  lead_label     only the label of "導讀 …" (000) / "核心提示:…" (004); the teaser itself
                 repeats the body and is `dedup.within`'s to collapse (issue #7)
  chrome_inline  【字體:大 中 小】-style tokens inside a line that has other text
  blank_lines    blank lines left doubled, leading or trailing by the removals above

Scripts: the text may still mix Traditional and Simplified (conversion runs later) and a
mirror may convert only some characters (seed 002 "規范化"). Rules therefore match on a folded
view of each line: OpenCC's t2s applied character by character (a 1:1 table, so positions
in the view are positions in the line), full-width ASCII punctuation to ASCII, A-Z to a-z.
Lexicons are folded the same way, so a data file may list a term in either script. Seed 004
may arrive with its pinyin annotations "發(fā)" still in place when `repair` is skipped: the view
drops annotations after a Han character, so the same rules fire on both forms.

Time zone policy for `published`: a page's local time without a zone is China Standard Time,
written with `StripConfig.local_utc_offset` ("+08:00"): "2022-06-24 14:37:00" becomes
"2022-06-24T14:37:00+08:00". A date without a time is written as a date ("2023-04-12"), never
padded with an invented midnight.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cleaners import textutil
from cleaners.model import Change, CleaningError, Document, Explained, where_label
from cleaners.spam import spam_verdict
from cleaners.textutil import data_terms, view_fold

logger = logging.getLogger(__name__)

STEP = "boilerplate.strip"
VERSION = "2"  # 2: a related-list heading takes at most related_max_items entries (#14)


@dataclass(frozen=True)
class StripConfig:
    # Time zone given to a local time without one: pages in the seeds (003, 004) print Beijing time.
    local_utc_offset: str = "+08:00"
    # chars: a title is one short line; seed titles are 18-40 characters, body sentences longer.
    title_max_chars: int = 60
    # non-blank lines from the top searched for a title line when the text names none.
    title_search_lines: int = 5
    # chars: an entry of a related-links list (seed 004's headlines are 20-40).
    list_item_max_chars: int = 60
    # entries: a related-links list is short (seed 000's has 4, seed 004's 10; none in the
    # corpus's extracted pages is longer). A longer run of short lines under such a heading is
    # a text's own headings and code lines (issue #14: a blog post below a stray "相关文章"
    # came out empty): only the heading goes.
    related_max_items: int = 20
    # chars: a truncated teaser; seed 002's are 50-100, a full body paragraph is rarely cut.
    teaser_max_chars: int = 160
    # lines: a single truncated line may be a lead teaser (dedup's, issue #7); two in a row are a list.
    min_teaser_run: int = 2
    # chars: a line between two ads removed with them only when this short (seed 002's report title: 37).
    sandwich_max_chars: int = 60
    # parts: "站名 > 欄目 > 子欄目" — two crumbs could be a ratio or an arrow in prose.
    breadcrumb_min_parts: int = 3
    # chars: one crumb is a site or section name.
    breadcrumb_part_max_chars: int = 20
    # chars: a metadata line ("發布時間:…來源:…") is short; longer lines are body that mentions a source.
    meta_line_max_chars: int = 200
    # chars: a field value for publisher/author/editor/issuer; longer means prose after a colon.
    field_value_max_chars: int = 40
    # chars: a line of chrome tokens ("【字體:大 中 小】【收藏本頁】【打印】【關閉】" is 26).
    chrome_line_max_chars: int = 80
    # chars: a plain call to action ("關注公眾號") stands on its own short line.
    cta_line_max_chars: int = 40
    # chars: a sales pitch with a strong term ("點擊購買") may run to a sentence or two (seed 002: 83).
    promo_line_max_chars: int = 200
    # chars: a copyright notice is a paragraph at most (seed 003's: 104); longer lines are body.
    copyright_line_max_chars: int = 300
    # chars: an infobox label ("中文名", "印發機關").
    infobox_key_max_chars: int = 8
    # chars: an infobox value (seed 001's longest: 25).
    infobox_value_max_chars: int = 80
    # lines: one "key: value" line is a meta_line at most; an infobox has several.
    infobox_min_lines: int = 2
    # chars: one entry of a table-of-contents line ("意見全文").
    toc_item_max_chars: int = 12
    # segments: "|"-separated pieces before a line can be a keyword list (seed 003 has 41).
    spam_min_segments: int = 4
    # share of segments carrying a flagged term for a keyword list to be spam.
    spam_min_flagged_share: float = 0.5
    # share of a separator-free line covered by strong spam terms.
    spam_min_density: float = 0.3
    # occurrences of strong terms before density is considered (one "無碼" in a news story is news).
    spam_min_strong_hits: int = 3
    # weak terms ("中文字幕", "免費") that make one segment count as flagged.
    spam_weak_per_segment: int = 2


# ---------------------------------------------------------------------------------------------
# Lexicons and the folded view
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Lexicons:
    chrome: frozenset[str]
    related: frozenset[str]
    label_re: re.Pattern[str]
    copyright: tuple[str, ...]
    cta: re.Pattern[str]
    promo: re.Pattern[str]
    field_re: re.Pattern[str]
    field_keys: dict[str, str]


def _alternation(terms: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(set(terms), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)) if ordered else r"(?!)")


@cache
def _lexicons() -> _Lexicons:
    cta_terms = data_terms("boilerplate_cta.txt")
    fields: dict[str, str] = {}
    for line in data_terms("boilerplate_fields.tsv"):
        label, _, key = line.partition("\t")
        if not key:
            raise CleaningError(f"cleaners/data/boilerplate_fields.tsv: {line!r} needs label<TAB>key")
        fields[view_fold(label.strip())] = key.strip()
    field_alt = "|".join(map(re.escape, sorted(fields, key=len, reverse=True)))
    return _Lexicons(
        chrome=frozenset(_core(view_fold(t)) for t in data_terms("boilerplate_chrome.txt")),
        related=frozenset(_core(view_fold(t)) for t in data_terms("boilerplate_related.txt")),
        label_re=re.compile(r"[【\[]?(" + _alternation(view_fold(t) for t in data_terms(
            "boilerplate_labels.txt")).pattern + r")[】\]]?\s*:?\s*"),
        copyright=tuple(view_fold(t) for t in data_terms("boilerplate_copyright.txt")),
        cta=_alternation(view_fold(t) for t in cta_terms if not t.startswith("!")),
        promo=_alternation(view_fold(t[1:]) for t in cta_terms if t.startswith("!")),
        # "label:" — the label not glued to a preceding word character of the same field name
        # is checked by the residue test, not here.
        field_re=re.compile(rf"({field_alt})\s*:\s*"),
        field_keys=fields,
    )


# ---------------------------------------------------------------------------------------------
# Patterns (shapes, not vocabulary)
# ---------------------------------------------------------------------------------------------

_BULLETS = "-–—•·●▪◆◇■□○*>»›"
_LEAD_TRIM = re.compile(rf"^[\s{re.escape(_BULLETS)}]+")
_CORE_TRIM = re.compile(r"^[\s【\[(<《]+|[\s】\])>》:,.。;]+$")
_STRAY = re.compile(rf"^[\s{re.escape(_BULLETS)}_|=~]+$")
_BULLETED = re.compile(rf"^\s*([{re.escape(_BULLETS)}]|\d{{1,2}}[.)、]\s*\D)")
# A pinyin reading in parentheses right after a Han character (seed 004 before repair).
_ANNOTATION = re.compile(r"(?<=[\u3400-\u9fff])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]{1,7}\)")
_CHROME_TOKEN = re.compile(r"【([^】]{1,16})】|\[([^\]]{1,16})\]")
_BREADCRUMB_SEP = re.compile(r"\s*(?:>|›|»|->|→)\s*")
_ICP = re.compile(r"icp[备证]?\s*[:]?\s*\d{5,}|公网安备\s*\d{6,}")
_DATETIME = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2})\s*[:时]\s*(\d{2})(?:\s*[:分]\s*(\d{2})秒?)?)?(?!\d)")
_URL = re.compile(r"https?://[^\s<>\"'，。)]+")
_DOC_NUMBER = re.compile(r"^[\u4e00-\u9fff]{1,10}[〔\[［(]\d{4}[〕\]］)]\d{1,5}号$")
_HAN = re.compile(r"[\u3400-\u9fff]")
_RESIDUE_OK = re.compile(r"^[\s\W_]*$")
_TOC_SPLIT = re.compile(r"[,、;]")
_SENTENCE_END = "。"
_TRUNCATION = re.compile(r"(?:\.{3,}|(?<!…)…)\s*$")

# Rules whose removals make a neighbour suspicious (sandwich): ads, not chrome or metadata,
# so a title between a breadcrumb and a date line is never taken (seed 003).
# An organisation a sales pitch sells a report of: "購買X研究院的《…》".
_PITCHED_SOURCE = re.compile(r"(?:購買|购买|訂購|订购|來自|来自|出自)\s*([\u4e00-\u9fff]{2,20}?"
                             r"(?:研究院|研究所|研究中心|諮詢|咨询|公司|集團|集团))的《")
_AD_RULES = frozenset({"cta", "promo", "teaser_run", "related_list", "spam"})


def _core(view: str) -> str:
    """A line's view without bullets, brackets, spaces and a trailing ":" around it."""
    return _CORE_TRIM.sub("", _LEAD_TRIM.sub("", view))


@dataclass
class _Line:
    number: int                    # 1-based line number in the step's input
    raw: str
    view: str                      # folded, annotations dropped
    offsets: list[int] | None      # view index -> raw index, when annotations were dropped
    plain: str                     # raw with annotations dropped: aligned 1:1 with `view`
    core: str
    rule: str | None = None        # the rule that removes the whole line
    why: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    cuts: list[tuple[int, int, str, str]] = field(default_factory=list)  # raw spans: (a, b, rule, why)

    @property
    def blank(self) -> bool:
        return not self.raw.strip()

    def raw_span(self, a: int, b: int) -> tuple[int, int]:
        if self.offsets is None:
            return a, b
        start = self.offsets[a] if a < len(self.offsets) else len(self.raw)
        return start, (self.offsets[b - 1] + 1 if b > a else start)

    def raw_text(self, a: int, b: int) -> str:
        """The original script's text for view span a-b, without pinyin annotations."""
        return self.plain[a:b]


def _make_line(number: int, raw: str, folded: str, annotated: bool) -> _Line:
    offsets: list[int] | None
    view, offsets, plain = folded.rstrip("\r"), None, raw.rstrip("\r")
    if annotated and "(" in view:
        pieces: list[str] = []
        plain_pieces: list[str] = []
        offsets, last = [], 0
        for m in _ANNOTATION.finditer(view):
            pieces.append(view[last:m.start()])
            plain_pieces.append(plain[last:m.start()])
            offsets.extend(range(last, m.start()))
            last = m.end()
        if last:
            pieces.append(view[last:])
            plain_pieces.append(plain[last:])
            offsets.extend(range(last, len(view)))
            view, plain = "".join(pieces), "".join(plain_pieces)
        else:
            offsets = None
    return _Line(number, raw, view, offsets, plain, _core(view))


# ---------------------------------------------------------------------------------------------
# Metadata parsing
# ---------------------------------------------------------------------------------------------

def match_datetime(match: re.Match[str], utc_offset: str) -> str | None:
    """ISO 8601 from a `_DATETIME` match (`textutil.iso_datetime`'s policy).

    >>> match_datetime(_DATETIME.search("發布時間:2022-06-24 14:37:00"), "+08:00")
    '2022-06-24T14:37:00+08:00'
    >>> match_datetime(_DATETIME.search("2023年4月12日"), "+08:00")
    '2023-04-12'
    """
    return textutil.iso_datetime((*match.groups(), None), utc_offset)


@dataclass
class _Fields:
    values: dict[str, str]
    spans: list[tuple[int, int]]   # view spans consumed by fields and dates


def _parse_fields(line: _Line, cfg: StripConfig, lex: _Lexicons) -> _Fields:
    """The "label: value" fields of a line, values taken from the raw text (original script)."""
    view = line.view
    # Chrome tokens end a value ("來源:中國產業發展研究網 【字體:大 中 小】", seed 004) and are
    # not fields even when they hold a colon ("字體:").
    tokens = [(m.start(), m.end()) for m in _CHROME_TOKEN.finditer(view) if _is_chrome_token(m, lex)]
    labels = [m for m in lex.field_re.finditer(view)
              if not any(a <= m.start() < b for a, b in tokens)]
    stops = sorted([m.start() for m in labels] + [a for a, _ in tokens] + [len(view)])
    values: dict[str, str] = {}
    spans: list[tuple[int, int]] = list(tokens)
    for m in labels:
        key = lex.field_keys[m.group(1)]
        end = min(s for s in stops if s > m.start())
        vstart = m.end()
        value_view = view[vstart:end]
        # A field inside brackets: "(責編: 李雨潼)" — the closing bracket ends the value.
        if ")" in value_view:
            end = vstart + value_view.index(")")
            value_view = view[vstart:end]
        raw_value = line.raw_text(vstart, end).strip() if end > vstart else ""
        taken: tuple[int, int] | None = None
        if key == "url":
            um = _URL.search(value_view)
            if um:
                values.setdefault(key, line.raw_text(vstart + um.start(), vstart + um.end()))
                taken = (m.start(), vstart + um.end())
        elif key == "published":
            dm = _DATETIME.match(value_view.lstrip())
            if dm:
                iso = match_datetime(dm, cfg.local_utc_offset)
                if iso:
                    values.setdefault(key, iso)
                    lead = len(value_view) - len(value_view.lstrip())
                    taken = (m.start(), vstart + lead + dm.end())
        elif key == "title":
            if raw_value and len(raw_value) <= cfg.title_max_chars:
                values.setdefault(key, raw_value)
                taken = (m.start(), end)
        elif raw_value and len(raw_value) <= cfg.field_value_max_chars:
            # An outlet or a person is one token; an issuing body may not be ("河北省 人民政府").
            value = raw_value.split()[0] if key in ("publisher", "editor") else raw_value
            values.setdefault(key, value)
            skipped = len(value_view) - len(value_view.lstrip())
            taken = (m.start(), vstart + skipped + len(view_fold(value)) if key in ("publisher", "editor")
                     else end)
        if taken:
            spans.append(taken)
    if labels:
        # A bare date/time next to the fields ("2021/7/16 17:09:56 來源:…", seed 004).
        for dm in _DATETIME.finditer(view):
            if any(a <= dm.start() < b for a, b in spans):
                continue
            iso = match_datetime(dm, cfg.local_utc_offset)
            if iso:
                values.setdefault("published", iso)
                spans.append((dm.start(), dm.end()))
    return _Fields(values, spans)


def _residue(view: str, spans: list[tuple[int, int]]) -> str:
    keep = [True] * len(view)
    for a, b in spans:
        for i in range(a, min(b, len(view))):
            keep[i] = False
    return "".join(ch for ch, k in zip(view, keep, strict=True) if k)


def _is_chrome_token(m: re.Match[str], lex: _Lexicons) -> bool:
    inner = _core(m.group(1) or m.group(2) or "")
    return inner in lex.chrome or inner.startswith("字体") or inner.startswith("字号")


# ---------------------------------------------------------------------------------------------
# Line rules
# ---------------------------------------------------------------------------------------------

def _classify(line: _Line, cfg: StripConfig, lex: _Lexicons, meta: dict[str, Any]) -> None:
    """Set `line.rule` (whole-line removal) or `line.cuts` (partial), first rule that fires."""
    view, core = line.view, line.core
    n = len(core)
    if _STRAY.match(view):
        line.rule, line.why = "stray_bullet", "a line of only dashes or bullets is layout, not text"
        return
    if n > 0 and ("|" in view or "丨" in view or n >= cfg.spam_min_strong_hits * 2):

        verdict = spam_verdict(view, cfg.spam_min_segments, cfg.spam_min_flagged_share,
                               cfg.spam_min_density, cfg.spam_min_strong_hits,
                               cfg.spam_weak_per_segment)
        if verdict is not None:
            line.rule = "spam"
            line.why = (f"SEO keyword list: {verdict.flagged_segments} of {verdict.segments} "
                        f"segments flagged, {verdict.strong_hits} strong terms")
            line.detail["terms"] = list(verdict.terms)
            return
    if n <= cfg.breadcrumb_part_max_chars * cfg.breadcrumb_min_parts * 2:
        parts = [p for p in _BREADCRUMB_SEP.split(core) if p]
        if (len(parts) >= cfg.breadcrumb_min_parts and _BREADCRUMB_SEP.search(core)
                and all(len(p) <= cfg.breadcrumb_part_max_chars for p in parts)):
            line.rule, line.why = "breadcrumb", f"navigation trail of {len(parts)} crumbs"
            first = _BREADCRUMB_SEP.split(line.plain.strip())[0].strip()
            if first and view_fold(first) not in ("首页", "当前位置", "您的位置"):
                meta.setdefault("site", first.split(":")[-1].strip())
            return
    if n <= cfg.copyright_line_max_chars:
        if core.startswith(lex.copyright) or _ICP.search(view):
            line.rule, line.why = "copyright", "copyright, licence or disclaimer notice"
            return
    if core in lex.related:
        line.rule, line.why = "related_list", "heading of a list of links to other pages"
        return
    if core in lex.chrome or (n <= cfg.chrome_line_max_chars and _only_chrome_tokens(view, lex)):
        line.rule, line.why = "chrome_line", "site furniture (print, close, share, footer links)"
        return
    if n <= cfg.meta_line_max_chars and ":" in view:
        fields = _parse_fields(line, cfg, lex)
        if fields.values and _RESIDUE_OK.match(_residue(view, fields.spans)):
            only_editor = set(fields.values) == {"editor"}
            line.rule = "editor_line" if only_editor else "meta_line"
            line.why = ("editor credit, kept as metadata" if only_editor
                        else "metadata line (" + ", ".join(sorted(fields.values)) + ") moved to metadata")
            line.detail["fields"] = dict(fields.values)
            for key, value in fields.values.items():
                meta.setdefault(key, value)
            return
    if n <= cfg.promo_line_max_chars and lex.promo.search(view):
        line.rule, line.why = "promo", f"sales pitch ({lex.promo.search(view).group(0)})"  # type: ignore[union-attr]
        return
    if n <= cfg.cta_line_max_chars:
        cta = lex.cta.search(view)
        if cta:
            line.rule, line.why = "cta", f"call to action ({cta.group(0)})"
            return
    _partial_cuts(line, lex)


def _only_chrome_tokens(view: str, lex: _Lexicons) -> bool:
    """True for "【字體:大 中 小】【收藏本頁】【打印】【關閉】" and "上一篇 | 下一篇"."""
    rest = _CHROME_TOKEN.sub(lambda m: "" if _is_chrome_token(m, lex) else m.group(0), view)
    if rest != view and not rest.strip(" |/·-"):
        return True
    pieces = [p for p in re.split(r"[\s|/·]+", _core(view)) if p]
    return len(pieces) > 1 and all(p in lex.chrome for p in pieces)


def _partial_cuts(line: _Line, lex: _Lexicons) -> None:
    view = line.view
    stripped = view.lstrip()
    lead = len(view) - len(stripped)
    m = lex.label_re.match(stripped)
    # The label must be followed by a separator (space, ":" or a bracket), or stand alone.
    if m and (m.end() > len(m.group(1)) or m.end() == len(stripped)):
        a, b = line.raw_span(lead, lead + m.end())
        if b >= len(line.raw.rstrip()):
            line.rule, line.why = "lead_label", "a lead label with nothing after it"
            return
        line.cuts.append((a, b, "lead_label",
                          "label of a lead summary; the summary itself is left to dedup.within"))
    if "【" in view or "[" in view:
        for t in _CHROME_TOKEN.finditer(view):
            if _is_chrome_token(t, lex):
                a, b = line.raw_span(t.start(), t.end())
                line.cuts.append((a, b, "chrome_inline", "site furniture inside a line of text"))


# ---------------------------------------------------------------------------------------------
# Context rules
# ---------------------------------------------------------------------------------------------

def _infobox(lines: list[_Line], cfg: StripConfig, lex: _Lexicons, meta: dict[str, Any]) -> None:
    """Runs of bulleted "key: value" lines (seed 001) and the heading just above them."""
    pattern = re.compile(rf"^\s*[{re.escape(_BULLETS)}]\s*([^\s:]{{1,{cfg.infobox_key_max_chars}}})"
                         rf"\s*:\s*(.{{1,{cfg.infobox_value_max_chars}}})$")
    i = 0
    while i < len(lines):
        run: list[tuple[_Line, re.Match[str]]] = []
        j = i
        while j < len(lines):
            m = pattern.match(lines[j].view)
            if not m or (lines[j].rule is not None and lines[j].rule != "meta_line"):
                break
            run.append((lines[j], m))
            j += 1
        if len(run) < cfg.infobox_min_lines:
            i = max(j, i + 1)
            continue
        box: dict[str, str] = {}
        for line, m in run:
            key_raw = line.raw_text(m.start(1), m.end(1)).strip()
            value_raw = line.raw_text(m.start(2), m.end(2)).strip()
            box[key_raw] = value_raw
            line.rule, line.why = "infobox", "encyclopedia infobox entry, kept as metadata"
            line.detail = {"field": key_raw, "value": value_raw}
            target = lex.field_keys.get(m.group(1))
            if target == "published":
                dm = _DATETIME.search(m.group(2))
                iso = match_datetime(dm, cfg.local_utc_offset) if dm else None
                if iso:
                    meta.setdefault(target, iso)
            elif target:
                meta.setdefault(target, value_raw)
        heading = _prev_nonblank(lines, i)
        if heading is not None and heading.rule is None and heading.core in ("基本介绍", "基本信息",
                                                                              "基本资料", "基本概况"):
            heading.rule, heading.why = "infobox", "infobox heading"
        i = j


def _toc(lines: list[_Line], cfg: StripConfig) -> None:
    """A line of short comma-separated items that are all headings further on (seed 001)."""
    last_seen: dict[str, int] = {}
    for idx, ln in enumerate(lines):
        if ln.core and len(ln.core) <= cfg.toc_item_max_chars:
            last_seen[ln.core] = idx
    for idx, line in enumerate(lines):
        if line.rule is not None or line.blank or not _TOC_SPLIT.search(line.view):
            continue
        items = [p.strip() for p in _TOC_SPLIT.split(line.view) if p.strip()]
        if (len(items) >= 2 and all(len(p) <= cfg.toc_item_max_chars for p in items)
                and all(last_seen.get(p, -1) > idx for p in items)):
            line.rule, line.why = "toc_line", "table of contents: every item is a heading below"
            line.detail["items"] = items


def _related_lists(lines: list[_Line], cfg: StripConfig) -> None:
    """Extend each related-list heading over the list entries that follow it."""
    for idx, head in enumerate(lines):
        if head.rule != "related_list" or head.detail.get("item"):
            continue
        bulleted: bool | None = None
        entries: list[_Line] = []
        for line in lines[idx + 1:]:
            if line.blank or line.rule is not None:
                continue
            is_bullet = bool(_BULLETED.match(line.raw))
            if bulleted is None:
                bulleted = is_bullet
            if ((bulleted and not is_bullet) or len(line.core) > cfg.list_item_max_chars
                    or _SENTENCE_END in line.view or line.cuts or len(entries) > cfg.related_max_items):
                break
            entries.append(line)
        if len(entries) > cfg.related_max_items:
            continue            # not a list: the text's own short lines
        for line in entries:
            line.rule, line.why = "related_list", f"entry of the list under line {head.number}"
            line.detail["item"] = True


def _teaser_runs(lines: list[_Line], cfg: StripConfig) -> None:
    run: list[_Line] = []

    def close() -> None:
        if len(run) >= cfg.min_teaser_run:
            for ln in run:
                ln.rule = "teaser_run"
                ln.why = f"one of {len(run)} truncated teasers in a row (links to other articles)"
        run.clear()

    for line in lines:
        if line.blank or line.rule is not None:
            continue
        if len(line.core) <= cfg.teaser_max_chars and _TRUNCATION.search(line.view) and not line.cuts:
            run.append(line)
        else:
            close()
    close()


def _sandwiches(lines: list[_Line], cfg: StripConfig, title: _Line | None) -> None:
    body = [ln for ln in lines if not ln.blank]
    for k in range(1, len(body) - 1):
        line = body[k]
        if (line.rule is None and line is not title and not line.cuts
                and len(line.core) <= cfg.sandwich_max_chars and _SENTENCE_END not in line.view
                and body[k - 1].rule in _AD_RULES and body[k + 1].rule in _AD_RULES):
            line.rule = "sandwich"
            line.why = (f"short line between removed {body[k - 1].rule} (line {body[k - 1].number}) "
                        f"and {body[k + 1].rule} (line {body[k + 1].number})")


def _prev_nonblank(lines: list[_Line], idx: int) -> _Line | None:
    for line in reversed(lines[:idx]):
        if not line.blank:
            return line
    return None


def _find_title(lines: list[_Line], cfg: StripConfig) -> tuple[_Line | None, str | None]:
    """The title line near the top and its text. A line that repeats the line before it and
    goes on is a lead glued to the title that followed it on the page (seed 002: the summary,
    then the summary again with "我國數字政府建設現狀如何?" after it): its rest is a candidate."""
    seen = 0
    prev: _Line | None = None
    for line in lines:
        if line.blank or line.rule is not None:
            continue
        seen += 1
        if seen > cfg.title_search_lines:
            return None, None
        text, title = line.core, line.plain.strip()
        lead = prev.plain.strip() if prev is not None else ""
        if len(lead) > cfg.title_max_chars and title.startswith(lead) and len(title) > len(lead):
            title = title[len(lead):].strip()
            text = title
        prev = line
        if (0 < len(text) <= cfg.title_max_chars and _HAN.search(text) and not line.cuts
                and not _TRUNCATION.search(line.view) and text[-1] not in "。,;:…"):
            return line, title
    return None, None


# ---------------------------------------------------------------------------------------------
# The step
# ---------------------------------------------------------------------------------------------

def strip(doc: Document, cfg: StripConfig) -> Explained:
    """Remove chrome, ads and spam from `doc.text`; move the metadata found into the record.

    >>> from cleaners.model import Source
    >>> d = Document(Source("x", "0", 0), text="標題\\n正文第一段。\\n關注公眾號\\n版權所有 © 2023")
    >>> r = strip(d, StripConfig())
    >>> r.text
    '標題\\n正文第一段。'
    >>> [c.what for c in r.changes]
    ['rule:cta', 'rule:copyright']
    """
    text = doc.text
    if not text.strip():
        return Explained(text=text)
    lex = _lexicons()
    folded = view_fold(text)
    annotated = _ANNOTATION.search(folded) is not None
    lines = [_make_line(i + 1, raw, fv, annotated)
             for i, (raw, fv) in enumerate(zip(text.split("\n"), folded.split("\n"), strict=True))]
    meta: dict[str, Any] = {}
    for line in lines:
        if not line.blank:
            _classify(line, cfg, lex, meta)
    _infobox(lines, cfg, lex, meta)
    _toc(lines, cfg)
    _related_lists(lines, cfg)
    _teaser_runs(lines, cfg)
    title_line, title_text = _find_title(lines, cfg)
    _sandwiches(lines, cfg, title_line)
    # The source a sales pitch names ("可以點擊購買中研普華產業研究院的《…報告》", seed 002):
    # the text is an excerpt of that body's report.
    if "publisher" not in meta:
        for line in lines:
            source = _PITCHED_SOURCE.search(line.plain) if line.rule == "promo" else None
            if source:
                meta["publisher"] = source.group(1)
                break

    # Metadata from kept body lines: a document number on a line of its own (seed 001 line 16).
    for line in lines:
        if line.rule is None and "doc_number" not in meta and _DOC_NUMBER.match(line.core):
            meta["doc_number"] = line.plain.strip()

    out, changes = _assemble(lines)
    title = meta.pop("title", None)
    if title is None and title_text:
        title = title_text
    found = {k: v for k, v in meta.items() if doc.metadata.get(k) is None}
    logger.debug("strip %s: %s changes, metadata %s", doc.source.path, len(changes), sorted(found))
    return Explained(text=out, changes=tuple(changes), metadata=found,
                     title=title if doc.title is None else None)


def _assemble(lines: list[_Line]) -> tuple[str, list[Change]]:
    """The kept text and one Change per removal, blank lines around removals tidied.

    Between two kept lines the blank lines form runs split by removed lines; one run is kept
    (the one nearest the next kept line), so a paragraph gap stays a single gap. Blank lines
    before the first or after the last kept line are dropped when a removal made them so.
    """
    changes: list[Change] = []
    out: list[str] = []
    dropped_blanks: list[int] = []
    runs: list[list[_Line]] = [[]]   # blank runs since the last kept line, split by removals
    for line in lines:
        if line.blank:
            runs[-1].append(line)
            continue
        if line.rule is not None:
            detail = {"text": line.raw, **line.detail}
            changes.append(Change(STEP, "remove", f"rule:{line.rule}", f"line {line.number}",
                                  line.why, detail))
            runs.append([])
            continue
        nonempty = [run for run in runs if run]
        # Leading blank lines stay unless a removal made them leading.
        keep = nonempty[-1] if nonempty and (out or len(runs) == 1) else []
        for run in nonempty:
            if run is not keep:
                dropped_blanks.extend(b.number for b in run)
        out.extend(b.raw for b in keep)
        runs = [[]]
        kept = line.raw
        for a, b, rule, why in sorted(line.cuts, reverse=True):
            changes.append(Change(STEP, "remove", f"rule:{rule}", f"line {line.number}", why,
                                  {"text": kept[a:b], "chars": [a, b]}))
            kept = kept[:a] + kept[b:]
        out.append(kept)
    tail = [b for run in runs for b in run]
    if len(runs) > 1 or not out:
        dropped_blanks.extend(b.number for b in tail)
    else:
        out.extend(b.raw for b in tail)
    if dropped_blanks and changes:
        dropped_blanks.sort()
        changes.append(Change(STEP, "remove", "rule:blank_lines",
                              "lines " + ", ".join(map(str, dropped_blanks)),
                              "blank lines left leading, doubled or trailing by the removals",
                              {"count": len(dropped_blanks)}))
    changes.sort(key=_change_order)
    return "\n".join(out), changes


def _change_order(change: Change) -> tuple[int, int]:
    where = where_label(change.where).split(",")[0].split()
    number = int(where[-1]) if where and where[-1].isdigit() else 0
    return number, int(change.detail.get("chars", [0])[0]) if "chars" in change.detail else 0
