"""``fastmaze play``: the game logic without a terminal, the key mapping, the CLI entry."""

from __future__ import annotations

import curses
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fastmaze as fm
from fastmaze import cli, play
from fastmaze.play import MOVES, Game, key_name

PACKAGE_ROOT = str(Path(fm.__file__).resolve().parents[1])
SPEC = fm.MazeSpec(size=(3, 3), n_decoys=1, decoy_color={"red": 1.0})


def _board(game):
    return game.screen().splitlines()[1:-3]


def _agent(game):
    (r, c), *_ = [(r, row.index("A")) for r, row in enumerate(_board(game)) if "A" in row]
    return r, c


def test_moves_follow_the_env():
    game = Game(SPEC, seed=3, level=5)
    env = fm.MazeEnv(SPEC, 3, first_id=5)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(12):
        key = ["up", "right", "down", "left"][rng.integers(4)]
        if game.done:
            break
        game.press(key)
        env.step(MOVES[key])
        assert _agent(game) == tuple(int(v) for v in env._vec.agent[0])
    assert game.steps > 0 and "level 5 seed 3" in game.screen()


def test_the_oracle_path_reaches_the_exit():
    game = Game(SPEC, seed=0, level=2)
    oracle = fm.solve(fm.generate(SPEC, 1, seed=0, start=2))
    names = ["up", "right", "down", "left"]
    while not game.done:
        r, c = _agent(game)
        game.press(names[int(oracle.optimal_action[0, r, c])])
    assert game.info["reached_exit"] and "reached the exit" in game.message
    assert game.steps == game.info["optimal_length"] and game.total == 1.0
    game.press("up")  # the episode is over: moves do nothing
    assert "episode is over" in game.message and game.steps == game.info["optimal_length"]


def test_level_keys_and_quit():
    game = Game(SPEC, level=4)
    game.press("right")
    assert game.press("n") and game.level == 5 and game.steps == 0
    assert game.info["level_id"] == 5
    game.press("p")
    game.press("p")
    assert game.level == 3
    game.press("down")
    game.press("r")
    assert game.level == 3 and game.steps == 0
    assert game.press("q") is False
    with pytest.raises(ValueError, match="level"):
        Game(SPEC, level=-1)


def test_truncation_is_reported():
    game = Game(SPEC, env_kwargs={"max_steps": 2})
    game.press("up")
    game.press("up")
    assert game.done and "out of time after 2 steps" in game.message


def test_key_names():
    assert key_name(curses.KEY_UP) == "up" and key_name(curses.KEY_LEFT) == "left"
    assert key_name(ord("Q")) == "q" and key_name(ord("w")) == "w"
    assert key_name(curses.KEY_RESIZE) is None


def test_cli_play_needs_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(play, "run", lambda game: pytest.fail("ran without a terminal"))
    code = cli.main(["play", "--size", "3", "3", "--level", "1e1"])
    err = capsys.readouterr().err
    assert code == 2 and "play needs a terminal" in err


def test_cli_play_runs_the_game(monkeypatch):
    seen = {}
    monkeypatch.setattr(play, "run", lambda game: seen.update(game=game))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    assert cli.main(["play", "--size", "3", "4", "--level", "7", "--max-steps", "9"]) == 0
    game = seen["game"]
    assert game.level == 7 and game.spec.size == (3, 4) and game.env._vec.max_steps == 9


def _tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=20)


def _wait_for(session, predicate, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session).stdout
        if predicate(screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"timed out; the screen was:\n{screen}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_play_in_a_real_terminal():
    """The curses loop under tmux: the board shows, an arrow key moves, q quits."""
    session = f"fastmaze-play-{os.getpid()}"
    env = f"PYTHONPATH={PACKAGE_ROOT}"
    command = f"env {env} {sys.executable} -m fastmaze play --size 3 3 --level 0"
    _tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        first = _wait_for(session, lambda s: "level 0 seed 0: step 0" in s)
        game = Game(cli.default_spec().replace(size=(3, 3)))
        assert game.screen().splitlines()[1] in first  # the board's first row
        _tmux("send-keys", "-t", session, "Right")
        _wait_for(session, lambda s: "step 1" in s)
        _tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 20
        while _tmux("has-session", "-t", session).returncode == 0:
            assert time.monotonic() < deadline, "q did not quit"
            time.sleep(0.2)
    finally:
        _tmux("kill-session", "-t", session)
