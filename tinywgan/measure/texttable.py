"""Fixed-width text tables: the one layout of the tables that ``gradcheck`` (its checks,
``finitediff.format_table``), ``bugzoo`` (its bugs, ``bugzoo.zoo.format_table``) and ``table``
(the mode-collapse protocol's rows, ``job.protocol.format_table``) print.

    print(format_table(["what", "rel error"], [["linear: dx", "2.1e-12"]], right=[1]))

The cells are strings, already formatted by the caller; this only lines them up.
"""


def format_table(head, rows, right=(), min_widths=(), rule=False):
    """The header and the rows, their columns two spaces apart, as one string.

    head: a list of column titles; rows: lists of cells (strings) as long as ``head``, or None
    for a blank line (to separate groups of rows). A column is as wide as its widest cell, its
    title included, and at least ``min_widths[i]`` (a sequence of ints, zip-aligned with the
    columns; shorter means no minimum for the rest). Columns listed in ``right`` (indices) are
    right-aligned (numbers), the others left-aligned; trailing spaces are dropped. ``rule``: a
    line of dashes under the header, as long as the header.
    """
    cells = [head] + [r for r in rows if r is not None]
    for r in cells:
        if len(r) != len(head):
            raise ValueError("format_table: a row of %d cells under %d titles: %r"
                             % (len(r), len(head), r))
    minimum = list(min_widths) + [0] * (len(head) - len(min_widths))
    widths = [max([minimum[i]] + [len(r[i]) for r in cells]) for i in range(len(head))]

    def line(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    lines = [line(head)]
    if rule:
        lines.append("-" * len(lines[0]))
    lines += ["" if r is None else line(r) for r in rows]
    return "\n".join(lines)
