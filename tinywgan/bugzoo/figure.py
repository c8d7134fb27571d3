"""The zoo's figure: one panel per bug, its check's number with the library's piece (blue) and
with the broken copy (red), over the band where the check passes (green). Each panel has its
own axis: the checks measure different things."""
import math

from ..measure.plot import pyplot
from .zoo import BUGS


def draw(rows, path):
    """Write the figure of ``zoo.run()``'s rows to ``path`` (a .png)."""
    plt = pyplot()
    bugs = {b.name: b for b in BUGS}
    cols = 4
    nrows = math.ceil(len(rows) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.4 * cols, 2.7 * nrows), squeeze=False)
    for ax, row in zip(axes.flat, rows):
        bug = bugs[row["name"]]
        values = [row["library"], row["bug"]]
        low, high = bug.band
        finite = [v for v in values if math.isfinite(v) and (v > 0 or not bug.log)]
        lo, hi = min(finite), max(finite)          # the axis spans the two numbers
        if bug.log:
            ax.set_yscale("log")
            ax.set_ylim(lo / 30, hi * 30)
        else:
            pad = 0.5 * (hi - lo) or 0.5
            ax.set_ylim(lo - pad, hi + pad)
        if low == high:
            ax.axhline(low, color="tab:green", lw=3, alpha=0.5)
        else:
            ax.axhspan(max(low, ax.get_ylim()[0]), min(high, ax.get_ylim()[1]),
                       color="tab:green", alpha=0.15)
        for x, v, colour in ((0, values[0], "tab:blue"), (1, values[1], "tab:red")):
            shown = v if math.isfinite(v) else ax.get_ylim()[1]
            ax.plot([x], [shown], "o", color=colour, ms=9)
            ax.annotate("%.4g" % v, (x, shown), textcoords="offset points", xytext=(10, -3),
                        fontsize=8)
        ax.set_xlim(-0.5, 1.8)
        ax.set_xticks([0, 1])
        ax.set_xticklabels(["library", "with the bug"], fontsize=8)
        ax.set_ylabel(bug.unit, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title("%s: %s" % (bug.name, "caught" if row["caught"] else "NOT CAUGHT"),
                     fontsize=9, color="black" if row["caught"] else "tab:red")
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    fig.suptitle("The bug zoo: each check's number with the library's piece and with the bug "
                 "(green: where the check passes)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
