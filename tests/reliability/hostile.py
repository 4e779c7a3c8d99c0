"""Hostile and good inputs, generated: what the reliability tests and `make stress` feed a run.

Each hostile kind names the limit or rule that must stop it and the reason it must be rejected
with (None: it must be archived, truncated trail and all). `size` scales a kind: the tests use
small files under a config with small limits, `scripts/stress.py` files at the default limits.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

HANZI = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
         "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
         "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比"
         "或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
         "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做"
         "必战先回则任取据处理府研质")


def good_text(n: int) -> str:
    """A unique, plausible Chinese document: a title line and a few sentences."""
    rnd = random.Random(n)
    sentences = ["".join(rnd.choice(HANZI) for _ in range(rnd.randint(12, 30))) + "。"
                 for _ in range(rnd.randint(3, 8))]
    return f"第{n}号文件\n" + "".join(sentences) + f"编号{n}。\n"


def entity_flood(n: int) -> bytes:
    return ("正文" + "&amp;lt;" * n).encode()


def entity_flood_html(n: int) -> bytes:
    return ("<html><body><p>正文" + "&amp;lt;" * n + "</p></body></html>").encode()


def long_line(n: int) -> bytes:
    return ("中文正文，" * (n // 5)).encode()


def long_line_html(n: int) -> bytes:
    return ("<html><body><p>" + "中文正文，" * (n // 5) + "</p></body></html>").encode()


def deep_nesting(n: int) -> bytes:
    return ("<html><body>" + "<div>" * n + "正文" + "</div>" * n + "</body></html>").encode()


def many_elements(n: int) -> bytes:
    return ("<html><body>" + "<p>段落。</p>" * n + "</body></html>").encode()


def many_lines(n: int) -> bytes:
    return "第一行的内容。\n".encode() * n


def script_only(n: int) -> bytes:
    return b"<html><body><script>" + b"x" * n + b"</script></body></html>"


def binary(n: int) -> bytes:
    """An image: a PNG signature, then bytes with NULs in them."""
    rnd = random.Random(n)
    return b"\x89PNG\r\n\x1a\n" + bytes(rnd.choice((0, rnd.randrange(256))) for _ in range(max(64, n)))


# kind → (generator, the reason the run must reject it with at the size it is made at)
KINDS: dict[str, tuple[Callable[[int], bytes], str]] = {
    "entity_flood": (entity_flood, "too_many_char_references"),
    "entity_flood_html": (entity_flood_html, "too_many_char_references"),
    "long_line": (long_line, "text_too_long"),
    "long_line_html": (long_line_html, "text_too_long"),
    "deep_nesting": (deep_nesting, "too_many_elements"),
    "many_elements": (many_elements, "too_many_elements"),
    "many_lines": (many_lines, "text_too_long"),
    "script_only": (script_only, "empty_text"),
    "binary": (binary, "binary_content"),
}
SUFFIX = {"entity_flood_html": ".html", "long_line_html": ".html", "deep_nesting": ".html",
          "many_elements": ".html", "script_only": ".html", "binary": ".bin"}


def write_kind(folder: Path, kind: str, size: int, name: str | None = None) -> Path:
    make, _reason = KINDS[kind]
    path = folder / (name or f"{kind}-{size}{SUFFIX.get(kind, '.txt')}")
    path.write_bytes(make(size))
    return path


def write_oversized(folder: Path, size: int) -> Path:
    """A sparse file of `size` bytes: no disk used, and it must never be read."""
    path = folder / f"oversized-{size}.txt"
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def write_corpus(folder: Path, good: int, hostile_each: int, sizes: dict[str, int]) -> dict[str, str | None]:
    """`good` good files and `hostile_each` files of every kind; name → expected reason (None: archived)."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str | None] = {}
    for n in range(good):
        name = f"good-{n:05d}.txt"
        (folder / name).write_text(good_text(n), encoding="utf-8")
        expected[name] = None
    for kind, (_make, reason) in KINDS.items():
        for i in range(hostile_each):
            path = write_kind(folder, kind, sizes[kind] + i, f"{kind}-{i:04d}{SUFFIX.get(kind, '.txt')}")
            expected[path.name] = reason
    for i in range(hostile_each):
        name = os.fsdecode(f"bad-name-{i:04d}-\xff\xfe.txt".encode("latin-1"))
        (folder / name).write_text(good_text(100_000 + i), encoding="utf-8")
        expected[name] = None
    return expected


def fates(root: Path) -> dict[str, dict]:
    """Every disposition of an archive, by the input's file name."""
    out = {}
    for path in sorted(root.glob("run-*/v1/content/metadata/dispositions.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            out[Path(d["path"]).name] = d
    return out
