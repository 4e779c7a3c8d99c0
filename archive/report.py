"""report: a run as a person looks at it. Static HTML, self-contained, opened from disk.

`build(root, run)` writes, for one run object of the archive:
  index.html, index-2.html, ...  the run's summary (counts, rejections by reason, config and its
                                  sha256, library versions), per-step figures as inline SVG bar
                                  charts, the encodings seen, and a table of every input (fate,
                                  title, source, size, what each step did, near duplicates and
                                  canonical), PAGE_ROWS rows a page, filterable by step, fate and
                                  reason with a few lines of script;
  docs/<record-id>.html           for a bounded sample of records (`limit`, spread over the
                                  steps that changed something, or chosen by `sample` tags): the
                                  raw input as received (decoded), the cleaned text, each step's
                                  changes shown in place (removed spans struck through and
                                  labelled by their rule, repairs and conversions as
                                  before → after), metadata and provenance.

The in-place view replays the pipeline on the archived raw bytes with the run's own config and
diffs what each step received with what it gave; each difference is labelled by the change of
the record's trail that explains it. When today's code no longer gives the archived text (the
code or a library changed since the run), the page says so and the archived trail stays the
authority.

Where it goes: `extensions/docclean-reports/<run>/` in the storage root by default, outside the
OCFL objects. A report is a view derived from an object, rebuildable at any time, and its look
changes with the code: writing it into the object (as content or as a later version) would change
the evidence for a cosmetic reason.

Safety: every string that comes from a document, a path or a config is escaped; bidirectional
and other control characters are shown as visible code points; document URLs are shown as text,
never as links. Each page carries a Content-Security-Policy that allows only its own inline
style and the one inline script, by hash: nothing a document holds can run.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from archive import ocfl
from archive.reader import looks_like_html
from cleaners.model import where_label

DECODE = "encoding.detect"
# Rows per index page: a 10,000-input run makes 20 pages, each quick to open and to filter.
PAGE_ROWS = 500
# Document pages written by default: enough to review a sample of every kind of change, bounded
# so a large run's report builds in seconds (each page replays the pipeline on one document).
DEFAULT_LIMIT = 200
# A replaced run of more lines than this is shown as removed block + added block: a per-character
# diff of long runs costs quadratic time and reads no better.
MAX_CHAR_DIFF_LINES = 40
# Shown as [U+XXXX] instead of acting on the page or hiding: bidi overrides and isolates,
# zero-width marks, C0/C1 controls but tab and newline, private-use characters (mojibake leaves them).
_CONTROL = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e"
                      "\u2060-\u2069\ue000-\uf8ff\ufeff\ufff9-\ufffb]")
_RECORD_ID = re.compile(r"^[A-Za-z0-9._-]+$")
_NUMBERS = re.compile(r"\d+")
_ASCII_MARKS = set(",.:;!?()[]\"'")

STYLE = """
body{font:14px/1.5 system-ui,sans-serif;margin:1.5em auto;max-width:72em;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.num{text-align:right}.muted{color:#777}.small{font-size:12px}
pre.text{white-space:pre-wrap;word-break:break-word;background:#fafafa;border:1px solid #ddd;
padding:.6em;max-height:40em;overflow:auto}
del.removed{background:#fde2e2;color:#8a1c1c}del.before{background:#fde2e2}
ins.after{background:#dff5df;text-decoration:none}ins.added{background:#dff5df;text-decoration:none}
.rule{font-size:11px;background:#555;color:#fff;border-radius:3px;padding:0 3px;margin:0 2px;
text-decoration:none;display:inline-block}
.repaired .rule{background:#1f6f3f}.converted .rule{background:#1f4f8f}.removed+.rule{background:#8a1c1c}
.ctl{color:#b00;font-size:11px}.warn{background:#fff4d6;border:1px solid #e0b84c;padding:.5em}
svg text{font:11px system-ui,sans-serif}nav a{margin-right:.6em}
"""
# The one script of an index page: hide the rows whose tags lack the chosen one.
SCRIPT = ("const f=document.getElementById('filter');f.onchange=()=>{for(const r of "
          "document.querySelectorAll('#docs tbody tr')){r.hidden=f.value!==''&&"
          "!r.dataset.tags.split(' ').includes(f.value)}};")
_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()}'")


@dataclass
class Report:
    out: Path
    index_pages: int
    document_pages: list[str]
    seconds: float


@dataclass
class _Run:
    object_id: str
    run: dict[str, Any]
    dispositions: list[dict[str, Any]]
    records: dict[str, dict[str, Any]]
    heads: dict[str, dict[str, Path]] = field(default_factory=dict)
    raw_of: dict[str, dict[str, str]] = field(default_factory=dict)   # record id → its raw's place


def esc(value: Any) -> str:
    """Text as HTML: escaped, with control and bidi characters made visible."""
    text = html.escape("" if value is None else str(value), quote=True)
    return _CONTROL.sub(lambda m: f'<span class="ctl">[U+{ord(m.group()):04X}]</span>', text)


def _page(title: str, body: str, script: bool = False) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">"
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{body}\n"
            + (f"<script>{SCRIPT}</script>" if script else "") + "</body></html>\n")


def _load(root: Path, run_id: str | None) -> _Run:
    from archive.export import run_object

    obj, files = run_object(root, run_id)
    run = json.loads(files["metadata/run.json"].read_text(encoding="utf-8"))
    dispositions = [json.loads(line) for line in
                    files["metadata/dispositions.jsonl"].read_text(encoding="utf-8").splitlines() if line]
    records = {}
    for logical, path in files.items():
        if logical.startswith("records/") and logical.endswith(".json"):
            rec = json.loads(path.read_text(encoding="utf-8"))
            records[rec["id"]] = rec
    return _Run(obj.name, run, dispositions, records, {obj.name: files})


def default_out(root: Path, run_id: str) -> Path:
    return Path(root) / ocfl.EXTENSIONS / ocfl.REPORTS / run_id


def build(root: Path, run_id: str | None = None, out: Path | None = None, limit: int = DEFAULT_LIMIT,
          sample: Sequence[str] = (), page_rows: int = PAGE_ROWS) -> Report:
    """Write the report of one run (the newest when `run_id` is None); where it went."""
    started = time.perf_counter()
    root = Path(root)
    run = _load(root, run_id)
    out = Path(out) if out is not None else default_out(root, run.object_id)
    (out / "docs").mkdir(parents=True, exist_ok=True)
    rows = [_row(d, run.records) for d in run.dispositions]
    chosen = _sample(rows, limit, sample)
    written = []
    for rid in chosen:
        (out / "docs" / f"{rid}.html").write_text(_document_page(root, run, rid), encoding="utf-8")
        written.append(rid)
    pages = max(1, -(-len(rows) // page_rows))
    summary = _summary(run)
    for n in range(pages):
        name = "index.html" if n == 0 else f"index-{n + 1}.html"
        body = summary if n == 0 else f"<h1>Run {esc(run.object_id)}: inputs, page {n + 1}</h1>"
        body += _table(rows[n * page_rows:(n + 1) * page_rows], set(written), n, pages)
        (out / name).write_text(_page(f"docclean run {run.object_id}", body, script=True), encoding="utf-8")
    return Report(out, pages, written, time.perf_counter() - started)


# --- the index ------------------------------------------------------------------------------

def _row(d: Mapping[str, Any], records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    rec = records.get(d.get("record") or "")
    changed = []
    if rec is not None and d.get("disposition") == "archived":   # decode always "changes": bytes → text
        changed = sorted({p["step"] for p in rec["provenance"] if p.get("changed") and p["step"] != DECODE},
                         key=[p["step"] for p in rec["provenance"]].index)
    tags = [f"fate:{d.get('disposition')}", *(f"step:{s}" for s in changed)]
    if d.get("reason"):
        tags.append(f"reason:{d['reason']}")
    return {"d": d, "rec": rec if d.get("disposition") == "archived" else None, "changed": changed,
            "tags": tags}


def _sample(rows: list[dict[str, Any]], limit: int, sample: Sequence[str]) -> list[str]:
    """Record ids to write pages for: those with a `sample` tag, else spread over every step."""
    ids = [r["d"]["record"] for r in rows if r["rec"] is not None and _RECORD_ID.match(r["d"]["record"])]
    tags = {r["d"]["record"]: r["tags"] for r in rows if r["rec"] is not None}
    if sample:
        return [i for i in ids if set(sample) & set(tags[i])][:limit]
    groups: dict[str, list[str]] = {}
    for i in ids:                                    # round robin over the steps' groups, so a
        for tag in tags[i][1:] or ["step:none"]:     # rare kind of change is not crowded out
            groups.setdefault(tag, []).append(i)
    chosen: dict[str, None] = {}
    queues = [list(reversed(g)) for _tag, g in sorted(groups.items())]
    while len(chosen) < limit and any(queues):
        for q in queues:
            while q and q[-1] in chosen:
                q.pop()
            if q and len(chosen) < limit:
                chosen[q.pop()] = None
    return list(chosen)


def _summary(run: _Run) -> str:
    r = run.run
    counts = r.get("counts", {})
    stats: dict[str, dict[str, Any]] = r.get("stats", {})
    encodings = Counter(d.get("encoding") for d in run.dispositions if d.get("encoding"))
    seconds = sum(s.get("seconds", 0) for s in stats.values())
    head = (f"<h1>docclean run {esc(run.object_id)}</h1>"
            f"<p>{esc(r.get('label'))} · created {esc(r.get('created'))} · docclean {esc(r.get('docclean'))}"
            f" · cleaning time {seconds:.2f} s (summed over steps and workers)</p>")
    facts = [("inputs", counts.get("inputs", 0)), ("records written", counts.get("records", 0)),
             *((k.replace("_", " "), v) for k, v in sorted(counts.items()) if k not in ("inputs", "records"))]
    table = "<table>" + "".join(f"<tr><th>{esc(k)}</th><td class=num>{esc(v)}</td></tr>" for k, v in facts)
    table += "</table>"
    rejected = r.get("rejected_by_reason") or {}
    rej = ("<h2>Rejected, by reason</h2><table>" + "".join(
        f"<tr><td>{esc(k)}</td><td class=num>{esc(v)}</td></tr>" for k, v in rejected.items()) + "</table>"
        if rejected else "<h2>Rejected</h2><p>none</p>")
    from cleaners.pipeline import STEPS

    order = [s.name for s in STEPS]
    steps = sorted(stats, key=lambda s: order.index(s) if s in order else len(order))
    charts = "".join((
        _bars("documents changed", [(s, stats[s].get("changed", 0)) for s in steps]),
        _bars("characters removed", [(s, stats[s].get("chars_removed", 0)) for s in steps]),
        _bars("seconds", [(s, stats[s].get("seconds", 0)) for s in steps], "{:.3f}"),
    ))
    enc = _bars("inputs by encoding", encodings.most_common())
    config = json.dumps(r.get("config"), ensure_ascii=False, indent=1, sort_keys=True)
    libs = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in (r.get("libraries") or {}).items())
    return (head + table + rej + f"<h2>Per step</h2><div>{charts}</div><h2>Encodings seen</h2>{enc}"
            f"<h2>Config</h2><p>sha256 <code>{esc(r.get('config_sha256'))}</code>; OpenCC "
            f"{esc(r.get('opencc_config'))}</p><details><summary>resolved config</summary>"
            f"<pre class=text>{esc(config)}</pre></details><h2>Libraries</h2><table>{libs}</table>")


def _bars(title: str, items: Sequence[tuple[Any, float]], fmt: str = "{:,}") -> str:
    """A small horizontal bar chart as inline SVG."""
    width, label_w, row_h = 460, 150, 18
    top = max((v for _k, v in items), default=0) or 1
    height = row_h * len(items) + 24
    parts = [f'<svg class="chart" role="img" aria-label="{esc(title)}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><text x="0" y="12" font-weight="bold">{esc(title)}</text>']
    for n, (key, value) in enumerate(items):
        y = 20 + n * row_h
        w = (width - label_w - 70) * (value / top)
        parts.append(f'<text x="0" y="{y + 12}">{esc(key)}</text>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="#4a7ab0"/>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{esc(fmt.format(value))}</text>')
    return "".join(parts) + "</svg>"


def _table(rows: list[dict[str, Any]], pages: set[str], page: int, count: int) -> str:
    options = sorted({t for r in rows for t in r["tags"]})
    nav = ""
    if count > 1:
        nav = "<nav>pages: " + "".join(
            f'<a href="{"index.html" if n == 0 else f"index-{n + 1}.html"}">{n + 1}</a>' if n != page
            else f"<b>{n + 1}</b>" for n in range(count)) + "</nav>"
    head = ("<h2>Inputs</h2>" + nav + '<p><label>show only <select id="filter"><option value="">everything'
            "</option>" + "".join(f'<option value="{esc(t)}">{esc(t)}</option>' for t in options)
            + "</select></label></p>")
    out = [head, '<table id="docs"><thead><tr><th>fate</th><th>title / reason</th><th>source</th>'
                 '<th class=num>bytes</th><th class=num>chars</th><th>steps that changed it</th>'
                 "<th>near duplicates · canonical</th></tr></thead><tbody>"]
    for r in rows:
        d, rec = r["d"], r["rec"]
        rid = d.get("record") or ""
        if rid in pages:
            title = f'<a href="docs/{esc(rid)}.html">{esc(d.get("title") or rid)}</a>'
        elif d.get("disposition") == "rejected":
            title = f"{esc(d.get('step'))}: {esc(d.get('reason'))} <span class=muted>{esc(d.get('message'))}</span>"
        else:
            title = esc(d.get("title") or rid)
        links = ""
        if rec is not None:
            near = rec.get("near_duplicates") or []
            links = ", ".join(f"{esc(n['id'])} ({n['similarity']:.2f})" for n in near[:5])
            if len(near) > 5:
                links += f", +{len(near) - 5}"
            if rec.get("canonical") and rec["canonical"] != rid:
                links += f" · canonical {esc(rec['canonical'])}"
        elif d.get("disposition") in ("duplicate_of", "already_archived"):
            links = f"same as {esc(rid)}"
        out.append(f'<tr data-tags="{esc(" ".join(r["tags"]))}"><td>{esc(d.get("disposition"))}</td>'
                   f'<td>{title}</td><td class=small>{esc(d.get("path"))}</td>'
                   f'<td class=num>{esc(d.get("bytes"))}</td><td class=num>{esc(d.get("chars", ""))}</td>'
                   f'<td>{esc(", ".join(s.split(".")[0] for s in r["changed"]))}</td><td class=small>{links}</td></tr>')
    out.append("</tbody></table>" + nav)
    return "".join(out)


# --- one document ---------------------------------------------------------------------------

def _raw_path(root: Path, run: _Run, rid: str) -> Path | None:
    """The file of the kept input's bytes as received (where its `archived` disposition says
    they are; for a WARC record, the whole WARC)."""
    if not run.raw_of:
        run.raw_of = {d["record"]: d["raw"] for d in run.dispositions
                      if d.get("disposition") == "archived" and d.get("raw") and d.get("record")}
    where = run.raw_of.get(rid)
    if where is None:
        return None
    if where["object"] not in run.heads:
        run.heads[where["object"]] = ocfl.head_files(root / where["object"])
    path = run.heads[where["object"]].get(where["path"])
    return path if path is not None and path.is_file() else None


def _input_document(file: Path, src: dict[str, Any], config: Mapping[str, Any]) -> Any:
    """The document the kept input was as read: the file's bytes, or the WARC record its source
    names (payload, HTTP charset and capture facts as the worker had them; issue #18)."""
    from cleaners.config import PipelineConfig
    from cleaners.model import Document, Source

    if src.get("warc"):
        from archive import warc

        cfg = PipelineConfig.from_dict(dict(config), strict=False)
        read = warc.read_record(warc.WarcRecordRef.from_source(src, file), cfg.warc, cfg.limits.max_input_bytes)
        return read.outcome if isinstance(read.outcome, Document) else None
    path, raw = src.get("path") or "input", file.read_bytes()
    return Document(Source.from_bytes(path, raw, src.get("mtime")), raw=raw, is_html=looks_like_html(Path(path), raw))


def replay(doc: Any, config: Mapping[str, Any]) -> list[tuple[Any, str, str]]:
    """Each step as it runs today on the input document `doc`: (trail entry, text before, text after)."""
    from archive.startup import start
    from cleaners import runner
    from cleaners.config import PipelineConfig
    from cleaners.model import Rejected
    from cleaners.pipeline import STEPS

    start()
    # strict=False: an older run's config may hold keys this code has since renamed
    cfg = PipelineConfig.from_dict(dict(config), strict=False)
    steps = []
    for step in STEPS:
        before = doc.text
        after = runner.run(doc, cfg, steps=(step,))
        if isinstance(after, Rejected):
            break
        if len(after.trail) > len(doc.trail):
            steps.append((after.trail[-1], before, after.text))
        doc = after
    return steps


def _document_page(root: Path, run: _Run, rid: str) -> str:
    rec = run.records[rid]
    parts = [f"<p><a href=\"../index.html\">← run {esc(run.object_id)}</a></p>",
             f"<h1>{esc(rec.get('title') or rid)}</h1><p class=muted>{esc(rid)} · {esc(rec.get('script'))}"
             f" · {len(rec['text']):,} characters</p>"]
    meta = rec.get("metadata") or {}
    parts.append("<h2>Metadata</h2><table>" + "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v)}"
        "</td></tr>" if v is not None else f"<tr><th>{esc(k)}</th><td class=muted>unknown</td></tr>"
        for k, v in meta.items()) + "</table>")
    src = rec["sources"][0]
    parts.append(f"<h2>Source</h2><p>{esc(src.get('path'))} · {esc(src.get('bytes'))} bytes · "
                 f"{esc(src.get('encoding'))} · sha256 <code>{esc(src.get('sha256'))}</code>"
                 + (f" · and {len(rec['sources']) - 1} more" if len(rec["sources"]) > 1 else "") + "</p>")
    parts.append(f"<h2>Cleaned text</h2><pre class=\"text\" id=\"cleaned\">{esc(rec['text'])}</pre>")
    file = _raw_path(root, run, rid)
    doc = _input_document(file, src, run.run.get("config") or {}) if file is not None else None
    if doc is None:
        parts.append("<p class=warn>The raw input is not in this archive: no in-place view.</p>")
    else:
        steps = replay(doc, run.run.get("config") or {})
        final = steps[-1][2] if steps else ""
        if final != rec["text"]:
            parts.append("<p class=warn>Today's code does not give the archived text from these bytes (the code "
                         "or a library changed since this run): the marks below are today's; the provenance "
                         "table, from the record, is what the run did.</p>")
        parts.append("<h2>Changes in place, step by step</h2>")
        first_open = True
        for entry, before, after in steps:
            if entry.step == DECODE:
                parts.append(f"<details><summary>decode → {len(after):,} characters, "
                             f"{esc(entry.changes[0].what if entry.changes else '')}: the raw input as "
                             f"received, decoded</summary><pre class=\"text\" id=\"raw\">{esc(after)}</pre></details>")
                continue
            if not entry.changed:
                parts.append(f"<p class=muted>{esc(entry.step)}: no change</p>")
                continue
            if entry.step == "html.extract":
                parts.append(f"<details><summary>extract: {len(after):,} characters of text kept from "
                             f"{len(before):,} characters of HTML</summary><pre class=\"text\">{esc(after)}</pre>"
                             "</details>")
                continue
            changes = [c.to_json() for c in entry.changes]
            opened = " open" if first_open else ""
            first_open = False
            parts.append(f"<details class=\"step\" data-step=\"{esc(entry.step)}\"{opened}><summary>{esc(entry.step)}"
                         f": {len(changes)} change(s), {len(before) - len(after):+,} characters"
                         f"</summary><pre class=\"text\">{mark(before, after, changes)}</pre></details>")
    parts.append("<h2>Provenance</h2><table><tr><th>step</th><th>v</th><th>action</th><th>what</th>"
                 "<th>where</th><th>why</th></tr>" + "".join(
                     f"<tr><td>{esc(p['step'])}</td><td>{esc(p.get('version'))}</td>"
                     f"<td>{esc(p['details'].get('action'))}</td><td>{esc(p['details'].get('what'))}</td>"
                     f"<td class=small>{esc(where_label(p['details'].get('where')))}</td>"
                     f"<td class=small>{esc(p['details'].get('why'))}</td></tr>"
                     # the text edits are the marks above; listed here they would repeat them
                     for p in rec["provenance"]
                     if p.get("details") and p["details"].get("action") != "edit") + "</table>")
    return _page(rec.get("title") or rid, "".join(parts))


def mark(before: str, after: str, changes: list[dict[str, Any]]) -> str:
    """`before` with what became `after` marked in place, each difference labelled by its change.

    >>> mark("發(fā)布", "發布", [{"action": "remove", "what": "ruby:pinyin", "why": "pinyin", "before": "(fā)"}])
    '發<del class="removed" title="pinyin">(fā)</del><span class="rule">ruby:pinyin</span>布'
    """
    label = _Labeller(changes)
    a, b = before.split("\n"), after.split("\n")
    out: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(esc("\n".join(a[i1:i2])))
        elif tag == "delete":   # line by line: consecutive lines are often removed by different rules
            out.append("\n".join(_removed(a[k], label(k + 1, a[k], "")) for k in range(i1, i2)))
        elif tag == "insert":
            out.append(f'<ins class="added">{esc(chr(10).join(b[j1:j2]))}</ins>')
        elif i2 - i1 > MAX_CHAR_DIFF_LINES or j2 - j1 > MAX_CHAR_DIFF_LINES:
            old, new = "\n".join(a[i1:i2]), "\n".join(b[j1:j2])
            out.append(_replaced(old, new, label(i1 + 1, old, new)))
        else:
            out.append(_chars("\n".join(a[i1:i2]), "\n".join(b[j1:j2]), i1 + 1, label))
        out.append("\n")
    return "".join(out)[:-1] if out else ""


def _chars(old: str, new: str, line: int, label: _Labeller) -> str:
    out = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        at = line + old.count("\n", 0, i1)
        if tag == "equal":
            out.append(esc(old[i1:i2]))
        elif tag == "delete":
            out.append(_removed(old[i1:i2], label(at, old[i1:i2], "")))
        elif tag == "insert":
            out.append(f'<ins class="added">{esc(new[j1:j2])}</ins>'
                       f'<span class="rule">{esc(label(at, "", new[j1:j2])[0])}</span>')
        else:
            out.append(_replaced(old[i1:i2], new[j1:j2], label(at, old[i1:i2], new[j1:j2])))
    return "".join(out)


def _removed(text: str, rule: tuple[str, str, str]) -> str:
    what, why, _kind = rule
    return f'<del class="removed" title="{esc(why)}">{esc(text)}</del><span class="rule">{esc(what)}</span>'


def _replaced(old: str, new: str, rule: tuple[str, str, str]) -> str:
    what, why, kind = rule
    return (f'<span class="{kind}" title="{esc(why)}"><del class="before">{esc(old)}</del>'
            f'<ins class="after">{esc(new)}</ins><span class="rule">{esc(what)}</span></span>')


class _Labeller:
    """Which change of a step explains a difference: by its text, then its line, then its kind."""

    def __init__(self, changes: Iterable[Mapping[str, Any]]) -> None:
        # what the steps said; the runner's measured edits and field sets (issue #17) are the
        # differences themselves, not their explanation
        self.changes = [c for c in changes if c.get("action") not in ("edit", "set")
                        and c.get("where") not in ("title",)
                        and not str(c.get("where", "")).startswith("metadata")]

    def __call__(self, line: int, removed: str, added: str) -> tuple[str, str, str]:
        best = None
        if removed and all(ch in _ASCII_MARKS for ch in removed):   # a mark widened next to Chinese
            best = next((c for c in self.changes if "punctuation" in str(c.get("what", ""))), None)
        for c in self.changes if best is None else ():
            said = str(c.get("before") or c.get("text") or "")
            if removed and said and (removed in said or said in removed):
                best = c
                break
        if best is None:
            for c in self.changes:
                if line in _lines(c):
                    best = c
                    break
        if best is None and self.changes:
            best = self.changes[0]
        if best is None:
            return ("changed", "", "converted")
        kind = {"remove": "removed", "decode": "repaired", "encode": "repaired"}.get(str(best.get("action")),
                                                                                    "converted")
        return (str(best.get("what", "")), str(best.get("why", "")), kind)


def _lines(change: Mapping[str, Any]) -> list[int]:
    """The lines a change names: its `line` field, else the numbers of a "line(s) ..." `where`."""
    if isinstance(change.get("line"), int):
        return [change["line"]]
    where = str(change.get("where", ""))
    return [int(n) for n in _NUMBERS.findall(where)] if where.startswith("line") else []
