"""The traffic planner weighs a wait against a detour: it does not stand beside a lane
that stays shut while the sidewalk round the block is free.

On ``tests/maps/staggered_blocks.txt`` a block stands flush against a busy one-way
avenue, and the sidewalk jogs two cells round it. From the block's south end (14, 6)
to (5, 6) is 11 ticks along the avenue and 13 round the block. The planner used to
replan "wait a tick, then go along the avenue" every tick, because a wait of one tick
always beat a detour of two: with traffic seed 2801 it stood 158 ticks and arrived
after 169 (seeds 65, 691 and 913: 71, 96 and 93 ticks standing). With a crossing
still ahead at the far end (the goal (2, 3), beyond the cross street) going round was
no better a guess, and it stood 48 and 44 ticks with seeds 972 and 999. Now it waits
at most the 2 ticks going round adds, then goes round: it arrives within 13 + 2 ticks.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import gymnasium as gym
import pytest

from agents.city_planner import TrafficPlanner
from agents.traffic_model import STAY
from envs.city.citymap import CityMap
from envs.city.maploader import load_map
from tests import (
    test_city_planner as planner_tests,
)  # its helpers only: importing its tests would rerun them

MAP = str(Path(__file__).parent / "maps" / "staggered_blocks.txt")
START = (14, 6)  #: the west sidewalk at the south end of the block flush against the avenue
#: the avenue's cells south of the cross street (row 3): the lane beside both blocks
AVENUE = frozenset((row, 7) for row in range(4, 28))
LONG_WAIT_TICKS = 20  #: as in benchmarks/city_planner.py


def walk_length(
    city_map: CityMap,
    start: tuple[int, int],
    goal: tuple[int, int],
    avoided: frozenset[tuple[int, int]] = frozenset(),
) -> int:
    """Fewest moves from ``start`` to ``goal``, cars ignored, never onto an ``avoided`` cell."""
    rows, cols = city_map.shape
    distance = {start: 0}
    frontier = deque([start])
    while frontier:
        row, col = frontier.popleft()
        for nxt in ((row - 1, col), (row, col + 1), (row + 1, col), (row, col - 1)):
            if (
                0 <= nxt[0] < rows
                and 0 <= nxt[1] < cols
                and city_map.walkable[nxt]
                and nxt not in avoided
                and nxt not in distance
            ):
                distance[nxt] = distance[(row, col)] + 1
                frontier.append(nxt)
    return distance[goal]


def planner_and_city() -> tuple[TrafficPlanner, gym.Env]:
    planner = TrafficPlanner(planner_tests.city_spec(MAP), seed=0)
    return planner, planner_tests.OnlyObservations(gym.make(planner_tests.CITY_ID, map=MAP))


def walk(
    planner: TrafficPlanner,
    env: gym.Env,
    seed: int,
    options: dict | None = None,
    actions: list[int] | None = None,
) -> tuple[str, int, int]:
    """One walk in a fresh city: its outcome, its ticks and its longest stay (ticks in a
    row); the actions taken are appended to ``actions``."""
    observation, info = env.reset(seed=seed, options=options)
    planner.reset_episode()
    ticks = stayed = longest_stay = 0
    done = False
    while not done:
        action = planner.act(observation, info)
        if actions is not None:
            actions.append(int(action))
        stayed = stayed + 1 if action == STAY else 0
        longest_stay = max(longest_stay, stayed)
        observation, _, terminated, truncated, info = env.step(action)
        ticks += 1
        done = terminated or truncated
    return info["outcome"], ticks, longest_stay


@pytest.mark.parametrize(
    "goal, seed",
    [((5, 6), 65), ((5, 6), 691), ((5, 6), 913), ((5, 6), 2801), ((2, 3), 972), ((2, 3), 999)],
)
def test_goes_round_the_block_rather_than_wait_for_the_avenue(
    goal: tuple[int, int], seed: int
) -> None:
    city_map = load_map(MAP)
    along = walk_length(city_map, START, goal)
    round_the_block = walk_length(city_map, START, goal, avoided=AVENUE)
    assert round_the_block - along == 2
    outcome, ticks, longest_stay = walk(*planner_and_city(), seed, {"start": START, "goal": goal})
    assert outcome == "success"
    # break-even: wait at most as long as going round adds, then go round
    assert longest_stay <= round_the_block - along
    assert ticks <= round_the_block + (round_the_block - along)


@pytest.mark.slow
def test_walks_on_the_staggered_city_without_a_long_wait() -> None:
    """Walks drawn by the env (the old planner stood over 20 ticks on 5 of these 300)."""
    planner, env = planner_and_city()
    walks = [walk(planner, env, seed) for seed in range(300)]
    assert all(outcome == "success" for outcome, _, _ in walks)
    assert max(longest_stay for _, _, longest_stay in walks) <= LONG_WAIT_TICKS


def test_each_walk_starts_without_the_waits_of_the_last() -> None:
    """The planner remembers its waits within a walk only, even when nobody calls
    ``reset_episode`` (the base class's play loop does not)."""
    planner, env = planner_and_city()
    reset_each_walk: list[int] = []
    for seed in range(20):
        walk(planner, env, seed, actions=reset_each_walk)
    planner.reset_episode = lambda: None
    never_reset: list[int] = []
    for seed in range(20):
        walk(planner, env, seed, actions=never_reset)
    assert never_reset == reset_each_walk
