"""The one entry point of the code location.

Loads every domain under ``defs/`` and adds only project-wide policy: the
resources built from the settings profile that ``CCR_ENV`` selects (adapters
over ``platform``, the composition root). The dbt manifest the marts assets
are built from is prepared first (parsed once when missing; ``make check`` and
the images prepare it ahead).
"""

import os
from pathlib import Path

import dagster as dg

from .core.settings import check_prod_instance
from .loaders.settings_files import load_settings
from .resources import resources_from_settings
from .services.marts import prepare_dbt_manifest


def _check_instance(env: str) -> None:
    if env != "prod":
        return
    home = os.environ.get("DAGSTER_HOME")
    path = Path(home) / "dagster.yaml" if home else None
    text = path.read_text() if path and path.exists() else None
    check_prod_instance(text, str(path or "$DAGSTER_HOME/dagster.yaml"))


@dg.definitions
def defs() -> dg.Definitions:
    loaded = load_settings()
    _check_instance(loaded.settings.env)  # P8: prod refuses the SQLite instance
    prepare_dbt_manifest()
    domain_defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent / "defs")
    return dg.Definitions.merge(domain_defs, dg.Definitions(resources=resources_from_settings(loaded)))
