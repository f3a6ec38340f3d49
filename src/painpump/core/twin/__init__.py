"""The pump twin: an event-driven, exact simulation of one intrathecal pump (reservoir as the pump
computes it and as it truly is, the plug flow in the tubing and catheter, programs, PTM boluses,
refills and alarms)."""

from painpump.core.twin.engine import Twin
from painpump.core.twin.result import Result
from painpump.core.twin.scenario import Scenario, load_scenario

__all__ = ["Result", "Scenario", "Twin", "load_scenario"]
