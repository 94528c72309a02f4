"""Reading CSV files: quoted line breaks are fine, an unterminated quote is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.domain.errors import MalformedFile
from resonance.services.files import read_table


def test_quoted_line_breaks_in_the_last_row_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('plant,note\n1,"say ""hi"""\n2,"two\nlines"\n')
    assert read_table(path).to_pylist() == [
        {"plant": 1, "note": 'say "hi"'},
        {"plant": 2, "note": "two\nlines"},
    ]


def test_an_unterminated_quote_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    path.write_text('plant,note\n1,"ok"\n2,"never closed\n3,x\n')
    with pytest.raises(MalformedFile, match="unterminated quoted field"):
        read_table(path)
