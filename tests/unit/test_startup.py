"""The steps are pure; the process is prepared at one edge (`archive.startup`, issue #17).

Importing the cleaners registers nothing and reads no OpenCC file; a step run before
`start()` says what to call instead of doing it behind the caller's back. Each check runs in a
fresh interpreter: this test process has already been started (conftest.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from archive import startup
from cleaners import textutil


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout.strip()


def test_importing_the_cleaners_registers_and_hashes_nothing() -> None:
    out = _fresh("""
        import codecs
        import cleaners.config, cleaners.pipeline, cleaners.runner
        from cleaners import textutil
        try:
            codecs.lookup_error("docclean.record")
            print("registered")
        except LookupError:
            print("not registered")
        print(textutil._OPENCC_FILES)
    """)
    assert out.splitlines() == ["not registered", "None"]


def test_a_step_before_start_says_what_to_call() -> None:
    out = _fresh("""
        from cleaners.encoding import decode_recording
        from cleaners.model import CleaningError
        try:
            decode_recording(b"\\xd6\\xd0", "gb18030")
        except CleaningError as exc:
            print(exc)
        from archive.startup import start
        start()
        print(decode_recording(b"\\xd6\\xd0\\xff", "gb18030").text)
    """)
    before, after = out.splitlines()
    assert "archive.startup.start()" in before
    assert after == "中\ufffd"


def test_start_gives_the_steps_every_installed_opencc_file() -> None:
    share = startup.opencc_share_dir()
    assert share is not None
    digests = startup.opencc_file_digests(share)
    assert "t2s.json" in digests and "TWPhrases.ocd2" in digests
    assert textutil.opencc_files() == digests
    assert startup.opencc_file_digests(None) == {}


def test_load_config_reads_the_file_and_names_what_is_wrong(tmp_path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[convert]\ntarget = "hk"\n', encoding="utf-8")
    assert startup.load_config(good).convert.target == "hk"
    assert startup.load_config(good, "tw").convert.target == "tw"
    import pytest

    from cleaners.model import CleaningError

    with pytest.raises(CleaningError, match="cannot read config"):
        startup.load_config(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_bytes(b"[convert\n")
    with pytest.raises(CleaningError, match="cannot read config .*bad.toml"):
        startup.load_config(tmp_path / "bad.toml")


def test_a_data_file_is_read_once_and_its_sha256_kept() -> None:
    import hashlib
    from importlib import resources

    text = textutil.data_text("spam_terms.txt")
    assert textutil.data_text("spam_terms.txt") is text            # cached: read once
    raw = resources.files("cleaners").joinpath("data", "spam_terms.txt").read_bytes()
    assert textutil.data_digests()["spam_terms.txt"] == hashlib.sha256(raw).hexdigest()
