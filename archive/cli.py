"""docclean's command line: run, clean, export, audit.

`run` calls the same two functions as the nightly DAG (`archive.batch.clean_inputs`, then
`archive.writer.commit_run`); `clean` runs the pipeline on one document for a person to look
at. `main` returns the exit code so tests can call it: 0 when the command completed (a run
with rejected inputs completed), 1 when it could not, 2 for usage errors.
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
from cleaners import __version__
from cleaners.model import CleaningError, Document, Rejected, Source
from cleaners.pipeline import STEP_NAMES
from cleaners.script import SCRIPTS

log = logging.getLogger("docclean")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="docclean",
        description="Clean scraped Chinese web documents into an auditable OCFL archive.")
    p.add_argument("--version", action="version", version=f"docclean {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens, to stderr")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="clean files, folders or globs into an archive",
                         description="Clean every input and archive one record per document.")
    run.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (recursive) or glob")
    run.add_argument("--archive", required=True, type=Path, metavar="DIR",
                     help="OCFL storage root (created if missing)")
    _pipeline_options(run)
    run.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                     help="worker processes for cleaning (default: one per core)")
    run.add_argument("--quiet", action="store_true", help="no per-document lines, no progress bar")
    run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="queue up to SECONDS behind another writer of the archive (default: fail "
                          "at once; the cleaned results are kept for the next run either way)")

    clean = sub.add_parser("clean", help="print one document's cleaned text",
                           description="Run the pipeline on one document and print its text.")
    clean.add_argument("path", metavar="PATH|-", help="a file, or - for standard input")
    steps = clean.add_mutually_exclusive_group()
    steps.add_argument("--until", choices=STEP_NAMES, metavar="STEP",
                       help=f"stop after STEP ({', '.join(STEP_NAMES)})")
    steps.add_argument("--only", choices=STEP_NAMES, metavar="STEP",
                       help="run decode and STEP alone")
    clean.add_argument("--explain", action="store_true", help="print the trail to stderr")
    _pipeline_options(clean)

    export = sub.add_parser("export", help="print every record as JSON Lines",
                            description="Print every archived record as one JSON object per line.")
    export.add_argument("archive", type=Path, metavar="DIR")
    export.add_argument("--bagit", type=Path, metavar="OUT",
                        help="instead, write one run (the newest, or --run) as a BagIt bag in OUT")
    export.add_argument("--run", metavar="ID", help="the run to bag (default: the newest)")

    audit = sub.add_parser("audit", help="verify an archive; non-zero exit when anything is wrong",
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
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        handler = {"run": cmd_run, "clean": cmd_clean, "export": cmd_export, "audit": cmd_audit}
        return handler[args.command](args)
    except BrokenPipeError:
        # `docclean export DIR | head`: the reader left; not an error of ours (Python docs' recipe)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (CleaningError, OcflError, OSError, ValueError) as exc:
        print(f"docclean {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("docclean: interrupted; nothing half-written was published", file=sys.stderr)
        return 130


def cmd_run(args: argparse.Namespace) -> int:
    from archive.flow import run_paths

    show = not args.quiet
    summary = run_paths(args.paths, args.archive, _config(args), jobs=args.jobs,
                        progress=show and sys.stderr.isatty(), wait=args.wait)
    out = sys.stdout
    if show:
        for d in summary.dispositions:
            out.write(_summary_line(d) + "\n")
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.counts.items()))
    where = summary.object_path or summary.root
    state = "written" if summary.written else ("unchanged: already archived" if summary.object_id
                                               else "nothing to archive")
    out.write(f"archive: {summary.root.resolve()}\n")
    out.write(f"run: {where} ({state})\n")
    if summary.object_path and summary.counts.get("records"):
        out.write(f"records: {summary.object_path / 'v1' / 'content' / 'records'}\n")
    out.write(f"counts: {counts or 'no inputs'}\n")
    return 0


def _summary_line(d: dict[str, Any]) -> str:
    fate = d["disposition"]
    if fate == "rejected":
        return f"{fate:<17} {d['path']}  {d.get('step')}: {d.get('reason')} ({d.get('message')})"
    title = (d.get("title") or "").replace("\n", " ")[:40]
    return (f"{fate:<17} {d['path']}  {d['record']}  {d.get('encoding')}  "
            f"{d.get('chars')} chars  {title}")


def cmd_clean(args: argparse.Namespace) -> int:
    from archive.reader import looks_like_html, read
    from cleaners import pipeline, runner

    if args.path == "-":
        raw = sys.stdin.buffer.read()
        doc: Document | Rejected = Document(Source.from_bytes("-", raw), raw=raw,
                                            is_html=looks_like_html(Path("-"), raw))
    else:
        doc = read(Path(args.path))
    if isinstance(doc, Rejected):
        print(f"docclean clean: {doc.message}", file=sys.stderr)
        return 1
    out = runner.run(doc, _config(args), steps=pipeline.select(args.until, args.only))
    if isinstance(out, Rejected):
        print(f"docclean clean: rejected by {out.step}: {out.reason}: {out.message}", file=sys.stderr)
        return 1
    if args.explain:
        for entry in out.trail:
            print(f"# {entry.step} v{entry.version}: {'changed' if entry.changed else 'unchanged'}",
                  file=sys.stderr)
            for c in entry.changes:
                print("    " + json.dumps(c.to_json(), ensure_ascii=False), file=sys.stderr)
    sys.stdout.write(out.text)  # exactly the text: no newline added, so lines are kept as they are
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from archive.export import export_bag, iter_records

    if args.bagit:
        bag = export_bag(args.archive, args.bagit, args.run)
        print(f"bag: {bag}")
        return 0
    for rec in iter_records(args.archive):
        sys.stdout.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from archive.audit import audit

    problems = audit(args.archive, args.run)
    for problem in problems:
        print(f"BAD {problem}")
    if problems:
        print(f"audit: {len(problems)} problem(s) in {args.archive}", file=sys.stderr)
        return 1
    print(f"audit: {args.archive} is sound")
    return 0


def _config(args: argparse.Namespace) -> Any:
    from cleaners.config import load_config

    return load_config(args.config, args.script)


if __name__ == "__main__":
    sys.exit(main())
