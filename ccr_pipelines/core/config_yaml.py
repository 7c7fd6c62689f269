"""Configuration YAML (settings profiles, tenant registry, scorecards) read defensively.

``yaml.safe_load`` builds no objects, but it still follows anchors and aliases — a
self-referencing alias is a cycle, nested aliases are a "billion laughs" — and its
composer recurses once per nesting level, so ``[[[[…]]]]`` 50,000 deep crashes it with
RecursionError. Our files need neither: both are refused with a clear reason before
anything is built.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 32  # our deepest file (a scorecard) nests 5 levels


class UnsafeYamlError(yaml.YAMLError):
    """The document uses a construct configuration files may not use (message: the reason)."""


def load_config_yaml(text: str) -> Any:
    """``yaml.safe_load`` after an event scan (iterative: no recursion) that refuses anchors,
    aliases and nesting deeper than ``MAX_DEPTH``. Syntax errors raise ``yaml.YAMLError``."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise UnsafeYamlError(f"anchors and aliases (&, *) are not allowed (line {event.start_mark.line + 1})")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise UnsafeYamlError(f"nested deeper than {MAX_DEPTH} levels (line {event.start_mark.line + 1})")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return yaml.safe_load(text)
