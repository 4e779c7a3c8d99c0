"""Config is checked when it is loaded (issue #23): a wrong value is a clear error before any
document is read, exit 1, and nothing is written (not even an empty storage root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.cli import main
from archive.startup import load_config
from cleaners.config import PipelineConfig
from cleaners.model import CleaningError

BAD = [
    ('[repair]\nlegacy_codecs = "gb18030"\n', "should be a list of str"),
    ('[repair]\nlegacy_codecs = ["gb18030", "utf-7"]\n', "'utf-7' is not one of gb18030, big5"),
    ('[decode]\nmax_bytes = "big"\n', "should be a whole number"),
    ("[decode]\nmax_bytes = -1\n", "cannot be negative"),
    ("[decode]\nmax_nul_ratio = 2.0\n", "between 0 and 1"),
    ('[convert]\ntarget = "klingon"\n', "'klingon' is not one of hans, hant, tw, hk"),
    ('[extract]\nlocal_utc_offset = "8"\n', "like +08:00"),
    ("[strip]\ntitle_max_chars = true\n", "should be a whole number"),
    ("[dedup]\nbands = 5\n", "multiple of bands"),
    ('[repair]\nlegacy_codec = ["gb18030"]\n', "unknown keys in [repair]: ['legacy_codec']"),
    ("[stripping]\nmin_block_chars = 3\n", "unknown section [stripping]"),
]


@pytest.mark.parametrize(("toml", "message"), BAD)
def test_a_wrong_value_stops_the_run_before_anything_is_written(seed_paths, tmp_path, capsys,
                                                                 toml, message):
    config = tmp_path / "c.toml"
    config.write_text(toml)
    root = tmp_path / "archive"
    assert main(["run", str(seed_paths[0]), "--archive", str(root), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not root.exists()


def test_the_default_written_out_is_the_default(tmp_path, seed_paths, capsys):
    """A TOML list becomes the tuple the field holds: same config, same sha, and it works."""
    config = tmp_path / "c.toml"
    config.write_text('[repair]\nlegacy_codecs = ["gb18030", "big5"]\n[decode]\nmax_nul_ratio = 0\n')
    cfg = load_config(config)
    assert cfg.repair == PipelineConfig().repair
    assert isinstance(cfg.decode.max_nul_ratio, float)
    root = tmp_path / "a"
    assert main(["run", *map(str, seed_paths), "--archive", str(root), "--config", str(config),
                 "--quiet"]) == 0
    assert "5 archived" in capsys.readouterr().out


def test_the_dag_dict_is_checked_too():
    data = PipelineConfig().to_dict()
    assert PipelineConfig.from_dict(data) == PipelineConfig()      # lists from JSON become tuples
    data["repair"]["legacy_codecs"] = "big5"
    with pytest.raises(CleaningError, match="legacy_codecs"):
        PipelineConfig.from_dict(data)


def test_the_dag_dict_names_an_unknown_key():
    """A typo in a DAG's config dict is an error naming it, not a setting silently ignored;
    an archived run's config read back for its report may hold keys renamed since."""
    data = PipelineConfig().to_dict()
    data["strip"]["min_block_char"] = 3
    with pytest.raises(CleaningError, match=r"unknown keys in \[strip\]: \['min_block_char'\]"):
        PipelineConfig.from_dict(data)
    assert PipelineConfig.from_dict(data, strict=False) == PipelineConfig()


def test_an_unreadable_config_is_one_line(tmp_path, capsys):
    assert main(["run", "x", "--archive", str(tmp_path / "a"), "--config", str(tmp_path / "no.toml")]) == 1
    assert "cannot read config" in capsys.readouterr().err
    assert not Path(tmp_path / "a").exists()
