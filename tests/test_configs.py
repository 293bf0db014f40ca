"""Configs are read the way transformers reads them, and the pre-check refuses
only what transformers refuses."""

from __future__ import annotations

import json

import pytest


def write_default_config(folder, model_type: str, **changes) -> dict:
    """transformers' own default config of ``model_type``, serialised by transformers."""
    from transformers import AutoConfig

    config = AutoConfig.for_model(model_type, **changes)
    folder.mkdir(parents=True, exist_ok=True)
    config.to_json_file(str(folder / "config.json"))
    return config


def built_total(config) -> int:
    """sum(numel) of the backbone transformers builds on the meta device."""
    import torch
    from transformers import AutoModel

    with torch.device("meta"):
        model = AutoModel.from_config(config)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "model_type, changes, what",
    [
        # time_step_limit (0.0, inf) is written as {"__float__": "Infinity"}
        ("mamba2", {"num_hidden_layers": 2, "vocab_size": 1000}, '"__float__"'),
        # num_hidden_layers is one count per part
        ("lxmert", {}, '"num_hidden_layers": {'),
        # max_position_embeddings is a whole float
        ("musicflamingo", {}, '"max_position_embeddings": 1200.0'),
    ],
)
def test_configs_transformers_accepts_are_counted(tmp_path, cli, model_type, changes, what):
    config = write_default_config(tmp_path / model_type, model_type, **changes)
    assert what in (tmp_path / model_type / "config.json").read_text()  # the case this config is about
    payload = cli("params", str(tmp_path / model_type), "--base", "-d", "0", "-f", "json").json()
    assert payload["params"]["total"] == built_total(config)


def test_errors_keep_the_part_after_the_first_line(tmp_path, cli):
    folder = tmp_path / "bad"
    config = write_default_config(folder, "mamba2", num_hidden_layers=2)
    raw = json.loads((folder / "config.json").read_text())
    raw["time_step_limit"] = {"x": 1}
    (folder / "config.json").write_text(json.dumps(raw))
    result = cli("params", str(folder), "--base")
    assert result.code == 2 and result.err.count("\n") == 1
    # transformers' message goes on after "Validation error for field 'time_step_limit':" on its next line
    assert "Validation error for field 'time_step_limit': TypeError: Field 'time_step_limit' with value {'x': 1}" in result.err
    assert config.model_type == "mamba2"


@pytest.mark.parametrize("value, message", [("12", "must be a number, got '12'"), (-1, "must be positive, got -1"), (True, "must be a number")])
def test_the_pre_check_still_refuses_what_no_model_can_have(tmp_path, cli, value, message):
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": value}))
    result = cli("params", str(folder))
    assert result.code == 2 and f"field 'num_hidden_layers' {message}" in result.err
