"""Optional partial initialisation of the HRNet backbone from a user-supplied checkpoint.

The released recipe trains from scratch (docs/model.md, The network); HybrIK starts from a COCO pose-HRNet.
Keys are matched by name after dropping common prefixes (`module.`, `backbone.`, `preact.`),
tensors load only where the shape agrees too, and the report says what loaded and what did
not, since a pose-HRNet lacks the classification head and has a 17-channel final layer.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

PREFIXES = ("module.", "backbone.", "preact.", "model.")
WRAPPERS = ("state_dict", "model")
SHOWN = 5


class BackboneInitError(RuntimeError):
    """The backbone checkpoint is missing, unsafe, unreadable or shares nothing with the backbone."""


@dataclass(frozen=True)
class BackboneInitReport:
    source: Path
    loaded: tuple[str, ...]
    wrong_shape: tuple[str, ...]
    not_in_file: tuple[str, ...]
    unused: tuple[str, ...]

    def summary(self) -> str:
        total = len(self.loaded) + len(self.wrong_shape) + len(self.not_in_file)

        def some(names: tuple[str, ...]) -> str:
            more = f", … (+{len(names) - SHOWN})" if len(names) > SHOWN else ""
            return ", ".join(names[:SHOWN]) + more

        lines = [f"backbone init from {self.source}: loaded {len(self.loaded)}/{total} tensors"]
        for label, names in (("kept initial values, shape differs", self.wrong_shape),
                             ("kept initial values, not in the file", self.not_in_file),
                             ("file entries not used", self.unused)):
            if names:
                lines.append(f"  {label} ({len(names)}): {some(names)}")
        return "\n".join(lines)


def _strip(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key, changed = key[len(prefix):], True
    return key


def _read(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise BackboneInitError(f"model.backbone_init: no file at {path}")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unsafe or corrupt; both end the same way
        raise BackboneInitError(
            f"cannot load {path} as plain weights ({str(exc).splitlines()[0][:200]}); it must be a "
            "state dict of tensors (objects that need code to unpickle are refused).") from exc
    for wrapper in WRAPPERS:
        if isinstance(loaded, dict) and isinstance(loaded.get(wrapper), dict):
            loaded = loaded[wrapper]
    if not isinstance(loaded, dict):
        raise BackboneInitError(f"{path} holds a {type(loaded).__name__}, not a state dict")
    return {_strip(k): v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, Tensor)}


def init_backbone(backbone: nn.Module, path: str | Path) -> BackboneInitReport:
    """Copies every name- and shape-matching tensor of `path` into `backbone`."""
    path = Path(path)
    source = _read(path)
    own = backbone.state_dict()
    loaded = tuple(k for k in own if k in source and source[k].shape == own[k].shape)
    report = BackboneInitReport(
        source=path, loaded=loaded,
        wrong_shape=tuple(k for k in own if k in source and source[k].shape != own[k].shape),
        not_in_file=tuple(k for k in own if k not in source),
        unused=tuple(k for k in source if k not in own),
    )
    if not loaded:
        raise BackboneInitError(f"no tensor of {path} matches the HRNet backbone by name and shape; "
                                "is it an HRNet-W48 checkpoint?\n" + report.summary())
    backbone.load_state_dict({**own, **{k: source[k] for k in loaded}})
    return report
