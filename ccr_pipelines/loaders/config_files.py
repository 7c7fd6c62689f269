"""The tenant registry and scorecard files: read here, parsed and validated by core (``core/tenants``,
``core/scorecards``). A file that cannot be read is a one-line ``SettingsError`` naming the path."""

from __future__ import annotations

from pathlib import Path

from ..core.categories import Categories, parse_categories
from ..core.errors import SettingsError
from ..core.scorecards import Scorecard, parse_scorecard
from ..core.tenants import TenantRegistry


def load_tenant_registry(path: str | Path) -> TenantRegistry:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read tenant registry ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: cannot read tenant registry (not UTF-8)") from None
    return TenantRegistry.parse(text, source=path)


def load_scorecard(path: str | Path) -> Scorecard:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise SettingsError(f"{path}: cannot read scorecard YAML") from None
    return parse_scorecard(text, source=path)


def load_categories(path: str | Path) -> Categories:
    """A tenant's categories and call drivers (issue 19), validated by ``core/categories``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise SettingsError(f"{path}: cannot read categories YAML") from None
    return parse_categories(text, source=path)
