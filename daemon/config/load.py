"""Reading the TOML file and validating it once into a
:class:`~daemon.config.sections.Config`:
every problem at once, each with its key; unknown keys as warnings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from daemon.config.sections import Config
from daemon.config.sources import GoogleSource, IcsSource, MicrosoftSource
from daemon.core.errors import ConfigError


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path | None
    warnings: tuple[str, ...]


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if i > 1 and loc[0] == "sources" and isinstance(loc[i - 1], int) and part in {
                "ics", "google"}:
            continue  # the tag of the sources' union, not a key
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _unknown_keys(model: BaseModel, prefix: str) -> list[str]:
    found = [f"{prefix}{'.' if prefix else ''}{k}" for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{'.' if prefix else ''}{name}"
        if isinstance(value, BaseModel):
            found += _unknown_keys(value, path)
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += _unknown_keys(item, f"{path}[{i}]")
    return found


def parse_config(data: dict[str, Any], *, base_dir: Path | None = None,
                 path: Path | None = None) -> LoadedConfig:
    """Validate a parsed TOML document. Relative source paths resolve against ``base_dir``.

    Raises :class:`ConfigError` listing every problem with its key.
    """
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                msg = "required key is missing"
            elif err["type"] == "extra_forbidden":
                msg = "unknown key"
            key = _key(err["loc"])
            problems.append((f"{key}.type" if err["type"] == "source_type" else key, msg))
        raise ConfigError(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the configuration",
            path=str(path) if path else None,
            problems=problems,
            hint="config.example.toml documents every key",
        ) from None
    if base_dir is not None:
        sources = tuple(_resolve_source(s, base_dir) for s in config.sources)
        config = config.model_copy(update={"sources": sources})
        if config.agenda.dir is not None:
            folder = str((base_dir / Path(config.agenda.dir).expanduser()).resolve())
            config = config.model_copy(
                update={"agenda": config.agenda.model_copy(update={"dir": folder})})
    warnings = tuple(f"unknown key {k!r} is ignored" for k in _unknown_keys(config, ""))
    return LoadedConfig(config=config, path=path, warnings=warnings)


def _resolve_source(source: IcsSource | GoogleSource | MicrosoftSource, base_dir: Path
                    ) -> IcsSource | GoogleSource | MicrosoftSource:
    if isinstance(source, MicrosoftSource):
        return _resolve_microsoft(source, base_dir)
    if isinstance(source, GoogleSource):
        if source.token_file is None:
            return source
        token = str((base_dir / Path(source.token_file).expanduser()).resolve())
        return source.model_copy(update={"token_file": token})
    if "://" in source.url:
        return source
    resolved = (base_dir / Path(source.url).expanduser()).resolve()
    return source.model_copy(update={"url": str(resolved)})


def _resolve_microsoft(source: MicrosoftSource, base_dir: Path) -> MicrosoftSource:
    """A Microsoft source's token_file and ca_file, relative to the config's folder."""
    update = {key: str((base_dir / Path(value).expanduser()).resolve())
              for key in ("token_file", "ca_file") if (value := getattr(source, key))}
    return source.model_copy(update=update) if update else source


def load_config(path: Path) -> LoadedConfig:
    """Read and validate the TOML file at ``path``.

    Raises :class:`ConfigError` when the file is missing, not TOML, or invalid.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration file at {path}",
            path=str(path),
            hint="copy config.example.toml there and edit it, pass --config FILE, "
            "or try `cadenced demo`",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", path=str(path)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", path=str(path),
            hint="check the line it names; strings need quotes",
        ) from None
    return parse_config(data, base_dir=path.parent, path=path)
