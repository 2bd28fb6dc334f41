"""Training scripts imported as modules, for tests that check what they write.

They are scripts run by path (`python training/text_affect/train.py`), not a package,
so they are loaded from their files under a name made of their path
("text_affect_train"), once per process.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TRAINING = Path(__file__).resolve().parent.parent / "training"


def training_script(relative: str) -> ModuleType:
    """`relative` is the script's path under training/, e.g. "text_affect/train.py"."""
    name = "_".join(Path(relative).with_suffix("").parts)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TRAINING / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
