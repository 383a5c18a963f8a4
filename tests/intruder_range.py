"""What an intruder can tell of a hidden count from its group alone, found by trying every value."""

from __future__ import annotations

from divert.core.disclosure import Gate


def possible_values(hidden: int, shown: list[int], total: int, gate: Gate) -> set[int]:
    """Every value one of `hidden` hidden cells could take, found by trying them all: each hidden
    cell at least 0 (zeros are hidden too), each shown cell any count the gate shows as it was
    shown, the group's total
    any count it would show as it showed this one."""
    def could_be(value):  # counts the gate would show as `value`
        return range(0, 1) if value == 0 else [v for v in range(gate.threshold, value + gate.base) if gate.count(v) == value]
    totals = could_be(gate.count(total))
    low_shown = sum(min(could_be(gate.count(v))) for v in shown)
    high_shown = sum(max(could_be(gate.count(v))) for v in shown)
    found = set()
    for t in totals:
        for rest in range(low_shown, high_shown + 1):  # every sum the shown cells can make
            left = t - rest  # what the hidden cells add up to
            for value in range(0, left + 1):
                if hidden > 1 or left == value:
                    found.add(value)
    return found
