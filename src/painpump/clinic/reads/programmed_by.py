"""Who set a program, and on what occasion: at a refill the clinician who refilled programmed the
pump (a nurse refills but never prescribes: the dose in force is kept unless a physician changes
it), between refills a physician's dose change set it. Program.prescribed_by stores whoever
entered the program, so pages and reports show it through this, never as a nurse's prescription."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProgrammedBy:
    """The user who entered a program and whether a refill created it."""

    username: str
    at_refill: bool

    @property
    def occasion(self) -> str:
        return "refill" if self.at_refill else "dose change"

    @property
    def short(self) -> str:
        """For a table cell: "demo.nurse1 (refill)"."""
        return f"{self.username} ({self.occasion})"

    def __str__(self) -> str:
        return f"programmed by {self.username} at a {self.occasion}"
