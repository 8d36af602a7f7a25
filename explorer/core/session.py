"""Session files: the inputs, model, selection and view options, as plain JSON (never pickle).

Reading is strict: a file that is too big, not JSON, of the wrong shape or naming a model
folder that is not there is refused as a whole with a message, so nothing half-loads.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.core.errors import ExplorerError, ModelLoadError
from explorer.core.sources import ModelSource, SourceKind

SESSION_FORMAT = "bert-explorer-session"
SESSION_VERSION = 1
MAX_SESSION_BYTES = 1_000_000
MAX_TEXT_CHARS = 200_000
_VIEW_VALUE_TYPES = (str, int, float, bool)


class SessionError(ExplorerError):
    """A session file cannot be read or written; the message says why."""


@dataclass(frozen=True)
class Session:
    """Everything needed to bring a view back exactly."""

    text: str
    pair: str | None
    model: str  # a ModelSource spec: "embedded", a folder or a hub id
    layer: int = 0
    head: int = -1
    token: int = 0
    view: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The on-disk form."""
        return {
            "format": SESSION_FORMAT,
            "version": SESSION_VERSION,
            "inputs": {"text": self.text, "pair": self.pair},
            "model": self.model,
            "selection": {"layer": self.layer, "head": self.head, "token": self.token},
            "view": dict(self.view),
        }


def save_session(session: Session, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a session; refuses to replace an existing file unless ``overwrite``."""
    path = Path(path)
    text = json.dumps(session.to_json(), ensure_ascii=False, indent=2)
    try:
        with path.open("w" if overwrite else "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError as err:
        raise SessionError(f"{path} already exists; choose another name.") from err
    except OSError as err:
        raise SessionError(f"Could not write {path}: {err.strerror or err}.") from err
    return path


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and kind in (int, (int,)):
        raise SessionError(f"'{where}' must be a whole number, not true/false.")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SessionError(f"'{where}' must be {names}, not {type(value).__name__}.")
    return value


def _model_spec(raw: str, session_path: Path) -> str:
    """Parse the model entry; folders are resolved against the session file and must exist."""
    try:
        source = ModelSource.parse(raw)
    except ModelLoadError as err:
        raise SessionError(f"The session's model entry is not usable: {err}") from err
    if source.kind is not SourceKind.FOLDER:
        return source.spec
    folder = Path(source.location)
    if not folder.is_absolute():
        folder = (session_path.parent / folder).resolve()
    if not (folder / "config.json").is_file():
        raise SessionError(
            f"The session's model folder {folder} is missing or holds no config.json. "
            "Pick the model again with the model picker."
        )
    return str(folder)


def parse_session(raw: Any, session_path: Path) -> Session:
    """Validate a decoded JSON document into a Session (strict types, bounded sizes)."""
    _expect(raw, dict, "session")
    if raw.get("format") != SESSION_FORMAT:
        raise SessionError("This is not a BERT Attention Explorer session file.")
    version = _expect(raw.get("version"), int, "version")
    if version > SESSION_VERSION:
        raise SessionError(
            f"The session was written by a newer version (format {version}); update the app."
        )
    inputs = _expect(raw.get("inputs"), dict, "inputs")
    text = _expect(inputs.get("text"), str, "inputs.text")
    pair = inputs.get("pair")
    if pair is not None:
        _expect(pair, str, "inputs.pair")
    if len(text) + len(pair or "") > MAX_TEXT_CHARS:
        raise SessionError("The session's inputs are too long to be a real session.")
    model = _model_spec(_expect(raw.get("model"), str, "model"), session_path)
    selection = _expect(raw.get("selection", {}), dict, "selection")
    numbers = {
        key: _expect(selection.get(key, default), int, f"selection.{key}")
        for key, default in (("layer", 0), ("head", -1), ("token", 0))
    }
    view = _expect(raw.get("view", {}), dict, "view")
    for key, value in view.items():
        _expect(value, _VIEW_VALUE_TYPES, f"view.{key}")
        if isinstance(value, float) and not math.isfinite(value):
            raise SessionError(f"'view.{key}' must be a finite number.")
    return Session(text=text, pair=pair or None, model=model, view=dict(view), **numbers)


def load_session(path: str | Path) -> Session:
    """Read and validate a session file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise SessionError(f"Could not open {path}: {err.strerror or err}.") from err
    if not path.is_file():
        raise SessionError(f"{path} is not a file.")
    if size > MAX_SESSION_BYTES:
        raise SessionError(
            f"{path} is {size / 1e6:.1f} MB; session files are small (under 1 MB). Not loaded."
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise SessionError(f"{path} is not a text file.") from err
    except RecursionError as err:
        raise SessionError(f"{path} nests too deeply to be a session file.") from err
    except json.JSONDecodeError as err:
        raise SessionError(f"{path} is not valid JSON (line {err.lineno}: {err.msg}).") from err
    except ValueError as err:  # e.g. a number of more than 4300 digits
        raise SessionError(f"{path} is not a usable JSON file ({err}).") from err
    except OSError as err:
        raise SessionError(f"Could not read {path}: {err.strerror or err}.") from err
    return parse_session(raw, path)
