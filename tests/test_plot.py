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


def test_style_sets_every_documented_rcparam():
    """Each rcParam set_style promises, read back from matplotlib's validated rcParams."""
    plot.set_style()
    rc = matplotlib.rcParams
    assert tuple(rc["figure.figsize"]) == (6.4, 3.6)
    assert rc["figure.dpi"] == 110
    assert rc["savefig.dpi"] == 110
    assert rc["figure.facecolor"] == "white"
    assert rc["axes.facecolor"] == "white"
    assert rc["axes.grid"] is True
    assert rc["grid.alpha"] == 0.3
    assert rc["axes.spines.top"] is False
    assert rc["axes.spines.right"] is False
    assert rc["font.size"] == 10
    assert rc["axes.titlesize"] == 10
    assert rc["legend.frameon"] is False
    assert rc["lines.linewidth"] == 1.8
    assert rc["lines.markersize"] == 5
    assert rc["image.cmap"] == "viridis"
    assert rc["svg.hashsalt"] == "dlscience"


def test_palette_is_paul_tol_bright():
    """PALETTE equals Paul Tol's published 'bright' scheme, in order."""
    assert plot.PALETTE == (
        "#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB",
    )


def test_theory_defaults_draw_black_dashed_thin_line_through_the_data():
    """theory(): data unchanged, dashed, black, width 1.4, label 'theory' by default."""
    fig, ax = plt.subplots()
    plot.theory(ax, [10.0, 20.0, 40.0], [5.0, 3.0, 4.0])
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [10.0, 20.0, 40.0]
    assert list(line.get_ydata()) == [5.0, 3.0, 4.0]
    assert line.get_linestyle() == "--"
    assert matplotlib.colors.to_hex(line.get_color()) == "#000000"
    assert line.get_linewidth() == 1.4
    assert line.get_label() == "theory"
    plt.close(fig)


def test_theory_passes_label_color_and_extra_kwargs():
    """theory(): explicit label/colour and extra kwargs (alpha, zorder) reach the Line2D."""
    fig, ax = plt.subplots()
    plot.theory(ax, [0, 1], [2, 3], label="bound", color="#EE6677", alpha=0.5, zorder=7)
    (line,) = ax.get_lines()
    assert line.get_label() == "bound"
    assert matplotlib.colors.to_hex(line.get_color()) == "#ee6677"
    assert line.get_alpha() == 0.5
    assert line.get_zorder() == 7
    plt.close(fig)


def test_measured_defaults_and_kwargs():
    """measured(): data unchanged, 'o' markers, width 1.0, default label, kwargs forwarded."""
    fig, ax = plt.subplots()
    plot.measured(ax, [10.0, 20.0, 40.0], [5.0, 3.0, 4.0])
    plot.measured(ax, [0, 1], [1, 0], label="run 2", color="#228833", alpha=0.25)
    first, second = ax.get_lines()
    assert list(first.get_xdata()) == [10.0, 20.0, 40.0]
    assert list(first.get_ydata()) == [5.0, 3.0, 4.0]
    assert first.get_marker() == "o"
    assert first.get_linestyle() == "-"
    assert first.get_linewidth() == 1.0
    assert first.get_label() == "measured"
    assert second.get_label() == "run 2"
    assert matplotlib.colors.to_hex(second.get_color()) == "#228833"
    assert second.get_alpha() == 0.25
    plt.close(fig)
