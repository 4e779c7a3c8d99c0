"""OpenCC's own test cases through docclean, for every target script the product offers.

Issue #6, "Done when": the cases in ``opencc/test/testcases/testcases.json`` pass 100 % for
every configuration we offer, through ``docclean clean --only convert --script S``. Each case
input is fed to the CLI as one document on standard input (in-process, so 267 cases take
seconds); the printed text must equal OpenCC's expected output for the config behind S
(``cleaners.script.OPENCC_CONFIGS``). With ``--step`` the cases go straight to
``cleaners.script.convert`` instead, without the CLI and the decode step.

    .venv/bin/python scripts/eval_opencc.py ../shared/corpus [--step] [--show-failures 5]

Also OpenCC's golden files (``test/golden``: a whole text and its expected conversion) for
the configs that have one. The JSON file has trailing commas, which are stripped before
parsing. Prints pass counts per script; exits 0 (also with "skipped: corpus not found" when
the file is absent).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

from cleaners.model import Document, Source
from cleaners.script import OPENCC_CONFIGS, SCRIPTS, ConvertConfig, convert, opencc_version

CASES = Path("opencc/test/testcases/testcases.json")
GOLDEN = Path("opencc/test/golden")  # input/X.txt and output/X.<config>.txt
TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def load_cases(path: Path) -> list[dict[str, Any]]:
    """The test cases, with the file's trailing commas stripped."""
    cases: list[dict[str, Any]] = json.loads(TRAILING_COMMA.sub(r"\1", path.read_text("utf-8")))["cases"]
    return cases


def through_cli(text: str, script: str) -> str:
    """`docclean clean - --only convert --script S` on `text`, in this process."""
    from archive.cli import main

    stdin = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
    out = io.StringIO()
    saved = sys.stdin
    try:
        sys.stdin = stdin
        with contextlib.redirect_stdout(out):
            status = main(["clean", "-", "--only", "convert", "--script", script])
    finally:
        sys.stdin = saved
    if status != 0:
        raise RuntimeError(f"docclean clean exited {status}")
    return out.getvalue()


def through_step(text: str, script: str) -> str:
    doc = Document(Source("case", "0", len(text.encode("utf-8"))), text=text)
    return convert(doc, ConvertConfig(target=script)).text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the shared corpus folder (../shared/corpus)")
    parser.add_argument("--step", action="store_true",
                        help="call cleaners.script.convert directly instead of the CLI")
    parser.add_argument("--show-failures", type=int, default=5, metavar="N",
                        help="print up to N failing cases per script")
    args = parser.parse_args(argv)
    path = args.corpus / CASES
    if not path.is_file():
        print(f"skipped: corpus not found ({path})")
        return 0
    cases = load_cases(path)
    run = through_step if args.step else through_cli
    how = "cleaners.script.convert" if args.step else "docclean clean - --only convert --script S"
    print(f"{len(cases)} cases in {path}; OpenCC {opencc_version()}; through {how}")
    total_pass = total = 0
    for script in SCRIPTS:
        config = OPENCC_CONFIGS[script].removesuffix(".json")
        mine = [c for c in cases if config in c["expected"]]
        failures = []
        for case in mine:
            got = run(case["input"], script)
            if got != case["expected"][config]:
                failures.append((case["id"], case["input"], case["expected"][config], got))
        passed = len(mine) - len(failures)
        total_pass += passed
        total += len(mine)
        print(f"--script {script:4} ({config + '.json':10}): {passed}/{len(mine)} pass")
        for case_id, given, expected, got in failures[:args.show_failures]:
            print(f"    FAIL {case_id}: {given!r} expected {expected!r} got {got!r}")
    print(f"all offered configs: {total_pass}/{total} pass")
    golden = args.corpus / GOLDEN
    for source in sorted((golden / "input").glob("*.txt")):
        text = source.read_text("utf-8")
        for script in SCRIPTS:
            config = OPENCC_CONFIGS[script].removesuffix(".json")
            expected = golden / "output" / f"{source.stem}.{config}.txt"
            if expected.is_file():
                same = run(text, script) == expected.read_text("utf-8")
                print(f"golden {source.name} --script {script} ({config}): "
                      f"{'identical' if same else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
