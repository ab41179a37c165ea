"""Rendering: the compiled renderers against slow numpy references, and the pictures."""

import dataclasses

import matplotlib.image
import numpy as np
import pytest

import fastmaze
from fastmaze import render
from fastmaze.spec import COLORS

SPEC = fastmaze.MazeSpec(
    size=(6, 6),
    algorithm="kruskal",
    exit_color={"green": 0.7, "blue": 0.2, None: 0.1},
    n_decoys={1: 0.5, 2: 0.5},
    decoy_color={"red": 0.5, "green": 0.5},
    n_distractors=2,
    distractor_color={"yellow": 0.5, "purple": 0.5},
)


@pytest.fixture(scope="module")
def levels():
    return fastmaze.generate(SPEC, 200, seed=7, threads=1)


def reference_symbolic(levels, agent=None, reveal_exit=False, hide_colors=False):
    """Obviously-correct numpy version of `render.symbolic`."""
    n, H, W = levels.grid.shape
    P = len(levels.palette)
    agent = levels.start if agent is None else np.asarray(agent)
    out = np.zeros((n, 2 + P + reveal_exit, H, W), np.uint8)
    out[:, 0] = levels.grid
    out[np.arange(n), 1, agent[:, 0], agent[:, 1]] = 1
    if not hide_colors:
        for k in range(1, P + 1):
            out[:, 1 + k] = levels.color == k
    if reveal_exit:
        out[np.arange(n), -1, levels.exit[:, 0], levels.exit[:, 1]] = 1
    return out


def reference_rgb(levels, pixels, agent=None, hide_colors=False):
    """Obviously-correct numpy version of `render.rgb`."""
    palette = [COLORS[name] for name in levels.palette]
    lut = np.array([render.FLOOR_RGB, *palette, render.WALL_RGB], np.uint8)
    entry = np.where(levels.grid == 1, len(palette) + 1, 0 if hide_colors else levels.color)
    image = lut[entry].transpose(0, 3, 1, 2)  # [n, 3, H, W]
    image = image.repeat(pixels, axis=2).repeat(pixels, axis=3).copy()
    agent = levels.start if agent is None else np.asarray(agent)
    inset = (pixels + 1) // 4
    for k, (r, c) in enumerate(agent):
        top, left = r * pixels + inset, c * pixels + inset
        side = pixels - 2 * inset
        marker = np.array(render.AGENT_RGB)[:, None, None]
        image[k, :, top : top + side, left : left + side] = marker
    return image


# -- symbolic ------------------------------------------------------------------------------


@pytest.mark.parametrize("reveal_exit", [False, True])
@pytest.mark.parametrize("hide_colors", [False, True])
def test_symbolic_matches_reference(levels, reveal_exit, hide_colors):
    got = render.symbolic(levels, reveal_exit=reveal_exit, hide_colors=hide_colors)
    want = reference_symbolic(levels, reveal_exit=reveal_exit, hide_colors=hide_colors)
    assert got.dtype == np.uint8
    assert got.shape == (200, 2 + 8 + reveal_exit, 13, 13)
    np.testing.assert_array_equal(got, want)


def test_symbolic_channel_order(levels):
    obs = render.symbolic(levels, reveal_exit=True)
    names = render.channel_names(levels.palette, reveal_exit=True)
    assert names == ("wall", "agent", *fastmaze.DEFAULT_PALETTE, "exit")
    plane = {name: obs[:, k] for k, name in enumerate(names)}
    rows = np.arange(len(levels))
    np.testing.assert_array_equal(plane["wall"], levels.grid)
    assert (plane["agent"][rows, levels.start[:, 0], levels.start[:, 1]] == 1).all()
    assert (plane["agent"].sum(axis=(1, 2)) == 1).all()
    assert (plane["exit"][rows, levels.exit[:, 0], levels.exit[:, 1]] == 1).all()
    assert (plane["exit"].sum(axis=(1, 2)) == 1).all()
    # The exit is a gap in the wall plane, green in the green plane when its colour is green.
    assert (plane["wall"][rows, levels.exit[:, 0], levels.exit[:, 1]] == 0).all()
    exit_code = levels.color[rows, levels.exit[:, 0], levels.exit[:, 1]]
    green_exit = exit_code == SPEC.color_code("green")
    assert 0 < green_exit.sum() < len(levels)
    np.testing.assert_array_equal(
        plane["green"][rows, levels.exit[:, 0], levels.exit[:, 1]], green_exit
    )
    first_decoy = levels.decoys[:, 0]
    decoy_code = levels.color[rows, first_decoy[:, 0], first_decoy[:, 1]]
    for name in ("red", "green"):
        np.testing.assert_array_equal(
            plane[name][rows, first_decoy[:, 0], first_decoy[:, 1]],
            decoy_code == SPEC.color_code(name),
        )
    assert plane["yellow"].sum() + plane["purple"].sum() == 2 * len(levels)
    assert plane["cyan"].sum() == 0


def test_symbolic_custom_agent_and_bad_agent(levels):
    agent = levels.decoys[:, 0].copy()
    got = render.symbolic(levels, agent=agent)
    np.testing.assert_array_equal(got, reference_symbolic(levels, agent=agent))
    bad = agent.copy()
    bad[3] = (13, 1)
    with pytest.raises(ValueError, match="outside"):
        render.symbolic(levels, agent=bad)
    with pytest.raises(ValueError, match="shape"):
        render.symbolic(levels, agent=agent[:5])


def test_symbolic_out_is_reused_and_fully_overwritten(levels):
    out = np.full((200, 10, 13, 13), 7, np.uint8)
    result = render.symbolic(levels, out=out)
    assert result is out
    np.testing.assert_array_equal(out, reference_symbolic(levels))
    agent = levels.decoys[:, 0].copy()
    render.symbolic(levels, agent=agent, out=out)
    np.testing.assert_array_equal(out, reference_symbolic(levels, agent=agent))


@pytest.mark.parametrize(
    "out",
    [
        np.zeros((200, 11, 13, 13), np.uint8),
        np.zeros((200, 10, 13, 13), np.int32),
        np.zeros((200, 10, 13, 26), np.uint8)[..., ::2],
        [0],
    ],
)
def test_symbolic_rejects_bad_out(levels, out):
    with pytest.raises(ValueError, match="out"):
        render.symbolic(levels, out=out)


def test_threads_do_not_change_the_result(levels):
    big = fastmaze.generate(SPEC, 2000, seed=3)  # past the single-thread threshold
    for fn in (render.symbolic, render.rgb):
        one = fn(big, threads=1)
        two = fn(big, threads=2)
        np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(render.symbolic(big, threads=2), reference_symbolic(big))


def test_sliced_read_only_and_empty_batches(levels):
    strided = levels[::3]
    np.testing.assert_array_equal(render.symbolic(strided), reference_symbolic(strided))
    frozen = {name: getattr(levels, name).copy() for name in ("grid", "color", "start", "exit")}
    for arr in frozen.values():
        arr.flags.writeable = False
    read_only = dataclasses.replace(levels, **frozen)
    np.testing.assert_array_equal(render.symbolic(read_only), reference_symbolic(levels))
    np.testing.assert_array_equal(render.rgb(read_only, pixels=2), reference_rgb(levels, 2))
    empty = levels[:0]
    assert render.symbolic(empty).shape == (0, 10, 13, 13)
    assert render.rgb(empty, pixels=4).shape == (0, 3, 52, 52)


# -- rgb -------------------------------------------------------------------------------------


@pytest.mark.parametrize("pixels", [1, 3, 8])
@pytest.mark.parametrize("hide_colors", [False, True])
def test_rgb_matches_reference(levels, pixels, hide_colors):
    got = render.rgb(levels, pixels=pixels, hide_colors=hide_colors)
    assert got.shape == (200, 3, 13 * pixels, 13 * pixels)
    np.testing.assert_array_equal(got, reference_rgb(levels, pixels, hide_colors=hide_colors))


def pixel(image, square, pixels, dr=0, dc=0):
    """RGB of the pixel (dr, dc) inside board square (row, col) of a [3, H·p, W·p] image."""
    r, c = square
    return tuple(int(v) for v in image[:, r * pixels + dr, c * pixels + dc])


def test_rgb_colours_at_known_squares(levels):
    p = 8
    images = render.rgb(levels, pixels=p)
    hidden = render.rgb(levels, pixels=p, hide_colors=True)
    on_decoy = render.rgb(levels, pixels=p, agent=levels.decoys[:, 0])
    for k in range(20):
        grid, color = levels.grid[k], levels.color[k]
        wall = tuple(np.argwhere(grid == 1)[0])
        plain = (grid == 0) & (color == 0)
        plain[tuple(levels.start[k])] = False
        floor = tuple(np.argwhere(plain)[0])
        assert pixel(images[k], wall, p) == render.WALL_RGB
        assert pixel(images[k], floor, p, 3, 5) == render.FLOOR_RGB
        exit_code = color[tuple(levels.exit[k])]
        exit_rgb = COLORS[levels.palette[exit_code - 1]] if exit_code else render.FLOOR_RGB
        assert pixel(images[k], levels.exit[k], p, 7, 7) == exit_rgb
        decoy = tuple(levels.decoys[k, 0])
        decoy_rgb = COLORS[levels.palette[color[decoy] - 1]]
        assert pixel(images[k], decoy, p) == decoy_rgb
        assert pixel(hidden[k], decoy, p) == render.FLOOR_RGB
        # The agent is a centred square: its colour inside, the floor around it at the edge.
        assert pixel(images[k], levels.start[k], p, 4, 4) == render.AGENT_RGB
        assert pixel(images[k], levels.start[k], p, 0, 0) == render.FLOOR_RGB
        # Standing on a decoy, the decoy's colour stays visible around the agent.
        assert pixel(on_decoy[k], decoy, p, 3, 3) == render.AGENT_RGB
        assert pixel(on_decoy[k], decoy, p, 1, 6) == decoy_rgb
    fixed = {render.FLOOR_RGB, render.WALL_RGB, render.AGENT_RGB}
    assert len(fixed) == 3 and not fixed & set(COLORS.values())


def test_rgb_out_reuse_and_bad_pixels(levels):
    out = np.full((200, 3, 52, 52), 9, np.uint8)
    assert render.rgb(levels, pixels=4, out=out) is out
    np.testing.assert_array_equal(out, reference_rgb(levels, 4))
    with pytest.raises(ValueError, match="out"):
        render.rgb(levels, pixels=8, out=out)
    with pytest.raises(ValueError, match="pixels"):
        render.rgb(levels, pixels=0)


# -- ascii -----------------------------------------------------------------------------------


def test_ascii_marks_every_square(levels):
    letters = render.color_letters(levels.palette)
    for k in range(10):
        lines = render.ascii(levels, k).splitlines()
        assert lines[0].startswith(f"level {levels.ids[k]} ")
        board, legend = lines[1:-1], lines[-1]
        assert len(board) == 13 and all(len(line) == 13 for line in board)
        r, c = levels.exit[k]
        assert board[r][c] == "E"
        assert r in (0, 12) or c in (0, 12)
        sr, sc = levels.start[k]
        assert board[sr][sc] == "A"
        assert "".join(board).count("E") == 1 and "".join(board).count("A") == 1
        for (r, c), wall in np.ndenumerate(levels.grid[k]):
            code = levels.color[k, r, c]
            if (r, c) in {(sr, sc), tuple(levels.exit[k])}:
                continue
            if wall:
                assert board[r][c] == "#"
            elif code:
                assert board[r][c] == letters[levels.palette[code - 1]]
            else:
                assert board[r][c] == "."
        exit_code = levels.color[k][tuple(levels.exit[k])]
        exit_name = levels.palette[exit_code - 1] if exit_code else "no colour"
        assert legend.startswith("legend: ") and f"E exit ({exit_name})" in legend
        decoy = tuple(levels.decoys[k, 0])
        name = levels.palette[levels.color[k][decoy] - 1]
        assert f"{letters[name]} {name}" in legend


def test_ascii_hide_colors_and_index_errors(levels):
    lines = render.ascii(levels, -1, hide_colors=True).splitlines()
    assert lines[0].startswith(f"level {levels.ids[-1]} ")
    assert set("".join(lines[1:-1])) == {"#", ".", "A", "E"}
    assert "E exit (no colour)" in lines[-1]
    with pytest.raises(ValueError, match="out of range"):
        render.ascii(levels, 200)


def test_ascii_letters_are_unambiguous():
    palette = ("blue", "brown", "pink", "purple", "red")
    letters = render.color_letters(palette)
    assert letters == {"blue": "bl", "brown": "br", "pink": "pi", "purple": "pu", "red": "re"}
    assert render.color_letters(fastmaze.DEFAULT_PALETTE)["green"] == "g"
    spec = fastmaze.MazeSpec(palette=palette, n_decoys=2, decoy_color="brown", exit_color="pink")
    levels = fastmaze.generate(spec, 3, seed=1)
    lines = render.ascii(levels, 0).splitlines()
    board = lines[1:-1]
    assert all(len(line) == 2 * 13 for line in board)
    r, c = levels.decoys[0, 1]
    assert board[r][2 * c : 2 * c + 2] == "br"
    r, c = levels.exit[0]
    assert board[r][2 * c] == "E"
    assert "E exit (pink)" in lines[-1] and "br brown" in lines[-1]


# -- png -------------------------------------------------------------------------------------


def test_save_png_grid_size_and_content(levels, tmp_path):
    path = tmp_path / "grid.png"
    shape = render.save_png(levels, path, [0, 5, 9], pixels=4, columns=2)
    # 2 columns x 2 rows of 52-pixel levels, 4 pixels apart.
    assert shape == (108, 108)
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (108, 108)
    rgb = np.round(image[..., :3] * 255).astype(np.uint8)
    tile = lambda k: render.rgb(levels[k], pixels=4)[0].transpose(1, 2, 0)  # noqa: E731
    np.testing.assert_array_equal(rgb[:52, 56:108], tile(5))
    np.testing.assert_array_equal(rgb[56:108, :52], tile(9))
    assert (rgb[56:, 56:] == render.BACKGROUND_RGB).all()  # the empty fourth slot
    default = render.save_png(levels, tmp_path / "all.png")
    assert default == (8 * 104 + 7 * 8, 8 * 104 + 7 * 8)  # the first 64 levels, 8 x 8
    with pytest.raises(ValueError, match="no levels"):
        render.save_png(levels, tmp_path / "none.png", [])
    with pytest.raises(ValueError, match="out of range"):
        render.save_png(levels, tmp_path / "bad.png", [200])
