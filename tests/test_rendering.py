"""``render_mode`` on MazeEnv and VecMazeEnv, and Gymnasium's RecordVideo capturing frames."""

from __future__ import annotations

import sys
import types
import warnings

import gymnasium
import numpy as np
import pytest

import fastmaze as fm
from fastmaze.env import RENDER_ENVS, VecMazeEnv
from fastmaze.make import MazeEnv
from fastmaze.render import AGENT_RGB, png_grid

SPEC = fm.MazeSpec(size=(3, 3), n_decoys=1, decoy_color={"red": 1.0})


def test_rgb_array_is_the_level_with_the_agent_where_it_stands():
    env = MazeEnv(SPEC, render_mode="rgb_array", pixels=4)
    env.reset(seed=0)
    first = env.render()
    assert first.dtype == np.uint8 and first.shape == (7 * 4, 7 * 4, 3)
    np.testing.assert_array_equal(first, png_grid(env._vec.levels, pixels=4))  # at the start
    for action in (0, 1, 2, 3):
        env.step(action)
    frame = env.render()
    agent = env._vec.agent[0]
    np.testing.assert_array_equal(frame, png_grid(env._vec.levels, pixels=4, agent=agent[None]))
    r, c = agent * 4 + 2  # the centre of the agent's square
    assert tuple(frame[r, c]) == AGENT_RGB


def test_ansi_shows_the_agent():
    env = MazeEnv(SPEC, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    board = text.splitlines()[1:-1]
    assert len(board) == 7 and all(len(row) == 7 for row in board)
    assert sum(row.count("A") for row in board) == 1 and "A agent" in text
    r, c = (int(v) for v in env._vec.agent[0])
    assert board[r][c] == "A"


def test_vec_env_tiles_the_first_envs():
    n = RENDER_ENVS + 4
    env = VecMazeEnv(SPEC, n, render_mode="rgb_array", pixels=2)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    frame = env.render()
    levels = env.levels[:RENDER_ENVS]
    np.testing.assert_array_equal(frame, png_grid(levels, pixels=2, agent=env.agent[:RENDER_ENVS]))
    assert frame.shape == (4 * 14 + 3 * 2, 4 * 14 + 3 * 2, 3)  # 4x4 tiles, 2 pixels apart
    text = VecMazeEnv(SPEC, 3, render_mode="ansi")
    text.reset()
    assert text.render().count("legend:") == 3


def test_no_render_mode_renders_nothing_and_bad_modes_are_refused():
    env = VecMazeEnv(SPEC, 2)
    env.reset()
    assert env.render() is None
    with pytest.raises(ValueError, match="render_mode: 'human'; expected None or one of"):
        VecMazeEnv(SPEC, 2, render_mode="human")
    with pytest.raises(RuntimeError, match="reset"):
        VecMazeEnv(SPEC, 2, render_mode="ansi").render()


def test_gymnasium_make_passes_render_mode():
    env = gymnasium.make("fastmaze/Maze-v0", spec=SPEC, render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().shape == (56, 56, 3)
    assert "rgb_array" in env.metadata["render_modes"] and env.metadata["render_fps"] > 0


def test_record_video_captures_every_frame(tmp_path, monkeypatch):
    """RecordVideo with a stand-in for moviepy (not a dependency): the frames it would
    encode are the env's render() of every step of the episode."""
    written = {}

    class ImageSequenceClip:
        def __init__(self, frames, fps):
            written["frames"], written["fps"] = [f.copy() for f in frames], fps

        def write_videofile(self, path, logger=None):
            written["path"] = path
            open(path, "wb").close()

    clip_module = types.ModuleType("moviepy.video.io.ImageSequenceClip")
    clip_module.ImageSequenceClip = ImageSequenceClip
    for name in ("moviepy", "moviepy.video", "moviepy.video.io"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, clip_module.__name__, clip_module)

    env = gymnasium.make("fastmaze/Maze-v0", spec=SPEC, render_mode="rgb_array", max_steps=10)
    env = gymnasium.wrappers.RecordVideo(
        env, str(tmp_path / "videos"), episode_trigger=lambda e: e == 0
    )
    env.reset(seed=0)
    frames = [env.unwrapped.render()]
    done, steps = False, 0
    while not done:
        _, _, terminated, truncated, _ = env.step(steps % 4)
        frames.append(env.unwrapped.render())
        done, steps = terminated or truncated, steps + 1
    env.close()
    assert written["fps"] == env.metadata["render_fps"]
    assert len(written["frames"]) == steps + 1
    for got, want in zip(written["frames"], frames, strict=True):
        np.testing.assert_array_equal(got, want)
    assert written["path"].endswith(".mp4")


@pytest.mark.parametrize("mode", ["rgb_array", "ansi"])
def test_gymnasium_checker_passes_every_render_mode(mode):
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make("fastmaze/Maze-v0", spec=SPEC, render_mode=mode).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env)  # also re-creates the env in the other render mode


def test_make_vec_passes_render_mode():
    vec = gymnasium.make_vec(
        "fastmaze/Maze-v0", num_envs=3, vectorization_mode="vector_entry_point",
        spec=SPEC, render_mode="rgb_array",
    )  # fmt: skip
    vec.reset(seed=0)
    assert vec.render_mode == "rgb_array" and vec.render().shape == (
        2 * 56 + 8,
        2 * 56 + 8,
        3,
    )  # 2x2 tiles, 8 px apart


@pytest.mark.parametrize("mode", ["rgb_array", "ansi"])
def test_torch_backend_renders_as_the_native_one(mode):
    torch = pytest.importorskip("torch")
    from fastmaze.torch_env import TorchVecMazeEnv

    n = RENDER_ENVS + 2
    native = VecMazeEnv(SPEC, n, seed=1, render_mode=mode, pixels=3, hide_colors=True)
    on_torch = TorchVecMazeEnv(SPEC, n, seed=1, device="cpu", render_mode=mode, pixels=3,
                               hide_colors=True)  # fmt: skip
    native.reset()
    on_torch.reset()
    rng = np.random.default_rng(0)
    for _ in range(10):
        actions = rng.integers(0, 4, n)
        native.step(actions)
        on_torch.step(torch.as_tensor(actions))
        got, want = on_torch.render(), native.render()
        if mode == "ansi":
            assert got == want
        else:
            np.testing.assert_array_equal(got, want)
    single = MazeEnv(SPEC, backend="torch", device="cpu", render_mode=mode)
    single.reset(seed=0)
    reference = MazeEnv(SPEC, render_mode=mode)
    reference.reset(seed=0)
    single.step(1)
    reference.step(1)
    assert type(single.render()) is type(reference.render())
