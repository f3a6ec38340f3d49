"""Plug flow through the pump's internal tubing and the catheter: fluid leaves the catheter tip in
the order it left the reservoir, so after a refill with another concentration the old fluid still
in the dead volume is delivered first."""

from __future__ import annotations

from collections import deque


class Tubing:
    """The dead volume as a queue of (fluid id, quanta), oldest at the catheter tip."""

    def __init__(self, dead_volume: int, initial_fluid: int) -> None:
        self.segments: deque[list[int]] = deque()
        if dead_volume > 0:
            self.segments.append([initial_fluid, dead_volume])
        self.delivered: dict[int, int] = {}

    def push(self, fluid: int, amount: int) -> None:
        """Move `amount` quanta of `fluid` in from the reservoir; as much leaves at the tip."""
        delivered = self.delivered
        segments = self.segments
        if not segments:
            delivered[fluid] = delivered.get(fluid, 0) + amount
            return
        back = segments[-1]
        if len(segments) == 1 and back[0] == fluid:
            delivered[fluid] = delivered.get(fluid, 0) + amount
            return
        if back[0] == fluid:
            back[1] += amount
        else:
            segments.append([fluid, amount])
        remaining = amount
        while remaining:
            front = segments[0]
            take = front[1] if front[1] < remaining else remaining
            delivered[front[0]] = delivered.get(front[0], 0) + take
            front[1] -= take
            remaining -= take
            if front[1] == 0:
                segments.popleft()

    def contents(self) -> list[tuple[int, int]]:
        return [(fluid, amount) for fluid, amount in self.segments]

    @property
    def volume(self) -> int:
        return sum(amount for _, amount in self.segments)

    def fluid_at_tip(self) -> int | None:
        return self.segments[0][0] if self.segments else None
