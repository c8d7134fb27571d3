"""The one layout of the commands' tables (tinywgan.measure.texttable): columns as wide as their
widest cell, title included, or a minimum; numbers right-aligned; a rule; blank lines."""
import pytest

from tinywgan.measure.texttable import format_table


def test_columns_line_up_under_their_titles():
    table = format_table(["name", "error", "ok"],
                         [["a", "1.0e-12", "pass"], ["a longer one", "3", "FAIL"]], right=[1])
    assert table.split("\n") == ["name            error  ok",
                                 "a             1.0e-12  pass",
                                 "a longer one        3  FAIL"]


def test_a_title_wider_than_its_cells_widens_the_column():
    assert format_table(["what", "tol"], [["x", "1"]], right=[1]) == "what  tol\nx       1"


def test_minimum_widths_rule_and_blank_lines():
    table = format_table(["a", "b"], [["1", "2"], None, ["3", "4"]], right=[1],
                         min_widths=[0, 5], rule=True)
    assert table.split("\n") == ["a      b", "--------", "1      2", "", "3      4"]


def test_no_trailing_spaces_and_a_short_row_is_refused():
    assert format_table(["a", "b"], [["long cell", ""]]) == "a          b\nlong cell"
    with pytest.raises(ValueError, match="2 titles"):
        format_table(["a", "b"], [["only one"]])
