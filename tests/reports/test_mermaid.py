"""Mermaid charts of the Markdown reports."""

from __future__ import annotations

import pytest

from resonance.reports.mermaid import xychart


def test_xychart_quotes_labels_and_scales_the_axis() -> None:
    block = xychart('Say "hi"', ["a", 'b "x"'], [("bar", [1, 4]), ("line", [2, 2])], y_label="n")
    lines = block.splitlines()
    assert lines[0] == "```mermaid" and lines[1] == "xychart-beta" and lines[-1] == "```"
    assert "    title \"Say 'hi'\"" in lines
    assert '    x-axis ["a", "b \'x\'"]' in lines
    assert '    y-axis "n" 0 --> 4.4' in lines
    assert "    bar [1, 4]" in lines and "    line [2, 2]" in lines


def test_xychart_draws_nothing_without_data_and_refuses_ragged_series() -> None:
    assert xychart("t", [], [("bar", [])]) == ""
    with pytest.raises(ValueError):
        xychart("t", ["a", "b"], [("bar", [1])])
    with pytest.raises(ValueError):
        xychart("t", ["a"], [("pie", [1])])
