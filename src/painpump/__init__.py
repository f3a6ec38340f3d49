"""painpump: digital twin and dosing safety engine for intrathecal drug delivery therapy."""

__version__ = "0.1.0"
