"""Who set a program, and on what occasion: at a refill the clinician who refilled programmed the
pump, between refills whoever programmed the ready prescription (Program.programmed_by; on
programs recorded before it was kept, Program.prescribed_by held whoever entered the program). The
prescriber is the prescription's; pages show the programmer through this, never as prescriber."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProgrammedBy:
    """The user who entered a program and whether a refill created it."""

    username: str
    at_refill: bool

    @property
    def occasion(self) -> str:
        return "refill" if self.at_refill else "programming"

    @property
    def short(self) -> str:
        """For a table cell: "demo.nurse1 (refill)"."""
        return f"{self.username} ({self.occasion})"

    def __str__(self) -> str:
        """ "programmed by demo.nurse1 at a refill", "... between refills"."""
        when = "at a refill" if self.at_refill else "between refills"
        return f"programmed by {self.username} {when}"
