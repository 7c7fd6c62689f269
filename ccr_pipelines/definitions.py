"""The one entry point of the code location.

Loads every domain under ``defs/`` and adds only project-wide policy: the
resources built from the settings profile that ``CCR_ENV`` selects.
"""

from pathlib import Path

import dagster as dg

from .resources import resources_from_settings


@dg.definitions
def defs() -> dg.Definitions:
    domain_defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent / "defs")
    return dg.Definitions.merge(domain_defs, dg.Definitions(resources=resources_from_settings()))
