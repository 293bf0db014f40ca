"""Python factories: ``path/to/file.py:factory`` or ``package.module:factory``.

The factory is called with no arguments and returns an ``nn.Module``, a
``(module, example_inputs)`` pair, or a dict with keys ``model`` and
``inputs``. Example inputs are a tensor, a tuple of positional tensors or a
dict of keyword tensors. This runs the user's own local code, which is what
naming a factory asks for; nothing remote is ever imported.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..profilers.errors import BadInput

_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


@dataclass(frozen=True)
class FactoryRef:
    target: str  # absolute file path or dotted module name
    attribute: str
    is_file: bool

    def __str__(self) -> str:
        return f"{self.target}:{self.attribute}"


def parse_factory(name: str) -> FactoryRef | None:
    """A :class:`FactoryRef` if ``name`` has the ``target:attribute`` shape, else None."""
    target, sep, attribute = name.rpartition(":")
    if not sep or not target or not _DOTTED.match(attribute):
        return None
    if target.endswith(".py"):
        return FactoryRef(str(Path(target).expanduser().resolve()), attribute, True)
    if _DOTTED.match(target):
        return FactoryRef(target, attribute, False)
    return None


@contextmanager
def _no_bytecode_files():
    """Import without writing ``__pycache__`` next to the user's files."""
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


def load_factory(ref: FactoryRef):
    """Import the factory's module and return the callable."""
    with _no_bytecode_files():
        return _load_factory(ref)


def _load_factory(ref: FactoryRef):
    if ref.is_file:
        path = Path(ref.target)
        if not path.is_file():
            raise BadInput(f"{ref}: no such file {path}")
        # A stable private module name per file keeps repeated loads apart.
        module_name = "modelprof_factory_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as error:  # the user's module failed to import
            sys.modules.pop(module_name, None)
            raise BadInput(f"{ref}: importing {path.name} failed: {type(error).__name__}: {error}") from None
    else:
        try:
            module = importlib.import_module(ref.target)
        except ImportError as error:
            raise BadInput(f"{ref}: cannot import module {ref.target!r} ({error})") from None
        except (Exception, SystemExit) as error:  # the user's module failed to import
            raise BadInput(f"{ref}: importing {ref.target} failed: {type(error).__name__}: {error}") from None
    factory = getattr(module, ref.attribute, None)
    if not callable(factory):
        raise BadInput(f"{ref}: module has no callable {ref.attribute!r}")
    return factory


def call_factory(ref: FactoryRef) -> tuple[Any, Any]:
    """Run the factory; return ``(module, example_inputs or None)``."""
    import torch.nn as nn

    try:
        made = load_factory(ref)()
    except BadInput:
        raise
    except (Exception, SystemExit) as error:
        raise BadInput(f"{ref}: the factory raised {type(error).__name__}: {error}") from None
    inputs = None
    if isinstance(made, dict):
        made, inputs = made.get("model"), made.get("inputs")
    elif isinstance(made, tuple) and len(made) == 2:
        made, inputs = made
    if not isinstance(made, nn.Module):
        raise BadInput(f"{ref}: the factory returned {type(made).__name__}, expected an nn.Module")
    return made, inputs
