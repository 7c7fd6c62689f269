"""Error types whose messages are safe to show: one line, no personal data."""


class CcrError(Exception):
    """Base class for errors raised by ccr_pipelines on purpose."""


class SettingsError(CcrError):
    """A settings profile or tenant registry failed validation at load."""


class InvalidKeyError(CcrError, ValueError):
    """An object-store key is malformed or escapes its tenant prefix."""


class TenantError(CcrError):
    """Unknown, suspended or otherwise unusable tenant."""
