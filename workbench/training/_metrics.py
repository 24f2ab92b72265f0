"""``metric_definitions``: SageMaker's Name/Regex pairs applied to every log line."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from ..exceptions import ValidationError

__all__ = ["MetricParser", "check_metric_definitions"]


def check_metric_definitions(definitions: Iterable[dict[str, str]] | None) -> list[dict[str, str]]:
    """Validate ``[{"Name": ..., "Regex": ...}]``: names unique, regexes compile with a group."""
    out: list[dict[str, str]] = []
    seen = set()
    for i, item in enumerate(definitions or []):
        field = f"metric_definitions[{i}]"
        if not isinstance(item, dict) or set(item) != {"Name", "Regex"}:
            raise ValidationError(field, item, "a dict with exactly the keys 'Name' and 'Regex'")
        name, regex = item["Name"], item["Regex"]
        if not isinstance(name, str) or not name or len(name) > 255:
            raise ValidationError(f"{field}['Name']", name, "a non-empty string")
        if name in seen:
            raise ValidationError(f"{field}['Name']", name, "a unique metric name")
        try:
            compiled = re.compile(regex)
        except (re.error, TypeError) as exc:
            raise ValidationError(f"{field}['Regex']", regex, f"a valid regex ({exc})") from None
        if compiled.groups < 1:
            raise ValidationError(
                f"{field}['Regex']", regex, "a regex with a capture group for the value"
            )
        seen.add(name)
        out.append({"Name": name, "Regex": regex})
    return out


class MetricParser:
    """Finds metric values in log lines; the first capture group is the value."""

    def __init__(self, definitions: Iterable[dict[str, str]]) -> None:
        self._rules = [(d["Name"], re.compile(d["Regex"])) for d in definitions]
        self.steps: dict[str, int] = {}
        self.last: dict[str, float] = {}

    def feed(self, line: str) -> list[tuple[str, int, float]]:
        """``(metric, step, value)`` for every definition that matches ``line``."""
        found = []
        for name, regex in self._rules:
            match = regex.search(line)
            if not match:
                continue
            try:
                value = float(match.group(1))
            except (TypeError, ValueError):
                continue
            if math.isnan(value):
                continue
            step = self.steps.get(name, 0)
            self.steps[name] = step + 1
            self.last[name] = value
            found.append((name, step, value))
        return found
