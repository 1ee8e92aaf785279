"""Separability protocols: the built-ins, user overrides, schema errors, and the CLI."""

import json
import warnings

import numpy as np
import pytest

from facesynth_bench.cli import main
from facesynth_bench.embedding_set import EmbeddingSet, save_embedding_set
from facesynth_bench.errors import FsbenchError
from facesynth_bench.protocols.separability import (
    FOLDERS,
    ProtocolShortfallWarning,
    all_protocols,
    check_protocol_counts,
    load_protocol,
)


def test_builtin_protocols_pin_each_papers_choices():
    protocols = {p.name: p for p in all_protocols()}
    assert set(protocols) >= {
        "separability-1000x20",
        "negfacediff-separability",
        "idiff-face-separability",
    }
    neg = protocols["negfacediff-separability"]
    assert (neg.max_identities, neg.max_images, neg.order) == (1000, 20, "lexicographic")
    assert (neg.pairs, neg.fraction, neg.convention, neg.flip) == (
        "sampled-fraction",
        0.05,
        "pyeer",
        False,
    )
    ours = protocols["separability-1000x20"]
    assert (ours.pairs, ours.convention, ours.flip) == ("exhaustive", "strict", None)
    assert protocols["idiff-face-separability"].pairs == "sampled-equal"


def test_user_protocol_extends_a_builtin(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text(
        'extends = "negfacediff-separability"\n[pairs]\nfraction = 0.2\n'
    )
    monkeypatch.setenv(FOLDERS.env_var, str(tmp_path))
    mine = load_protocol("mine")
    assert (mine.pairs, mine.fraction, mine.convention) == ("sampled-fraction", 0.2, "pyeer")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[pairs]\nmode = 'all'\n", "mode 'all' is not one of"),
        ("[metrics]\nconvention = 'nist'\n", "convention 'nist'"),
        ("[pairz]\nmode = 'exhaustive'\n", "unknown key 'pairz'"),
        ("[subset]\nfirst = 3\n", r"unknown key\(s\) \['first'\]"),
        ("[subset]\norder = 'random'\n", "order must be"),
    ],
)
def test_bad_protocols_are_named(tmp_path, monkeypatch, text, message):
    (tmp_path / "bad.toml").write_text(text)
    monkeypatch.setenv(FOLDERS.env_var, str(tmp_path))
    with pytest.raises(FsbenchError, match=message):
        load_protocol("bad")


def test_unknown_protocol_suggests_one():
    with pytest.raises(FsbenchError, match="Did you mean 'negfacediff-separability'"):
        load_protocol("negfacediff-separabilty")


def test_cli_protocol_sets_defaults_and_options_override(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(60), 3)
    x = rng.standard_normal((60, 8))[labels] + 0.4 * rng.standard_normal((180, 8))
    save_embedding_set(tmp_path / "e.npz", EmbeddingSet(x, labels))
    base = ["evaluate", "separability", "--embeddings", str(tmp_path / "e.npz")]
    assert (
        main([*base, "--out", str(tmp_path / "a"), "--protocol", "negfacediff-separability"]) == 0
    )
    a = json.loads((tmp_path / "a" / "separability.json").read_text())
    assert (a["pairs"], a["pairs_fraction"], a["convention"]) == ("sampled-fraction", 0.05, "pyeer")
    assert a["protocol"]["name"] == "negfacediff-separability"
    # The protocol's subset applies to datasets: an embeddings file gets a warning.
    assert any("scored as it is" in w for w in a["warnings"])
    # 60 identities x 3 images, not the 1000 x 20 the protocol names: said and recorded.
    assert any("ran on 60 identities of the 1000 it names" in w for w in a["warnings"])
    assert "scored as it is" in capsys.readouterr().err
    args = [*base, "--out", str(tmp_path / "b"), "--protocol", "negfacediff-separability"]
    assert main([*args, "--convention", "strict", "--fraction", "0.5"]) == 0
    b = json.loads((tmp_path / "b" / "separability.json").read_text())
    assert (b["pairs"], b["pairs_fraction"], b["convention"]) == ("sampled-fraction", 0.5, "strict")


def test_cli_protocol_subset_applies_to_a_dataset(tmp_path, monkeypatch):
    from facesynth_bench.data.writers import write_flat_dataset

    monkeypatch.setenv("FSBENCH_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(2)
    images = {
        f"id{i}": [rng.integers(0, 256, (150, 150, 3)).astype(np.uint8) for _ in range(4)]
        for i in range(4)
    }
    write_flat_dataset(tmp_path / "ds", images)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "small.toml").write_text(
        "[subset]\nmax_identities = 3\nmax_images = 2\n[pairs]\nmode = 'sampled-equal'\n"
    )
    monkeypatch.setenv(FOLDERS.env_var, str(tmp_path / "p"))
    out = tmp_path / "out"
    args = ["evaluate", "separability", "--dataset", str(tmp_path / "ds"), "--embedder", "dlib"]
    assert main([*args, "--out", str(out), "--protocol", "small", "--device", "cpu"]) == 0
    report = json.loads((out / "separability.json").read_text())
    assert report["input"]["counts"]["images"] == 6
    assert (report["n_identities"], report["n_genuine"], report["pairs"]) == (3, 3, "sampled-equal")


def test_a_run_smaller_than_the_protocol_names_says_so():
    protocol = load_protocol("separability-1000x20")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_protocol_counts(protocol, [20] * 1000)
    with pytest.warns(ProtocolShortfallWarning, match="ran on 50 identities of the 1000") as got:
        check_protocol_counts(protocol, [20] * 48 + [3, 19])
    assert "2 of 50 identities with fewer than the 20 images it names (as few as 3)" in str(
        got[0].message
    )


def test_a_protocol_that_needs_more_identities_names_how_many():
    protocol = load_protocol("negfacediff-separability")
    assert protocol.plan().min_identities == 21
    with pytest.raises(FsbenchError, match=r"12 identities scored; .* need at least 21"):
        check_protocol_counts(protocol, [20] * 12)


def test_a_fraction_belongs_to_the_sampled_fraction_mode(tmp_path, monkeypatch):
    (tmp_path / "odd.toml").write_text("[pairs]\nmode = 'exhaustive'\nfraction = 0.2\n")
    monkeypatch.setenv(FOLDERS.env_var, str(tmp_path))
    with pytest.raises(FsbenchError, match="fraction is only used by the sampled-fraction"):
        load_protocol("odd")
    assert load_protocol("separability-1000x20").fraction is None
