from pathlib import Path

import pytest
from matplotlib.figure import Figure

from heron.artifacts.formats import write_figure
from heron.exceptions import INVALID_PARAMETER_VALUE, HeronException


@pytest.fixture
def mpl_figure() -> Figure:
    # A bare Figure needs no pyplot and no GUI backend, and leaves no global state behind.
    figure = Figure(figsize=(2, 2))
    figure.subplots().plot([0, 1, 2], [2, 0, 1])
    return figure


def test_matplotlib_png(tmp_path: Path, mpl_figure: Figure) -> None:
    write_figure(mpl_figure, tmp_path / "plot.png", {"dpi": 50})
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_matplotlib_svg(tmp_path: Path, mpl_figure: Figure) -> None:
    write_figure(mpl_figure, tmp_path / "plot.svg")
    assert b"<svg" in (tmp_path / "plot.svg").read_bytes()


def test_explicit_format_wins_over_a_missing_extension(tmp_path: Path, mpl_figure: Figure) -> None:
    write_figure(mpl_figure, tmp_path / "plot", {"format": "svg"})
    assert b"<svg" in (tmp_path / "plot").read_bytes()  # and no "plot.png" appears
    assert [p.name for p in tmp_path.iterdir()] == ["plot"]


@pytest.mark.parametrize("name", ["plot.xyz", "plot"])
def test_matplotlib_unknown_extension(tmp_path: Path, mpl_figure: Figure, name: str) -> None:
    with pytest.raises(HeronException, match="use one of the extensions") as caught:
        write_figure(mpl_figure, tmp_path / name)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert not any(tmp_path.iterdir())


def test_plotly_html_references_the_cdn(tmp_path: Path) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    write_figure(go.Figure(go.Scatter(x=[1, 2], y=[3, 1])), tmp_path / "plot.html")
    html = (tmp_path / "plot.html").read_text()
    assert "cdn.plot.ly" in html and "<html>" in html
    assert len(html) < 100_000  # plotly.js itself is not embedded


def test_plotly_unknown_extension(tmp_path: Path) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    with pytest.raises(HeronException, match=r"use \.html or one of"):
        write_figure(go.Figure(), tmp_path / "plot.txt")


def test_plotly_image_without_kaleido_is_a_clear_error(tmp_path: Path) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    try:
        import kaleido  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("kaleido is installed: images can be written")
    with pytest.raises(HeronException, match="Kaleido") as caught:
        write_figure(go.Figure(), tmp_path / "plot.png")
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert not (tmp_path / "plot.png").exists()


@pytest.mark.parametrize("thing", [object(), "a string", {"data": []}])
def test_unknown_figure_objects_are_refused(tmp_path: Path, thing: object) -> None:
    with pytest.raises(HeronException, match="Unsupported figure type"):
        write_figure(thing, tmp_path / "plot.png")
