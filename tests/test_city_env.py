"""CityNav-v1: API checks, determinism, starts and goals, and deaths checked in continuous time."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs.city.citymap import CityMap
from envs.city.env import DEFAULT_SIGHT, CityNavEnv
from envs.city.mapformat import HEADING_STEPS
from envs.city.maploader import load_map
from envs.city.traffic import _meets

STRIP = """[city]
name = strip
[traffic]
entry_rate = 1.0
speeds = 2
[grid]
..........
>>>>>>>>>>
..........
"""


# -- an independent referee: the tick replayed in continuous time ----------------------

SAMPLES = 840  # lcm(1..8): every meeting time with a denominator up to 8 is sampled exactly


def car_positions(path: list[tuple[int, int]], speed: int) -> np.ndarray:
    """(SAMPLES + 1, 2) positions of a car driving ``path`` at ``speed`` cells per tick."""
    t = np.arange(SAMPLES + 1) / SAMPLES
    along = np.minimum(speed * t, len(path) - 1)  # it stops at the end of its path
    knots = np.arange(len(path))
    rows = np.interp(along, knots, [cell[0] for cell in path])
    cols = np.interp(along, knots, [cell[1] for cell in path])
    return np.stack([rows, cols], axis=1)


def pedestrian_positions(p0: tuple[int, int], p1: tuple[int, int]) -> np.ndarray:
    t = (np.arange(SAMPLES + 1) / SAMPLES)[:, None]
    return np.asarray(p0, dtype=float) + t * (
        np.asarray(p1, dtype=float) - np.asarray(p0, dtype=float)
    )


def meeting_time(path, speed, p0, p1) -> float | None:
    """First sampled time in [0, 1] at which the car and the pedestrian coincide."""
    if min(abs(r - p0[0]) + abs(c - p0[1]) for r, c in path) >= 3:
        return None  # the car stays 2 cells or more from p0, the pedestrian within 1
    gap = np.abs(car_positions(path, speed) - pedestrian_positions(p0, p1)).sum(axis=1)
    hits = np.flatnonzero(gap < 1e-9)
    return float(hits[0]) / SAMPLES if len(hits) else None


def test_meeting_rule_matches_the_referee_for_every_small_situation():
    steps = [(0, 0)] + list(HEADING_STEPS)
    for (dr, dc), speed in itertools.product(itertools.product(range(-3, 4), repeat=2), (1, 2)):
        for moves in itertools.product(HEADING_STEPS, repeat=speed):
            for n_moves in range(speed + 1):
                path = [(dr, dc)]
                for mr, mc in moves[:n_moves]:
                    path.append((path[-1][0] + mr, path[-1][1] + mc))
                for pr, pc in steps:
                    expected = meeting_time(path, speed, (0, 0), (pr, pc)) is not None
                    assert _meets(path, speed, (0, 0), (pr, pc)) == expected, (
                        path,
                        speed,
                        (pr, pc),
                    )


# -- the gymnasium and SB3 contracts ------------------------------------------------------


def test_gymnasium_check_env():
    from gymnasium.utils.env_checker import check_env

    check_env(
        gym.make("sandbox/CityNav-v1", render_mode="rgb_array").unwrapped, skip_render_check=False
    )


def test_stable_baselines3_check_env():
    from stable_baselines3.common.env_checker import check_env

    check_env(CityNavEnv(), warn=True)


def test_made_by_id_on_every_map_with_one_observation_shape():
    shapes = set()
    for name in ("train", "new", "random:5", "random:11"):
        env = gym.make("sandbox/CityNav-v1", map=name)
        obs, info = env.reset(seed=1)
        assert env.observation_space.contains(obs)
        side = 2 * DEFAULT_SIGHT + 1
        assert obs.shape == (side * side * 11 + 3,)
        shapes.add((obs.shape, env.observation_space.shape, env.action_space.n))
        for _ in range(20):
            obs, *_ = env.step(env.action_space.sample())
            assert env.observation_space.contains(obs)
        env.close()
    assert len(shapes) == 1


def test_info_is_complete_on_every_step():
    env = CityNavEnv("new", max_steps=30)
    _, info = env.reset(seed=3)
    city = info["city_map"]
    assert isinstance(city, CityMap) and city is env.city_map
    outcomes = set()
    for _ in range(20):
        done = False
        while not done:
            _, reward, terminated, truncated, info = env.step(int(env.np_random.integers(5)))
            done = terminated or truncated
            assert isinstance(info["is_success"], bool) and isinstance(info["death"], bool)
            assert info["city_map"] is city
            cars = info["cars"]
            assert cars.dtype == np.int64 and cars.ndim == 2 and cars.shape[1] == 4
            assert isinstance(info["position"], tuple) and isinstance(info["goal"], tuple)
            assert 1 <= info["tick"] <= 30
            assert set(info["reward_components"]) == {"goal", "death", "step", "progress"}
            assert reward == pytest.approx(sum(info["reward_components"].values()))
            assert ("outcome" in info) == done
        outcomes.add(info["outcome"])
        assert info["outcome"] == (
            "death" if info["death"] else "success" if info["is_success"] else "time_limit"
        )
        assert truncated == (info["outcome"] == "time_limit")
        env.reset()
    assert "death" in outcomes and "time_limit" in outcomes


def test_cars_keep_to_roads_never_share_a_cell_and_head_along_lanes():
    env = CityNavEnv("new")
    env.reset(seed=0)
    city = env.city_map
    for _ in range(300):
        cars = env.all_cars()
        cells = {(int(r), int(c)) for r, c, _, _ in cars}
        assert len(cells) == len(cars)
        for r, c, heading, speed in cars:
            assert city.road[r, c] and speed in (1, 2)
            if city.lane[r, c]:
                assert heading == city.lane_heading[r, c]
        _, _, terminated, truncated, _ = env.step(0)
        if terminated or truncated:
            env.reset()


# -- seeds, starts and goals -------------------------------------------------------------


def rollout(seed: int, actions: list[int], map_name: str = "train"):
    env = CityNavEnv(map_name, sight="full")
    obs, info = env.reset(seed=seed)
    record = [(obs, info["cars"], info["position"], info["goal"])]
    rewards = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        record.append((obs, info["cars"], info["position"], info["goal"]))
        rewards.append(reward)
        if terminated or truncated:
            obs, info = env.reset()
            record.append((obs, info["cars"], info["position"], info["goal"]))
    return record, rewards


def test_same_seed_same_actions_same_everything():
    actions = np.random.default_rng(0).integers(0, 5, 400).tolist()
    first, first_rewards = rollout(11, actions, "random:4")
    second, second_rewards = rollout(11, actions, "random:4")
    assert first_rewards == second_rewards
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        assert a[2:] == b[2:]
    other, _ = rollout(12, actions, "random:4")
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(first, other, strict=False))


def test_traffic_does_not_depend_on_the_pedestrian():
    start, goal = (5, 0), (19, 19)
    cars = []
    for action in (0, 2):
        env = CityNavEnv("train", max_steps=50)
        env.reset(seed=5, options={"start": start, "goal": goal})
        seen = []
        for _ in range(50):
            _, _, terminated, truncated, info = env.step(action)
            seen.append(env.all_cars())
            if terminated or truncated:
                break
        cars.append(seen)
    # one walk may end sooner than the other: compare the ticks both lived through
    for a, b in zip(*cars, strict=False):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["train", "new", "random:2"])
def test_start_and_goal_are_sidewalks_far_enough_apart(name):
    env = CityNavEnv(name)
    city = env.city_map
    starts = set()
    for seed in range(60):
        _, info = env.reset(seed=seed) if seed % 2 else env.reset()
        (sr, sc), (gr, gc) = info["position"], info["goal"]
        assert city.sidewalk[sr, sc] and city.sidewalk[gr, gc]
        assert abs(sr - gr) + abs(sc - gc) >= env.min_start_goal_distance == max(city.shape) // 2
        starts.add((sr, sc))
    assert len(starts) > 10


def test_reset_options_fix_start_and_goal():
    env = CityNavEnv("train")
    _, info = env.reset(seed=0, options={"start": (5, 0), "goal": (19, 19)})
    assert info["position"] == (5, 0) and info["goal"] == (19, 19)
    _, info = env.reset(options={"start": (5, 0)})
    assert info["position"] == (5, 0)
    gr, gc = info["goal"]
    assert abs(gr - 5) + abs(gc) >= env.min_start_goal_distance
    with pytest.raises(ValueError, match="sidewalk"):
        env.reset(options={"start": (0, 0)})  # a building


def test_buildings_and_the_map_edge_stop_the_pedestrian():
    env = CityNavEnv("train", traffic={"entry_rate": 0.0})
    env.reset(seed=0, options={"start": (5, 0), "goal": (19, 19)})
    _, _, _, _, info = env.step(4)  # west: off the map
    assert info["position"] == (5, 0)
    _, _, _, _, info = env.step(1)  # north: a building
    assert info["position"] == (5, 0)
    _, _, _, _, info = env.step(2)
    assert info["position"] == (5, 1)


def test_time_limit_truncates_and_goal_terminates():
    env = CityNavEnv("train", max_steps=5, traffic={"entry_rate": 0.0})
    env.reset(seed=0, options={"start": (5, 0), "goal": (19, 19)})
    for _ in range(5):
        _, reward, terminated, truncated, info = env.step(0)
        # standing gains no walking distance: only the step cost, also on the truncated step
        assert reward == pytest.approx(-0.001)
    assert truncated and not terminated and info["outcome"] == "time_limit"
    assert CityNavEnv("train").max_steps == 4 * (20 + 20)

    env = CityNavEnv("train", traffic={"entry_rate": 0.0})
    env.reset(seed=0, options={"start": (5, 0), "goal": (5, 2)})
    _, reward, terminated, _, info = env.step(2)
    assert not terminated and reward == pytest.approx(
        -0.001 + 0.1
    )  # one cell of walking distance gained
    _, reward, terminated, _, info = env.step(2)
    assert terminated and info["is_success"] and info["outcome"] == "success"
    assert info["reward_components"] == {"goal": 1.0, "death": 0.0, "step": -0.001, "progress": 0.1}
    assert reward == pytest.approx(1.099)


# -- deaths ---------------------------------------------------------------------------------


def test_a_fast_car_passing_through_kills_though_the_tick_ends_with_cells_apart():
    # speed-2 cars enter every tick: at each tick's end they stand on columns 0, 2, 4, ...
    env = CityNavEnv(CityMap.from_text(STRIP), warmup_ticks=12, sight=3)
    _, info = env.reset(seed=0, options={"start": (0, 3), "goal": (2, 9)})
    assert sorted(c for _, c, _, _ in env.all_cars()) == [0, 2, 4, 6, 8]
    assert sorted(c for _, c, _, _ in info["cars"]) == [0, 2, 4, 6]  # column 8 is out of sight
    # stepping onto the lane just behind the car that sweeps through (1, 3) mid-tick: safe
    obs, reward, terminated, _, info = env.step(3)
    assert info["position"] == (1, 3) and not info["death"] and not terminated
    # the car one cell behind is shown heading east at speed 2 (window centre is cell 24)
    behind = (3 * 7 + 2) * 11
    assert obs[behind + 7] == 1.0 and obs[behind + 10] == 1.0
    # standing there: the next car drives through it at mid-tick and ends a cell beyond
    obs, reward, terminated, _, info = env.step(0)
    assert terminated and info["death"] and info["outcome"] == "death"
    assert (1, 3) not in {(int(r), int(c)) for r, c, _, _ in info["cars"]}
    assert info["reward_components"]["death"] == -1.0
    # standing still when hit: the death and the step cost, no progress
    assert reward == pytest.approx(-1.001)


def test_sidewalks_are_safe():
    env = CityNavEnv(CityMap.from_text(STRIP))
    env.reset(seed=0, options={"start": (0, 0), "goal": (0, 9)})
    for _ in range(9):
        _, _, terminated, _, info = env.step(2)
        assert not info["death"]
    assert terminated and info["is_success"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_death_is_flagged_exactly_when_a_car_meets_the_pedestrian(seed):
    """Random cities, heavy traffic, random walks: replay every tick in continuous time."""
    env = CityNavEnv(
        f"random:{seed}",
        traffic={
            "entry_rate": 0.4,
            "speeds": (1, 2),
            "speed_weights": (1.0, 1.0),
            "turn_probability": 0.4,
        },
        max_steps=60,
        sight="full",  # the referee compares every car's path with the cars listed
    )
    env.record_car_paths = True
    city = env.city_map
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=seed)
    deaths = mid_tick_deaths = 0
    for _ in range(350):
        before, p0 = info["cars"], info["position"]
        # walk mostly towards roads and along them, so cars come close
        _, _, terminated, truncated, info = env.step(int(rng.integers(5)))
        p1, after = info["position"], info["cars"]
        paths = env.car_paths

        # the paths are the cars': they start where the cars were and end where they are
        old, new = paths[: len(before)], paths[len(before) :]
        assert [path[0] for _, path in old] == [(int(r), int(c)) for r, c, _, _ in before]
        ends = [path[-1] for _, path in old if city.in_bounds(path[-1])] + [
            path[-1] for _, path in new
        ]
        assert ends == [(int(r), int(c)) for r, c, _, _ in after]
        for (speed, path), (_, _, heading, car_speed) in zip(old, before, strict=True):
            assert speed == car_speed and len(path) - 1 <= speed
            for a, b in zip(path[:-1], path[1:], strict=True):
                moves = dict((nxt, h) for nxt, h in city.successors(a, heading))
                key = b if city.in_bounds(b) else None
                assert key in moves, (a, heading, b)
                heading = moves[key]
        for _, (outside, entry) in new:
            assert not city.in_bounds(outside) and entry in city.entry_cells

        times = [meeting_time(path, speed, p0, p1) for speed, path in paths]
        met = [t for t in times if t is not None]
        assert info["death"] == bool(met), (p0, p1, paths)
        if met:
            deaths += 1
            mid_tick_deaths += min(met) < 1.0
        if terminated or truncated:
            _, info = env.reset()
    print(f"deaths {deaths}, of which mid-tick {mid_tick_deaths}")
    assert deaths >= 3 and mid_tick_deaths >= 1


def test_render_draws_the_city():
    env = CityNavEnv("new", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    rows, cols = env.city_map.shape
    assert frame.shape == (rows * 12, cols * 12, 3) and frame.dtype == np.uint8
    assert CityNavEnv("new").render() is None


def test_true_traffic_may_differ_from_the_published_one():
    env = CityNavEnv("train", traffic={"entry_rate": 0.3})
    published = load_map("train").traffic
    assert env.traffic.entry_rate == 0.3 and env.traffic.speeds == published.speeds
    _, info = env.reset(seed=0)
    assert info["city_map"].traffic == published


def test_bad_arguments_fail_fast():
    with pytest.raises(ValueError, match="render_mode"):
        CityNavEnv(render_mode="human")
    with pytest.raises(ValueError, match="min_start_goal_distance"):
        CityNavEnv(CityMap.from_text(STRIP), min_start_goal_distance=50)
    assert load_map("train") == CityNavEnv().city_map
