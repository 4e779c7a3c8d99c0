"""docclean's command line: run, clean, export, audit.

`run` calls the same two functions as the nightly DAG (`archive.batch.clean_inputs`, then
`archive.writer.commit_run`); `clean` runs the pipeline on one document for a person to look
at. `main` returns the exit code so tests can call it (EXIT_CODES below, also in `--help`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from archive.ocfl import OcflError
from archive.startup import start
from cleaners import __version__
from cleaners.model import CleaningError, Document, Rejected, Source, describe
from cleaners.pipeline import STEP_NAMES
from cleaners.script import SCRIPTS

log = logging.getLogger("docclean")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_CODES = """exit status:
  0  the command did what it was asked (a run whose rejected inputs were recorded included;
     an audit that found the archive sound)
  1  it could not: no readable input at all, an archive that is not one, a config that does not
     load, an I/O error; for audit, the archive has problems (each printed as BAD <file>: ...)
  2  usage: unknown option or command, a bad value (--jobs 0), a run id the archive lacks"""
# More worker processes than this per core only queue on the CPU and cost memory.
MAX_JOBS_PER_CORE = 2


class UsageError(Exception):
    """A wrong argument found after parsing (exit 2), e.g. a run id the archive does not hold."""


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _parser() -> argparse.ArgumentParser:
    # -v/-q are accepted before or after the command: each subcommand repeats them with a
    # SUPPRESS default, so it sets them only when given there and never undoes the main parser's.
    anywhere = argparse.ArgumentParser(add_help=False)
    anywhere.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                          help="log what happens, to stderr")
    anywhere.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                          help="only errors: no per-document lines, no progress bar, no 'sound' line")
    p = argparse.ArgumentParser(
        prog="docclean", epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Clean scraped Chinese web documents into an auditable OCFL archive.")
    p.add_argument("--version", action="version", version=f"docclean {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", default=False, help="log what happens, to stderr")
    p.add_argument("-q", "--quiet", action="store_true", default=False,
                   help="only errors: no per-document lines, no progress bar, no 'sound' line")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[anywhere], epilog=EXIT_CODES,
                              formatter_class=argparse.RawDescriptionHelpFormatter, **kw)

    run = command("run", help="clean files, folders or globs into an archive",
                  description="Clean every input and archive one record per document. Inputs that "
                              "name nothing are recorded as rejected and named on stderr; when no "
                              "input at all can be read, nothing is written and the exit status is 1.")
    run.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (recursive) or glob")
    run.add_argument("--archive", required=True, type=Path, metavar="DIR",
                     help="OCFL storage root (created if missing)")
    _pipeline_options(run)
    run.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1,
                     help="worker processes for cleaning, at least 1 (default: one per core; "
                          f"at most {MAX_JOBS_PER_CORE} per core are started)")
    run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="queue up to SECONDS behind another writer of the archive (default: fail "
                          "at once; the cleaned results are kept for the next run either way)")

    clean = command("clean", help="print one document's cleaned text",
                           description="Run the pipeline on one document and print its text.")
    clean.add_argument("path", metavar="PATH|-", help="a file, or - for standard input")
    steps = clean.add_mutually_exclusive_group()
    steps.add_argument("--until", choices=STEP_NAMES, metavar="STEP",
                       help=f"stop after STEP ({', '.join(STEP_NAMES)})")
    steps.add_argument("--only", choices=STEP_NAMES, metavar="STEP",
                       help="run decode and STEP alone")
    clean.add_argument("--explain", action="store_true", help="print the trail to stderr")
    clean.add_argument("--json", action="store_true",
                       help="print text, title, metadata and trail as one JSON object (nothing archived)")
    _pipeline_options(clean)

    export = command("export", help="print every record as JSON Lines",
                            description="Print every archived record as one JSON object per line.")
    export.add_argument("archive", type=Path, metavar="DIR")
    export.add_argument("--bagit", type=Path, metavar="OUT",
                        help="instead, write one run (the newest, or --run) as a BagIt bag in OUT")
    export.add_argument("--run", metavar="ID",
                        help="only the records this run archived (with --bagit: the run to bag; "
                             "default the newest)")

    report = command("report", help="write a run's HTML report (summary, figures, each document's changes)",
                     description="Write a static, self-contained HTML report of one run: figures, a "
                                 "table of every input, and pages showing each sampled document's "
                                 "changes in place. Opens from disk; needs no network.")
    report.add_argument("archive", type=Path, metavar="ARCHIVE")
    report.add_argument("--run", metavar="ID", help="the run to report on (default: the newest)")
    report.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write it (default: ARCHIVE/extensions/docclean-reports/RUN)")
    report.add_argument("--limit", type=_positive_int, default=200, metavar="N",
                        help="document pages to write at most (default 200, spread over the steps)")
    report.add_argument("--sample", action="append", default=[], metavar="TAG",
                        help="write pages only for documents with this tag: step:mojibake.repair, "
                             "fate:archived, ... (repeatable; the index's filter lists them)")

    show = command("show", help="print one archived record as a person reads it",
                   description="Print one record: title, metadata, provenance, text.")
    show.add_argument("record", metavar="RECORD-ID|PATH", help="a record id (with --archive) or a record file")
    show.add_argument("--archive", type=Path, metavar="DIR",
                      default=Path(os.environ["DOCCLEAN_ARCHIVE"]) if os.environ.get("DOCCLEAN_ARCHIVE") else None,
                      help="the archive holding RECORD-ID (default: $DOCCLEAN_ARCHIVE)")
    show.add_argument("--explain", action="store_true", help="every change, with its rule and place")
    show.add_argument("--json", action="store_true", help="the record as JSON (with later sightings and links)")

    audit = command("audit", help="verify an archive; non-zero exit when anything is wrong",
                           description="Recompute every digest and check structure, records and "
                                       "dispositions. Prints each problem with its file.")
    audit.add_argument("archive", type=Path, metavar="DIR")
    audit.add_argument("--run", action="append", metavar="ID",
                       help="check records and dispositions of this run only (repeatable)")
    return p


def _pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--script", choices=SCRIPTS, default=None,
                   help="target script: hans (Simplified, default), hant, tw, hk")
    p.add_argument("--config", type=Path, metavar="TOML", help="override pipeline settings")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR if args.quiet else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        start()
        handler = {"run": cmd_run, "clean": cmd_clean, "export": cmd_export, "audit": cmd_audit,
                   "report": cmd_report, "show": cmd_show}
        return handler[args.command](args)
    except BrokenPipeError:
        # `docclean export DIR | head`: the reader left; not an error of ours (Python docs' recipe)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except UsageError as exc:
        print(f"docclean {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CleaningError, OcflError, OSError, ValueError) as exc:
        print(f"docclean {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("docclean: interrupted; nothing half-written was published", file=sys.stderr)
        return 130


def cmd_run(args: argparse.Namespace) -> int:
    from archive.flow import NoInputError, run_paths

    show = not args.quiet
    jobs = min(args.jobs, MAX_JOBS_PER_CORE * (os.cpu_count() or 1))
    bar = PhaseBar() if show and sys.stderr.isatty() else None
    try:
        summary = run_paths(args.paths, args.archive, _config(args), jobs=jobs, progress=bar,
                            wait=args.wait)
    except NoInputError as exc:
        print(f"docclean run: {exc}; nothing written", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if bar:
            bar.close()
    for d in summary.dispositions:
        if d["disposition"] == "rejected" and d.get("reason") == "not_found":
            print(f"docclean run: {d.get('message')} (recorded as rejected)", file=sys.stderr)
    rerun = summary.object_id is not None and not summary.written
    out = sys.stdout
    if show:
        for d in summary.dispositions:
            out.write(_summary_line(d, rerun) + "\n")
    where = summary.object_path or summary.root
    out.write(f"archive: {summary.root.resolve()}\n")
    if rerun:
        out.write(f"run: {where} (already archived, nothing written)\n")
        out.write(f"counts: {summary.counts.get('inputs', len(summary.dispositions))} inputs, all already "
                  f"archived by this run: nothing written\n")
        return EXIT_OK
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.counts.items()))
    state = "written" if summary.written else "nothing to archive"
    out.write(f"run: {where} ({state})\n")
    if summary.object_path and summary.counts.get("records"):
        out.write(f"records: {summary.object_path / 'v1' / 'content' / 'records'}\n")
    out.write(f"counts: {counts or 'no inputs'}\n")
    return EXIT_OK


class PhaseBar:
    """One progress bar per phase of a run (clean, link, write), labelled, on stderr."""

    LABELS = {"clean": "cleaning", "link": "linking", "write": "writing"}

    def __init__(self) -> None:
        self.phase: str | None = None
        self.bar: Any = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            from tqdm import tqdm

            self.close()
            self.phase = phase
            self.bar = tqdm(total=total, unit="doc", desc=self.LABELS.get(phase, phase), leave=False)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _summary_line(d: dict[str, Any], rerun: bool = False) -> str:
    settled = d["disposition"] in ("rejected", "skipped")
    fate = "already archived" if rerun and not settled else d["disposition"]
    path = d["path"] + (f"#{d['warc']['offset']}" if d.get("warc") else "")   # a WARC record
    if settled:
        return f"{fate:<17} {path}  {d.get('step')}: {d.get('reason')} ({d.get('message')})"
    title = (d.get("title") or "").replace("\n", " ")[:40]
    return (f"{fate:<17} {path}  {d['record']}  {d.get('encoding')}  "
            f"{d.get('chars')} chars  {title}")


def cmd_clean(args: argparse.Namespace) -> int:
    from archive.batch import run_within_limits
    from archive.reader import looks_like_html, read
    from cleaners import pipeline

    cfg = _config(args)
    # The same bounds as `docclean run` ([limits]): one hostile file cannot take the memory.
    max_bytes = min(cfg.decode.max_bytes, cfg.limits.max_input_bytes)
    if args.path == "-":
        raw = sys.stdin.buffer.read(max_bytes + 1)
        doc: Document | Rejected = (
            Rejected("read", "too_large", f"standard input is over the {max_bytes}-byte limit")
            if len(raw) > max_bytes else
            Document(Source.from_bytes("-", raw), raw=raw, is_html=looks_like_html(Path("-"), raw)))
    else:
        doc = read(Path(args.path), max_bytes)
    if isinstance(doc, Rejected):
        print(f"docclean clean: {doc.reason}: {doc.message}", file=sys.stderr)
        return 1
    out = run_within_limits(doc, cfg, steps=pipeline.select(args.until, args.only))
    if isinstance(out, Rejected):
        print(f"docclean clean: rejected by {out.step}: {out.reason}: {out.message}", file=sys.stderr)
        return 1
    if args.json:
        from archive.batch import trail_json

        sys.stdout.write(json.dumps({"text": out.text, "title": out.title, "metadata": dict(out.metadata),
                                     "decoding": dict(out.decoding), "trail": trail_json(out.trail)},
                                    ensure_ascii=False, default=list) + "\n")
        return EXIT_OK
    if args.explain:
        for entry in out.trail:
            print(f"# {entry.step} v{entry.version}: {'changed' if entry.changed else 'unchanged'}",
                  file=sys.stderr)
            for c in entry.changes:
                print("    " + c.describe(), file=sys.stderr)
    sys.stdout.write(out.text)  # exactly the text: no newline added, so lines are kept as they are
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from archive.export import export_bag, iter_records

    _known_runs(args.archive, [args.run] if args.run else [])
    if args.bagit:
        bag = export_bag(args.archive, args.bagit, args.run)
        print(f"bag: {bag}")
        return 0
    for rec in iter_records(args.archive, run=args.run):
        sys.stdout.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from archive import ocfl
    from archive.audit import audit

    if ocfl.is_root(args.archive):
        _known_runs(args.archive, args.run or [])
    problems = audit(args.archive, args.run)
    for problem in problems:
        print(f"BAD {problem}")
    if problems:
        print(f"audit: {len(problems)} problem(s) in {args.archive}", file=sys.stderr)
        return EXIT_FAILED
    if not args.quiet:
        scope = f" (runs {', '.join(args.run)})" if args.run else ""
        print(f"audit: {args.archive}{scope} is sound")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from archive.report import build

    _known_runs(args.archive, [args.run] if args.run else [])
    report = build(args.archive, args.run, args.out, limit=args.limit, sample=args.sample)
    if not args.quiet:
        print(f"report: {report.out / 'index.html'} ({report.index_pages} index page(s), "
              f"{len(report.document_pages)} document page(s), {report.seconds:.1f} s)")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from archive.export import iter_records

    path = Path(args.record)
    if path.suffix == ".json" and path.is_file():
        rec = json.loads(path.read_text(encoding="utf-8"))
    else:
        if args.archive is None:
            raise UsageError(f"{args.record!r} is not a record file; give --archive DIR to look it up by id")
        rec = next((r for r in iter_records(args.archive) if r["id"] == args.record), None)
        if rec is None:
            raise UsageError(f"{args.archive} holds no record {args.record!r}")
    if args.json:
        sys.stdout.write(json.dumps(rec, ensure_ascii=False, sort_keys=True, indent=1) + "\n")
        return EXIT_OK
    out = [f"# {rec.get('title') or '(no title)'}", f"id: {rec['id']}   script: {rec.get('script')}   "
           f"chars: {len(rec['text'])}   canonical: {rec.get('canonical', rec['id'])}"]
    for key, value in (rec.get("metadata") or {}).items():
        out.append(f"{key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value}")
    for src in rec["sources"]:
        out.append(f"source: {src.get('path')}  {src.get('encoding')}  {src.get('bytes')} bytes")
        if src.get("warc"):                          # a capture from a crawl file (issue #18)
            w = src["warc"]
            out.append(f"  capture: {w.get('record_type')} at offset {w.get('offset')}  {w.get('target_uri')}  "
                       f"{w.get('date')}  HTTP {w.get('http_status')}  {w.get('content_type')}  "
                       f"{w.get('record_id')}")
    steps: dict[str, list[dict[str, Any]]] = {}
    for p in rec["provenance"]:
        steps.setdefault(p["step"], []).append(p)
    out.append("provenance:")
    for step, entries in steps.items():
        changes = [p["details"] for p in entries if p.get("details")]
        out.append(f"  {step} v{entries[0].get('version')}: "
                   + (f"{len(changes)} change(s)" if any(p.get("changed") for p in entries) else "unchanged"))
        if args.explain:
            for c in changes:
                out.append("    " + describe(c))
    if rec.get("near_duplicates"):
        out.append("near duplicates: " + ", ".join(f"{n['id']} ({n['similarity']:.2f})"
                                                    for n in rec["near_duplicates"]))
    out += ["", rec["text"]]
    sys.stdout.write("\n".join(out) + "\n")
    return EXIT_OK


def _known_runs(root: Path, runs: list[str]) -> None:
    """Every run id named must be a run of the archive (UsageError, exit 2, naming the known ones)."""
    from archive import ocfl

    if not runs:
        return
    if not ocfl.is_root(root):
        raise FileNotFoundError(f"{root} is not a docclean archive (no OCFL storage root there)")
    known = sorted(p.name for p in ocfl.object_dirs(root))
    unknown = [r for r in runs if r not in known]
    if unknown:
        raise UsageError(f"{root} has no run {', '.join(map(repr, unknown))}; its runs: "
                         f"{', '.join(known) or 'none'}")


def _config(args: argparse.Namespace) -> Any:
    from archive.startup import load_config

    return load_config(args.config, args.script)


if __name__ == "__main__":
    sys.exit(main())
