"""Mapping files: TOML that tells an importer which column means what."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kontosjef.integrations.batch import ImportFileError

BUILTIN = Path(__file__).parent / "mappings"
STATUSES = {"new", "open", "waiting_on_customer", "on_hold", "solved", "closed", "ignore"}
PRIORITIES = {"p1", "p2", "p3", "p4"}
TIERS = {"strategic", "enterprise", "standard"}
CHANNELS = {"email", "phone", "web", "chat", "api", "other"}
_FIELD = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Mapping:
    path: Path
    data: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ImportFileError(f"{self.path.name}: [{name}] must be a table")
        return value

    def column(self, name: str, *, required: bool = False) -> str | None:
        value = self.section("columns").get(name)
        if value is None and required:
            raise ImportFileError(f"{self.path.name}: [columns] needs '{name}'")
        if value is not None and not isinstance(value, str):
            raise ImportFileError(f"{self.path.name}: [columns] {name} must be a column name")
        return value

    def columns(self) -> list[str]:
        """Every file column the mapping names."""
        names: list[str] = []
        for key, value in self.section("columns").items():
            if isinstance(value, list):
                names.extend(str(v) for v in value)
            elif isinstance(value, str):
                names.append(value)
            else:
                raise ImportFileError(f"{self.path.name}: [columns] {key} must be a column name")
        for section in ("cases",):
            for template in self.section(section).values():
                if isinstance(template, str):
                    names.extend(_FIELD.findall(template))
        return names

    def choice_map(self, name: str, allowed: set[str]) -> dict[str, str]:
        table = self.section(name)
        for source_value, target in table.items():
            if target not in allowed:
                raise ImportFileError(
                    f"{self.path.name}: [{name}] maps {source_value!r} to {target!r}; "
                    f"allowed: {', '.join(sorted(allowed))}"
                )
        return {str(k): str(v) for k, v in table.items()}


def load_mapping(path: str | Path) -> Mapping:
    """Load a mapping file, or a built-in one by name (e.g. 'helpdesk-italy')."""
    candidate = Path(path)
    if not candidate.exists() and (BUILTIN / f"{path}.toml").exists():
        candidate = BUILTIN / f"{path}.toml"
    if not candidate.exists():
        raise ImportFileError(f"mapping file not found: {path}")
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{candidate.name} is not valid TOML: {exc}") from exc
    return Mapping(candidate, data)


def require_columns(mapping: Mapping, header: list[str], what: str) -> None:
    missing = [c for c in mapping.columns() if c not in header]
    if missing:
        raise ImportFileError(
            f"{mapping.path.name} names column {missing[0]!r}, which {what} lacks "
            f"(its columns: {', '.join(header[:40])})"
        )


def render(template: str, row: dict[str, str]) -> str:
    return _FIELD.sub(lambda m: row.get(m.group(1), ""), template)
