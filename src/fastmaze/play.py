"""``fastmaze play``: one level at a time in the terminal, arrow keys to move, for looking at
what the agent sees.

`Game` is the game without a screen (keys in, text out; tested directly); `run` is the
curses loop around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastmaze.make import MazeEnv
from fastmaze.spec import AnySpec

#: Key names -> actions (0 up, 1 right, 2 down, 3 left): arrows, WASD and vi keys.
MOVES = {
    "up": 0, "right": 1, "down": 2, "left": 3,
    "w": 0, "d": 1, "s": 2, "a": 3,
    "k": 0, "l": 1, "j": 2, "h": 3,
}  # fmt: skip
HELP = "arrows/wasd/hjkl move, r restart, n next level, p previous level, q quit"


@dataclass
class Game:
    """One level of ``(spec, seed)`` played with keys; `press` returns False on quit.

    ``level`` is the id played; ``env_kwargs`` go to `fastmaze.MazeEnv` (``max_steps``,
    ``proxy_reward``, ``terminate_on_decoy``, ...).
    """

    spec: AnySpec
    seed: int = 0
    level: int = 0
    hide_colors: bool = False
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.start(self.level)

    def start(self, level: int) -> None:
        """Starts level ``level`` from its first square."""
        if isinstance(level, bool) or not isinstance(level, int) or level < 0:
            raise ValueError(f"level: expected a non-negative integer id, got {level!r}")
        self.level = level
        self.env = MazeEnv(
            self.spec, self.seed, first_id=level, hide_colors=self.hide_colors,
            render_mode="ansi", **self.env_kwargs,
        )  # fmt: skip
        _, self.info = self.env.reset()
        self.steps, self.total, self.done = 0, 0.0, False
        self.message = HELP

    def press(self, key: str) -> bool:
        """Handles one key (a `MOVES` name, ``r``, ``n``, ``p`` or ``q``); False to quit."""
        if key == "q":
            return False
        if key == "r":
            self.start(self.level)
        elif key == "n":
            self.start(self.level + 1)
        elif key == "p":
            self.start(max(0, self.level - 1))
        elif key in MOVES and not self.done:
            _, reward, terminated, truncated, self.info = self.env.step(MOVES[key])
            self.steps += 1
            self.total += reward
            self.done = terminated or truncated
            self.message = self._outcome(terminated, truncated)
        elif key in MOVES:
            self.message = "the episode is over: r restart, n next level, q quit"
        return True

    def _outcome(self, terminated: bool, truncated: bool) -> str:
        info = self.info
        if terminated and info["reached_exit"]:
            return f"reached the exit in {self.steps} steps (optimal {info['optimal_length']})"
        if terminated:
            return "stopped on a decoy"
        if truncated:
            return f"out of time after {self.steps} steps"
        if info["reached_decoy"]:
            return "walked over a decoy; the exit is still open"
        return HELP

    def screen(self) -> str:
        """The text to show: the board with the agent, a status line, the message."""
        status = f"level {self.level} seed {self.seed}: step {self.steps}, return {self.total:+.2f}"
        if self.info["ambiguous"]:
            status += " (ambiguous: a decoy lies on a shortest path to the exit)"
        return "\n".join([self.env.render(), status, self.message])


def key_name(code: int) -> str | None:
    """The `Game.press` name of a curses key code (arrows, letters), or None."""
    import curses

    arrows = {curses.KEY_UP: "up", curses.KEY_RIGHT: "right", curses.KEY_DOWN: "down"}
    arrows[curses.KEY_LEFT] = "left"
    if code in arrows:
        return arrows[code]
    if 0 <= code < 256 and chr(code).isprintable():
        return chr(code).lower()
    return None


def run(game: Game) -> None:
    """Plays ``game`` in the terminal (curses) until ``q``."""
    import curses

    def loop(window: Any) -> None:
        curses.curs_set(0)
        while True:
            window.erase()
            height, width = window.getmaxyx()
            for y, line in enumerate(game.screen().splitlines()[: height - 1]):
                window.addstr(y, 0, line[: width - 1])
            window.refresh()
            name = key_name(window.getch())
            if name is not None and not game.press(name):
                return

    curses.wrapper(loop)
