"""How results show themselves: the one table renderer and the Shown mixin."""

from __future__ import annotations

import pytest

from mtlslib.display import Shown, Table, shorten
from mtlslib.errors import UsageError


def test_table_aligns_text_left_numbers_right_and_escapes_html():
    table = Table(("name", "n"), (("a<b", "5"), ("long name", "123")), title="t & u")
    assert str(table).splitlines() == ["t & u", "name         n", "---------  ---", "a<b          5",
                                       "long name  123"]
    assert "a&lt;b" in table._repr_html_() and "t &amp; u" in table._repr_html_()
    assert "<th>name</th>" in table._repr_html_()


def test_a_table_may_align_every_column_left_and_let_its_last_column_run_free():
    table = Table(("#", "why"), (("9", "short"), ("10", "a much longer reason")), numbers_right=False,
                  ragged_last=True)
    assert str(table).splitlines() == ["#   why", "--  ---", "9   short", "10  a much longer reason"]
    assert str(Table(("#", "why"), (("9", "x"), ("10", "y")))).splitlines()[2] == " 9  x"


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(UsageError, match="2 headers"):
        Table(("a", "b"), (("only one",),))


def test_cells_may_be_any_value_and_become_text():
    assert Table(["x", "y"], [[1, None]]).rows == (("1", "None"),)


def test_a_shown_result_displays_as_its_text():
    class Result(Shown):
        def __str__(self):
            return "two\nlines"

    class Printer:
        def __init__(self):
            self.out = []

        def text(self, value):
            self.out.append(value)

    printer = Printer()
    Result()._repr_pretty_(printer, cycle=False)
    assert printer.out == ["two\nlines"]


def test_shorten_cuts_long_values_for_messages():
    assert shorten("x" * 100, 10) == "xxxxxxx..."
    assert shorten("short") == "short"


def test_a_shown_dataclass_displays_as_its_text_in_ipython():
    from dataclasses import dataclass

    from IPython.lib.pretty import pretty

    @dataclass
    class Result(Shown):
        value: int

        def __str__(self):
            return f"the value is {self.value}"

    assert pretty(Result(3)) == "the value is 3"  # not Result(value=3)
