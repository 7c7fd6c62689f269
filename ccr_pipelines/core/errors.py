"""Error types whose messages are safe to show: one line, no personal data.

Every error raised on purpose belongs to the ``CcrError`` family, so the CLI has one handler for all
of them (``cli.main``); each keeps the built-in base its callers already catch (``ValueError``,
``LookupError``, ``KeyError``)."""


class CcrError(Exception):
    """Base class for errors raised by ccr_pipelines on purpose."""


class SettingsError(CcrError):
    """A settings profile or tenant registry failed validation at load."""


class InvalidKeyError(CcrError, ValueError):
    """An object-store key is malformed or escapes its tenant prefix."""


class TenantError(CcrError):
    """Unknown, suspended or otherwise unusable tenant."""


class InvalidRequest(CcrError, ValueError):
    """A request its caller can correct: a bad value, or one the record's state refuses."""


class NotFound(CcrError, LookupError):
    """The record a request names does not exist (the message names it by id, never by personal data)."""
