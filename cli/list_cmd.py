"""``modelprof list``: the bundled models and the toy nets."""

from __future__ import annotations

from ..profilers.pipeline import profile_params
from .options import FormatOpt
from .render import Column, OutputFormat, View, count, emit

SCHEMA_VERSION = 1


def list_models(fmt: FormatOpt = OutputFormat.table) -> None:
    """Bundled models (hub id, alias, family, class, params) and toy nets."""
    from ..models.bundled import bundled_models
    from ..models.toys import TOYS

    rows = []
    for model in bundled_models():
        config = model.load_config()
        rows.append(
            {
                "name": model.hub_id,
                "alias": model.alias if model.alias != model.hub_id.lower() else "",
                "kind": "bundled",
                "family": config.get("model_type", ""),
                "class": (config.get("architectures") or [""])[0],
                "params": profile_params(model.hub_id, analytic=None).report.total,
                "input": "",
                "description": "",
            }
        )
    for spec in TOYS.values():
        rows.append(
            {
                "name": spec.model_type,
                "alias": "",
                "kind": "toy",
                "family": "toy",
                "class": spec.net,
                "params": profile_params(spec.model_type, analytic=None).report.total,
                "input": "x".join(map(str, spec.input_shape)),
                "description": spec.description,
            }
        )
    payload = {"schema_version": SCHEMA_VERSION, "models": rows}
    note = "params: the `architectures` class as bundled (use `modelprof params NAME --base` for the backbone)"
    if fmt in (OutputFormat.json, OutputFormat.csv):
        columns = [Column(key, key) for key in rows[0]]
        emit(View("Bundled models and toy nets", columns, rows, payload), fmt)
        return
    name = Column("name", "name", "left")
    params = Column("params", "params", text=lambda r: count(r["params"]))
    bundled = [r for r in rows if r["kind"] == "bundled"]
    toys = [r for r in rows if r["kind"] == "toy"]
    emit(View("Bundled models", [name, Column("alias", "alias", "left"), Column("family", "family", "left"),
                                 Column("class", "class", "left"), params], bundled, payload, [note], narrow="records"), fmt)
    toy_columns = [name, Column("class", "class", "left"), params, Column("input", "default input", "left"),
                   Column("description", "description", "left", wrap=True)]
    emit(View("Toy nets", toy_columns, toys, payload, [], narrow="records"), fmt)
