import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from dlscience import plot  # noqa: E402


def test_style_sets_palette_and_opaque_white_figures():
    plot.set_style()
    assert matplotlib.rcParams["savefig.facecolor"] == "white"
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.lower() for c in colors] == [c.lower() for c in plot.PALETTE]


def test_theory_is_dashed_and_measured_has_markers():
    fig, ax = plt.subplots()
    plot.theory(ax, [0, 1], [0, 1])
    plot.measured(ax, [0, 1], [0, 1])
    theory_line, measured_line = ax.get_lines()
    assert theory_line.get_linestyle() == "--"
    assert measured_line.get_marker() == "o"
    plt.close(fig)
