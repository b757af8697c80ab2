"""Reading annotation files without trusting them, and failing with the path the user must fix.

JSON is inert. Pickles (EFT) go through the allow-list unpickler the body-model reader uses, so
they can hold numpy arrays and plain containers but never run code. `.pt` files (AGORA) load with
`torch.load(weights_only=True)` plus numpy's array types, which is equally inert.
"""
from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ...body.files import NUMPY_MULTIARRAY, safe_unpickle


class DatasetError(RuntimeError):
    """An annotation file or image folder is missing, unreadable or not in the expected format."""


# numpy's array reconstruction and plain (non-object) dtypes: enough for annotation arrays.
_NUMPY_SAFE_GLOBALS = [
    NUMPY_MULTIARRAY._reconstruct, NUMPY_MULTIARRAY.scalar, np.ndarray, np.dtype,
    *{type(np.dtype(code)) for code in "?bhilqBHILQefdgFDGUS"},
]


def require_file(path: Path, source: str, what: str = "annotation file") -> Path:
    if not path.is_file():
        raise DatasetError(
            f"{source}: {what} not found: {path}. Download the HybrIK-style annotations of this "
            "source (see docs/training.md, 'Data') or fix the path in the config's data.sources.")
    return path


def require_dir(path: Path, source: str, what: str = "image root") -> Path:
    if not path.is_dir():
        raise DatasetError(
            f"{source}: {what} not found: {path}. Put the source's images there or fix "
            "data.sources.<name>.images in the config.")
    return path


def read_json(path: Path, source: str) -> object:
    require_file(path, source)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{source}: {path} is not valid JSON ({exc}); download it again.") from exc


def read_pickle(path: Path, source: str) -> object:
    """A pickle of numpy arrays and plain containers; anything else is refused, not executed."""
    require_file(path, source)
    try:
        return safe_unpickle(path.read_bytes())
    except pickle.UnpicklingError as exc:
        raise DatasetError(
            f"{source}: refusing to unpickle {path}: {exc}. Annotation pickles may only contain "
            "numpy arrays, numbers, strings, lists and dicts.") from exc
    except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise DatasetError(f"{source}: {path} is corrupt or not a pickle ({exc}).") from exc


def read_torch(path: Path, source: str) -> object:
    """A torch-saved annotation dict; a plain pickle of arrays is accepted as well."""
    require_file(path, source)
    try:
        with torch.serialization.safe_globals(_NUMPY_SAFE_GLOBALS), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # plain pickles
            return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as torch_error:
        try:
            return safe_unpickle(path.read_bytes())
        except Exception:  # noqa: BLE001 - neither reader understood it; report the torch error
            raise DatasetError(
                f"{source}: cannot read {path} safely ({str(torch_error).splitlines()[0]}). If it "
                "was written with joblib, convert it once, in an environment you trust, with: "
                f"python -c \"import joblib, torch; torch.save(joblib.load('{path}'), '{path}')\""
            ) from torch_error


@contextmanager
def parsing(path: Path, source: str) -> Iterator[None]:
    """Turns a malformed entry deep inside a loader into one message naming file and field."""
    try:
        yield
    except KeyError as exc:
        raise DatasetError(f"{source}: {path} lacks the field {exc}; is it the HybrIK-style "
                           f"annotation file of this source (see docs/training.md)?") from exc
    except (IndexError, TypeError, ValueError, AttributeError) as exc:
        raise DatasetError(f"{source}: {path} has an entry in an unexpected layout ({exc}); is it "
                           "the HybrIK-style annotation file of this source?") from exc
