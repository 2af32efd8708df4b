"""What is wrong with a configuration, said as `file: field: what is wrong; what would be right`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    field: str
    message: str
    placeholder: bool = False  # a value still to set: fine on the emulator, refused on a real account
    warning: bool = False      # AWS takes it, but it is likely a mistake: said, never refused

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class ConfigError(Exception):
    """Every problem found at once, sorted; nothing is rendered or deployed while one is left."""

    def __init__(self, problems):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))
