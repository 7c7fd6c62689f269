"""Where data may live (P2: data hosted in the EU where possible).

The guard refuses any object-store region outside the EU unless the settings
carry an explicit override *with a reason*, so that hosting outside the EU is a
recorded decision, never an accident.
"""

from __future__ import annotations

from .errors import SettingsError

# EU member-state regions only. London (eu-west-2) and Zurich (eu-central-2)
# are deliberately absent: adequate, but not EU, so they need an override.
EU_REGIONS: frozenset[str] = frozenset(
    {
        # AWS
        "eu-west-1",  # Ireland
        "eu-west-3",  # Paris
        "eu-central-1",  # Frankfurt
        "eu-north-1",  # Stockholm
        "eu-south-1",  # Milan
        "eu-south-2",  # Spain
        # Scaleway / OVHcloud region names used by S3-compatible endpoints
        "fr-par",
        "nl-ams",
        "pl-waw",
        "gra",
        "sbg",
        "rbx",
        "de",
    }
)


def is_eu_region(region: str) -> bool:
    return region.strip().lower() in EU_REGIONS


def check_region(region: str, override_reason: str | None, *, where: str) -> None:
    """P2 guard: raise unless *region* is in the EU or an override reason is given."""
    if is_eu_region(region):
        return
    if override_reason and override_reason.strip():
        return
    raise SettingsError(
        f"{where}: region '{region}' is outside the EU (P2); set 'region_override_reason' to host there deliberately"
    )
