"""End-to-end benchmark at scale (issue #16): `docclean run` as a user runs it, on three corpora.

    python scripts/bench_e2e.py [--mb 1] [--scales 1,10] [--jobs 2] [--timeout 600]
                                [--corpora distinct,syndicated,boilerplate] [--compare-jobs]

Every corpus is generated from seeds/ text (no corpus needed), at `--mb` megabytes × each scale:
- *distinct*: documents sharing nothing: paragraphs of the seeds in a random order, every Han
  character mapped through a permutation of the seeds' Han characters drawn for that document
  (sentence shapes, punctuation and numbers stay realistic; no two documents share a passage);
- *syndicated*: four such stories copied many times, each copy with small edits (a few
  characters changed, sometimes a paragraph dropped), its own site's chrome (breadcrumb, source
  line, editor, copyright) and a numbered first line, as UTF-8, GB18030 or UTF-16;
- *boilerplate*: distinct bodies that all carry the same three paragraphs (a disclaimer, a
  notice, a quotation) taken from the seeds as they are.

Each (corpus, scale) runs `docclean run DIR --archive A --jobs N --quiet` as a subprocess, and
the peer chain (charset-normalizer → ftfy → OpenCC t2s → datasketch MinHash LSH at 0.8 on
character 5-shingles, as data-juicer wires them; no passage links, no archive) on the same
bytes, as a subprocess too. Figures per run:
- MB per CPU-second: input bytes / (user + system CPU of the process and its children);
- memory: the largest sum of Pss over the process and its descendants (``/proc/PID/smaps_rollup``:
  shared pages counted once), sampled every 50 ms during the run;
- wall time. A run longer than `--timeout` is killed and reported as such.

With `--compare-jobs` the largest distinct corpus also runs with `--jobs 1` (wall ratio).
The floors of issue #16 are printed next to the figures; the exit status is 1 when one is
missed. The peer chain needs `pip install -e .[peer]` (datasketch); it is skipped without it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HAN = re.compile(r"[\u4e00-\u9fff]")
STORIES = 4                       # syndicated: a few stories, copied many times
SHARED_PARAGRAPHS = 3             # boilerplate: paragraphs every document carries
SITES = 40                        # syndicated: sites whose chrome wraps the copies
PARAGRAPHS = (12, 40)             # paragraphs per generated document (a news page to a notice)
FREQUENCY_BUCKET = 40             # characters of similar frequency a permutation mixes
SAMPLE_SECONDS = 0.05             # memory sampling period
ENCODINGS = ("utf-8", "gb18030", "utf-16")
# Issue #16 floors.
FLOOR_MB_PER_CPU_S = 5.0
FLOOR_CPU_GROWTH = 1.1            # 10× the input ≤ 11× the CPU: per MB, ≤ 1.1× the 1× figure
FLOOR_MEM_GROWTH = (1.10, 20.0)   # memory at 10× within 10% (+20 MB) of 1×
FLOOR_MEM_JOBS2_MB = 400.0
FLOOR_WALL_RATIO = 0.55           # --jobs 2 wall ≤ 0.55 × --jobs 1


# --- corpora ---------------------------------------------------------------------------------

def seed_paragraphs() -> list[str]:
    """The seeds' paragraphs as the pipeline leaves them (mojibake repaired, chrome stripped,
    Simplified): generated documents then start from clean text, as most real inputs do."""
    from archive.reader import read
    from archive.startup import load_config
    from cleaners import runner
    from cleaners.model import Rejected

    out = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        doc = runner.run(read(path), load_config())
        if isinstance(doc, Rejected):
            continue
        out.extend(line.strip() for line in doc.text.splitlines() if len(HAN.findall(line)) >= 20)
    return out


class Writer:
    def __init__(self, folder: Path) -> None:
        self.folder, self.files, self.bytes = folder, 0, 0
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, text: str, codec: str = "utf-8") -> None:
        data = text.encode(codec)
        (self.folder / name).write_bytes(data)
        self.files += 1
        self.bytes += len(data)


def _by_frequency(chars: set[str]) -> list[str]:
    from cleaners.encoding import _hanzi_table  # log10 frequency of each character

    table = _hanzi_table()
    return sorted(chars, key=lambda c: (-table[c], c))


def _permuter(chars: list[str], rng: random.Random) -> dict[int, str]:
    """Each character to another of about the same frequency (shuffled within buckets of
    FREQUENCY_BUCKET ranks): the text keeps the frequency profile of real Chinese, so the
    decode and repair steps see what they see in real text, not random characters."""
    table: dict[int, str] = {}
    for start in range(0, len(chars), FREQUENCY_BUCKET):
        bucket = chars[start:start + FREQUENCY_BUCKET]
        shuffled = bucket[:]
        rng.shuffle(shuffled)
        table.update((ord(a), b) for a, b in zip(bucket, shuffled, strict=True))
    return table


def _body(paragraphs: list[str], chars: list[str], rng: random.Random) -> list[str]:
    """A document no other shares: seed paragraphs in a random order, Han characters permuted."""
    table = _permuter(chars, rng)
    picked = rng.sample(paragraphs, min(len(paragraphs), rng.randint(*PARAGRAPHS)))
    return [p.translate(table) for p in picked]


def generate(kind: str, folder: Path, megabytes: float, seed: int) -> Writer:
    rng = random.Random(f"{kind}/{seed}")
    paragraphs = seed_paragraphs()
    chars = _by_frequency({c for p in paragraphs for c in HAN.findall(p)})
    out = Writer(folder)
    target = int(megabytes * 2**20)
    n = 0
    if kind == "distinct":
        while out.bytes < target:
            body = _body(paragraphs, chars, rng)
            out.write(f"{n:07d}.txt", "\n".join(body) + "\n")
            n += 1
    elif kind == "syndicated":
        stories = [_body(paragraphs, chars, rng) for _ in range(STORIES)]
        sites = ["".join(rng.sample(chars, 2)) for _ in range(SITES)]
        while out.bytes < target:
            story = list(stories[n % STORIES])
            if rng.random() < 0.3:                               # an edition without one paragraph
                del story[rng.randrange(len(story))]
            for _ in range(rng.randint(0, 3)):                   # a few characters changed
                i = rng.randrange(len(story))
                line = story[i]
                j = rng.randrange(len(line))
                story[i] = line[:j] + rng.choice(chars) + line[j + 1:]
            site = sites[rng.randrange(SITES)]
            chrome_top = [f"第{n}号稿件", f"首页 > {site}新闻 > 正文",
                          f"来源：{site}网  2024-0{1 + n % 9}-1{n % 10} 0{n % 10}:30"]
            chrome_end = [f"责任编辑：{''.join(rng.sample(chars, 3))}",
                          f"版权所有 © {site}网  京ICP备{10000000 + n}号"]
            out.write(f"{n:07d}.txt", "\n".join(chrome_top + story + chrome_end) + "\n",
                      ENCODINGS[n % len(ENCODINGS)])
            n += 1
    elif kind == "boilerplate":
        shared = sorted(paragraphs, key=len)[-SHARED_PARAGRAPHS - 10:-10]   # long, not the longest
        while out.bytes < target:
            body = _body(paragraphs, chars, rng)
            at = rng.randrange(len(body) + 1)
            out.write(f"{n:07d}.txt", "\n".join(body[:at] + shared + body[at:]) + "\n")
            n += 1
    else:
        raise SystemExit(f"unknown corpus {kind!r}")
    return out


# --- measuring a subprocess ------------------------------------------------------------------

def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo.extend(int(c) for c in fh.read().split())
        except OSError:
            pass
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Measured:
    cpu: float
    wall: float
    pss_mb: float
    timed_out: bool
    stdout: str


def measure(cmd: list[str], timeout: float) -> Measured:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(_pss_kb(p) for p in _descendants(proc.pid)))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode and not timed_out:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return Measured(cpu, wall, peak[0] / 1024, timed_out, stdout)


# --- the peer chain --------------------------------------------------------------------------

def peer_available() -> bool:
    try:
        import datasketch  # noqa: F401
    except ImportError:
        return False
    return True


def peer_chain(folder: Path, out: Path) -> int:
    """charset-normalizer → ftfy → OpenCC t2s → datasketch MinHash LSH (0.8, 128 perms,
    character 5-shingles); kept texts written as JSON Lines. Run in a child process."""
    import charset_normalizer
    import ftfy
    import opencc
    from datasketch import MinHash, MinHashLSH

    t2s = opencc.OpenCC("t2s.json")
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    kept = dropped = 0
    with out.open("w", encoding="utf-8") as fh:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            best = charset_normalizer.from_bytes(path.read_bytes()).best()
            if best is None:
                continue
            text = t2s.convert(ftfy.fix_text(str(best)))
            sketch = MinHash(num_perm=128)
            sketch.update_batch([text[i:i + 5].encode() for i in range(max(1, len(text) - 4))])
            if lsh.query(sketch):
                dropped += 1
                continue
            lsh.insert(path.name, sketch)
            fh.write(json.dumps({"path": str(path), "text": text}, ensure_ascii=False) + "\n")
            kept += 1
    print(json.dumps({"kept": kept, "dropped": dropped}))
    return 0


# --- the report ------------------------------------------------------------------------------

@dataclass
class Row:
    corpus: str
    scale: int
    jobs: int
    files: int
    mb: float
    ours: Measured
    peer: Measured | None
    records: str

    @property
    def rate(self) -> float:
        return self.mb / self.ours.cpu if self.ours.cpu else 0.0


def run_ours(folder: Path, archive: Path, jobs: int, timeout: float) -> tuple[Measured, str]:
    docclean = Path(sys.executable).with_name("docclean")
    m = measure([str(docclean), "run", str(folder), "--archive", str(archive), "--jobs", str(jobs),
                 "--quiet"], timeout)
    counts = next((line.split(":", 1)[1].strip() for line in m.stdout.splitlines()
                   if line.startswith("counts:")), "")
    return m, ("timed out" if m.timed_out else counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=1.0, help="size of the 1× corpora in MB (default 1)")
    ap.add_argument("--scales", default="1,10", help="multiples of --mb to run (default 1,10)")
    ap.add_argument("--corpora", default="distinct,syndicated,boilerplate")
    ap.add_argument("--jobs", type=int, default=2, help="docclean run --jobs (default 2)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds before a run is killed")
    ap.add_argument("--compare-jobs", action="store_true",
                    help="also run the largest distinct corpus with --jobs 1 (wall ratio)")
    ap.add_argument("--no-peer", action="store_true", help="skip the peer chain")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    ap.add_argument("--peer-chain", type=Path, help=argparse.SUPPRESS)   # child mode
    ap.add_argument("--peer-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peer_chain:
        return peer_chain(args.peer_chain, args.peer_out)
    scales = [int(s) for s in args.scales.split(",")]
    peer = not args.no_peer and peer_available()
    if not args.no_peer and not peer:
        print("peer chain skipped: datasketch is not installed (pip install -e '.[peer]')")
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="docclean-e2e-")) if args.keep is None else args.keep
    try:
        for kind in args.corpora.split(","):
            for scale in scales:
                folder = tmp / f"{kind}-{scale}x" / "in"
                gen = generate(kind, folder, args.mb * scale, args.seed)
                mb = gen.bytes / 2**20
                runs = [args.jobs]
                if args.compare_jobs and kind == "distinct" and scale == max(scales) and args.jobs != 1:
                    runs.append(1)
                for jobs in runs:
                    archive = tmp / f"{kind}-{scale}x" / f"archive-j{jobs}"
                    ours, records = run_ours(folder, archive, jobs, args.timeout)
                    shutil.rmtree(archive, ignore_errors=True)
                    theirs = None
                    if peer and jobs == args.jobs:
                        out = tmp / f"{kind}-{scale}x" / "peer.jsonl"
                        theirs = measure([sys.executable, __file__, "--peer-chain", str(folder),
                                          "--peer-out", str(out)], args.timeout)
                    row = Row(kind, scale, jobs, gen.files, mb, ours, theirs, records)
                    rows.append(row)
                    _print_row(row)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return _floors(rows, args.jobs)


def _print_row(r: Row) -> None:
    o = r.ours
    state = f">{o.cpu:.1f} (killed after {o.wall:.0f} s wall)" if o.timed_out else f"{o.cpu:.1f}"
    peer = (f" | peer {r.mb / r.peer.cpu:.2f} MB/CPU-s, {r.peer.pss_mb:.0f} MB"
            if r.peer and r.peer.cpu and not r.peer.timed_out else "")
    print(f"{r.corpus:<12}{r.scale:>3}× jobs {r.jobs}: {r.files:>6} files {r.mb:>7.2f} MB | "
          f"CPU {state} s, {r.rate:.2f} MB/CPU-s, wall {o.wall:.1f} s, Pss {o.pss_mb:.0f} MB{peer} | {r.records}",
          flush=True)


def _floors(rows: list[Row], jobs: int) -> int:
    missed: list[str] = []
    main_rows = [r for r in rows if r.jobs == jobs]
    for r in main_rows:
        if r.ours.timed_out or r.rate < FLOOR_MB_PER_CPU_S:
            missed.append(f"{r.corpus} {r.scale}×: {r.rate:.2f} MB/CPU-s < {FLOOR_MB_PER_CPU_S}")
        if jobs == 2 and r.ours.pss_mb > FLOOR_MEM_JOBS2_MB:
            missed.append(f"{r.corpus} {r.scale}×: {r.ours.pss_mb:.0f} MB > {FLOOR_MEM_JOBS2_MB:.0f} MB")
    by = {(r.corpus, r.scale): r for r in main_rows}
    for (kind, scale), r in by.items():
        base = by.get((kind, 1))
        if base is None or scale == 1 or base.ours.timed_out:
            continue
        growth = (r.ours.cpu / r.mb) / (base.ours.cpu / base.mb)
        if r.ours.timed_out or growth > FLOOR_CPU_GROWTH:
            missed.append(f"{kind} {scale}×: CPU per MB {growth:.2f}× the 1× figure > {FLOOR_CPU_GROWTH}")
        ratio, extra = FLOOR_MEM_GROWTH
        if r.ours.pss_mb > base.ours.pss_mb * ratio + extra:
            missed.append(f"{kind} {scale}×: memory {r.ours.pss_mb:.0f} MB > 1.1 × {base.ours.pss_mb:.0f} + 20")
    ones = [r for r in rows if r.jobs == 1]
    for one in ones:
        two = by.get((one.corpus, one.scale))
        if two and not one.ours.timed_out:
            ratio = two.ours.wall / one.ours.wall
            print(f"wall --jobs {jobs} / --jobs 1 on {one.corpus} {one.scale}×: {ratio:.2f} "
                  f"[floor ≤ {FLOOR_WALL_RATIO}]")
            if ratio > FLOOR_WALL_RATIO:
                missed.append(f"wall ratio {ratio:.2f} > {FLOOR_WALL_RATIO}")
    for m in missed:
        print(f"BELOW FLOOR: {m}")
    return 1 if missed else 0


if __name__ == "__main__":
    from archive.startup import start

    start()  # every entry point prepares the process first (archive.startup, issue #17)
    sys.exit(main())
