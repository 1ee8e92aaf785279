"""Preset discovery, extends, user folders overriding built-ins, and loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesynth_bench import spec_folders
from facesynth_bench.errors import FsbenchError
from facesynth_bench.specs import FOLDERS, all_presets, load_preset

BUILT_INS = {
    "idiff-face",
    "negfacediff",
    "adaptdiff",
    "idiff-face-ddim200",
    "negfacediff-ddim200",
    "adaptdiff-ddim200",
}


def test_built_in_presets_are_the_published_settings() -> None:
    presets = {p.name: p for p in all_presets()}
    assert set(presets) >= BUILT_INS
    idiff, neg, adapt = presets["idiff-face"], presets["negfacediff"], presets["adaptdiff"]
    assert (idiff.sampler.name, idiff.sampler.steps, idiff.guidance.name) == ("ddpm", 1000, "none")
    assert (neg.guidance.name, neg.guidance.w_max, neg.negatives) == ("constant", 0.5, "far")
    assert (adapt.guidance.name, adapt.guidance.w_max, adapt.negatives) == ("linear", 1.0, "far")
    for name in ("idiff-face", "negfacediff", "adaptdiff"):
        ddim = presets[f"{name}-ddim200"]
        assert (ddim.sampler.name, ddim.sampler.steps, ddim.sampler.eta) == ("ddim", 200, 0.0)
        assert ddim.guidance == presets[name].guidance
        assert ddim.backend == "idiff_face" and ddim.image_size == 128


def test_wheel_layout_is_preferred_when_bundled(tmp_path, monkeypatch) -> None:
    assert FOLDERS.builtin_folder().name == "generators"
    package = tmp_path / "facesynth_bench"
    (package / "_bundled" / "generators").mkdir(parents=True)
    monkeypatch.setattr(spec_folders, "__file__", str(package / "spec_folders.py"))
    assert FOLDERS.builtin_folder() == package / "_bundled" / "generators"


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_user_folder_extends_and_overrides_with_a_warning(tmp_path, monkeypatch) -> None:
    user = tmp_path / "user"
    _write(user, "mine", 'extends = "adaptdiff"\n[guidance]\nw_max = 2.0\n')
    _write(user, "adaptdiff", 'extends = "negfacediff"\ndescription = "shadow"\n')
    monkeypatch.setenv(FOLDERS.env_var, str(user))
    with pytest.warns(UserWarning, match="overrides"):
        mine = load_preset("mine")
    # "mine" extends the user's adaptdiff (which extends negfacediff): constant, w = 2
    assert (mine.guidance.name, mine.guidance.w_max, mine.sampler.steps) == ("constant", 2.0, 1000)


def test_piecewise_points_from_toml(tmp_path) -> None:
    folder = tmp_path / "p"
    _write(
        folder,
        "bump",
        'extends = "idiff-face"\n[guidance]\nschedule = "piecewise"\n'
        "points = [[0.0, 0.0], [0.5, 1.0], [1.0, 0.0]]\n",
    )
    preset = load_preset("bump", [folder])
    assert preset.guidance.weight(250, 1000) == pytest.approx(0.5)
    assert preset.to_dict()["guidance"]["points"] == [[0.0, 0.0], [0.5, 1.0], [1.0, 0.0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('extends = "idiff-face"\ncolour = 1\n', r"unknown key 'colour'"),
        (
            'extends = "idiff-face"\n[sampler]\nstep = 5\n',
            r"unknown key\(s\) \['step'\] in \[sampler\]",
        ),
        ('extends = "idiff-face"\n[sampler]\nname = "euler"\n', "unknown sampler 'euler'"),
        ('extends = "idiff-face"\n[negatives]\nstrategy = "farthest"\n', "strategy 'farthest'"),
        ('extends = "idiff-face"\n[guidance]\nschedule = "cosine"\n', "guidance schedule 'cosine'"),
        ('extends = "nothing"\n', "unknown generator preset 'nothing'"),
        ('[sampler]\nname = "ddpm"\n', r"\[backend\] needs a 'name'"),
        ("this is = not toml", "cannot read TOML"),
    ],
)
def test_bad_presets_fail_loudly_naming_the_file(tmp_path, text: str, message: str) -> None:
    folder = tmp_path / "bad"
    path = _write(folder, "broken", text)
    with pytest.raises(FsbenchError, match=message) as info:
        load_preset("broken", [folder])
    assert str(path) in str(info.value) or "nothing" in str(info.value)


def test_unknown_preset_suggests_a_name() -> None:
    with pytest.raises(FsbenchError, match="Did you mean 'negfacediff'"):
        load_preset("negfacedif")


def test_missing_user_folder_is_an_error(tmp_path) -> None:
    with pytest.raises(FsbenchError, match="no such folder"):
        load_preset("adaptdiff", [tmp_path / "absent"])


def test_a_folder_named_twice_is_read_once(tmp_path, monkeypatch) -> None:
    user = tmp_path / "user"
    _write(user, "mine", 'extends = "adaptdiff"\n')
    monkeypatch.setenv(FOLDERS.env_var, str(user))
    assert load_preset("mine", [user]).guidance.name == "linear"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sampler.steps=20", ("sampler.steps", 20)),
        ("guidance.w_max = 0.5", ("guidance.w_max", 0.5)),
        ("negatives.strategy=close", ("negatives.strategy", "close")),
        ('negatives.strategy="close"', ("negatives.strategy", "close")),
        ("contexts.normalize=true", ("contexts.normalize", True)),
        ("guidance.points=[[0, 1], [1, 0]]", ("guidance.points", [[0, 1], [1, 0]])),
        ("backend.options.decoder=/x/y.pt", ("backend.options.decoder", "/x/y.pt")),
    ],
)
def test_overrides_parse_as_toml_values(text: str, expected: tuple) -> None:
    assert spec_folders.parse_override(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sampler.steps", "expected KEY=VALUE"),
        ("=3", "expected KEY=VALUE"),
        ("guidance.points=[[0, 1]", "is not a TOML value"),
        ("output.size=1979-05-27", "dates and times"),
    ],
)
def test_bad_overrides_are_named(text: str, message: str) -> None:
    with pytest.raises(FsbenchError, match=message):
        spec_folders.parse_override(text)


def test_overrides_are_applied_before_validation_and_recorded() -> None:
    overrides = {"sampler.steps": 20, "guidance.w_max": 2, "negatives.strategy": "close"}
    preset = load_preset("adaptdiff", overrides=overrides)
    assert (preset.sampler.steps, preset.guidance.w_max, preset.negatives) == (20, 2.0, "close")
    assert preset.sampler.name == "ddpm" and preset.guidance.name == "linear"
    assert preset.overrides == overrides
    assert load_preset("adaptdiff").overrides == {}
    options = load_preset("idiff-face", overrides={"backend.options.latent_size": 16})
    assert options.backend_options == {"precision": "auto", "latent_size": 16}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sampler.stepz": 20}, r"overrides: unknown key\(s\) \['stepz'\] in \[sampler\]"),
        ({"colour": 1}, "overrides: unknown key 'colour'"),
        ({"sampler.steps": "many"}, r"\[sampler\] steps must be an integer, got 'many'"),
        ({"sampler.steps": 2.5}, "steps must be an integer"),
        ({"negatives.strategy": "farthest"}, r"strategy 'farthest'.*with overrides"),
        ({"name": "other"}, "'name' cannot be overridden"),
        ({"sampler": 3}, r"\[sampler\] must be a table"),
        ({"sampler.name.x": 3}, "unknown sampler"),
        ({"sampler..steps": 3}, "expected a dotted key"),
    ],
)
def test_bad_overrides_fail_naming_the_key(overrides: dict, message: str) -> None:
    with pytest.raises(FsbenchError, match=message) as info:
        load_preset("adaptdiff", overrides=overrides)
    assert "\n" not in str(info.value)


def test_an_override_key_given_as_value_and_table_is_refused() -> None:
    with pytest.raises(FsbenchError, match="sampler is set as a value too"):
        spec_folders.nest_overrides({"sampler": 1, "sampler.steps": 2})
