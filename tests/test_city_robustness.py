"""CityNav-v1 given odd input: maps it cannot run, bad files, bad actions, options and arguments.

Every map either loads and runs or fails with MapError naming the file, line, column and
what is wrong; everything else the env is given is checked with a ValueError that says
what was expected. Property-based cases (hypothesis) draw generated cities, mutated map
files, actions and reset options.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from envs.city.citymap import CityMap
from envs.city.env import CityNavEnv
from envs.city.mapformat import MapError
from envs.city.maploader import load_map

TRAIN_TEXT = load_map("train").to_text()
NEW_TEXT = load_map("new").to_text()
FREE_RUN = {"start": (5, 0), "goal": (19, 19)}  # two sidewalks on "train"


def runs(env: CityNavEnv, actions: list[int], seed: int = 0) -> None:
    """Reset and step ``env`` through ``actions``, checking every observation and info."""
    obs, info = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs) and math.isfinite(reward)
        city = env.city_map
        assert city.walkable[info["position"]] and city.walkable[info["goal"]]
        if terminated or truncated:
            env.reset()


# -- maps the env cannot run -------------------------------------------------------------

UNPLAYABLE = {
    # name: (grid, fragment of the message)
    "2 x 1, one sidewalk": (">\n.", "1 sidewalk cell, at most 0 apart"),
    "1 x 3, one sidewalk": ("v.v", "1 sidewalk cell"),
    "two sidewalks a cell apart on a 4-wide map": ("v..v", "min_start_goal_distance <= 1"),
    "sidewalks in a small area cut off from the roads": (
        ">>>>>>\n>>>>>>\n######\n..####",
        "largest walkable area has 2 sidewalk cells, at most 1 apart",
    ),
    "sidewalks split into single cells by buildings": (
        ">>>>>>\n>>>>>>\n######\n.#.#.#",
        "1 sidewalk cell",
    ),
}


@pytest.mark.parametrize("case", sorted(UNPLAYABLE))
def test_a_map_that_cannot_be_played_fails_with_map_error_naming_map_file_and_problem(
    tmp_path, case
):
    grid, fragment = UNPLAYABLE[case]
    path = tmp_path / "odd_city.txt"
    path.write_text("; an odd city\n[city]\nname = odd\n[grid]\n" + grid + "\n")
    CityMap.load(path)  # the map itself is well formed: cars can drive through it
    with pytest.raises(MapError) as caught:
        CityNavEnv(str(path))
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.file, error.line, error.column) == (str(path), 5, 1)  # its first grid line
    assert "map 'odd' cannot be played" in str(error) and fragment in str(error), str(error)
    assert "expected" in str(error)


def test_starts_and_goals_are_drawn_in_the_area_with_the_most_sidewalks():
    # the largest walkable area is all road (no sidewalk); the sidewalks lie apart
    city = CityMap.from_text(">>>>>>>>\n>>>>>>>>\n>>>>>>>>\n########\n........")
    env = CityNavEnv(city, min_start_goal_distance=3)
    for seed in range(10):
        _, info = env.reset(seed=seed)
        assert info["position"][0] == 4 and info["goal"][0] == 4
    # a start fixed elsewhere draws its goal in its own area
    other = CityMap.from_text(">>>>>>>\n.......\n#######\n.......\n.......")
    env = CityNavEnv(other, min_start_goal_distance=2)
    _, info = env.reset(seed=0, options={"start": (1, 0)})
    assert info["goal"][0] == 1


def test_a_single_sidewalk_area_refuses_a_start_with_nowhere_to_go():
    city = CityMap.from_text(">>>>>>\n......\n######\n.#####")
    env = CityNavEnv(city, min_start_goal_distance=2)
    with pytest.raises(ValueError, match=r"start \(3, 0\).*no other sidewalk cell can be reached"):
        env.reset(options={"start": (3, 0)})
    with pytest.raises(ValueError, match="cannot be reached from start"):
        env.reset(options={"start": (3, 0), "goal": (1, 5)})


# -- files and names that do not load --------------------------------------------------------


def test_a_binary_file_fails_with_file_line_and_column(tmp_path):
    path = tmp_path / "photo.txt"
    path.write_bytes(b"....\n>>>>\n..\x89PNG\n")
    with pytest.raises(MapError) as caught:
        load_map(str(path))
    assert (caught.value.file, caught.value.line, caught.value.column) == (str(path), 3, 3)
    assert "0x89 is not UTF-8" in str(caught.value) and "expected a text map file" in str(
        caught.value
    )


def test_a_byte_order_mark_is_allowed_and_line_numbers_are_an_editors(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(("\ufeff" + TRAIN_TEXT.replace("\n", "\r\n")).encode())
    assert load_map(str(path)) == load_map("train")
    # a form feed is a character of its line, not a line break
    path.write_bytes(b"....\n>>\x0c>\n....\n")
    with pytest.raises(MapError, match=r":2:3: unknown character '\\x0c'"):
        load_map(str(path))


@pytest.mark.parametrize(
    "spec, column, fragment",
    [
        ("random:-1", 8, "seed '-1': expected a non-negative integer"),
        ("random:x", 8, "random:SEED"),
        ("random:", 8, "seed ''"),
        ("random:3:40", 10, "size '40': expected ROWSxCOLS"),
        ("random:3:5x40", 10, "expected rows and columns from 12 to 1000"),
        ("random:3:40x40:1", 15, "unexpected third ':'"),
    ],
)
def test_bad_random_names_say_which_part_is_wrong(spec, column, fragment):
    with pytest.raises(MapError) as caught:
        load_map(spec)
    assert (caught.value.file, caught.value.line, caught.value.column) == (spec, 1, column)
    assert fragment in str(caught.value)


def test_a_sized_random_city_has_its_size_and_its_name():
    city = load_map("random:4:30x57")
    assert city.shape == (30, 57) and city.name == "random:4:30x57"
    assert load_map(city.name) == city


def test_bad_dicts_fail_with_map_error():
    for data in (
        {"grid": ["..", ">>"]},
        ["..", ">>"],
        {"name": "x", "grid": "..\n>>"},
        {"name": "x", "grid": [1, 2]},
    ):
        with pytest.raises(MapError):
            CityMap.from_dict(data)


# -- actions, reset options and arguments ------------------------------------------------


def position_after(action) -> tuple[int, int]:
    env = CityNavEnv("train")
    env.reset(seed=0, options=FREE_RUN)
    return env.step(action)[4]["position"]


def test_integer_actions_of_every_kind_sb3_passes_are_one_action():
    east = position_after(2)
    assert east == (5, 1)
    for action in (
        np.int64(2),
        np.int32(2),
        np.uint8(2),
        np.array(2),
        np.array([2]),
        np.array([2], dtype=np.int8),
    ):
        assert position_after(action) == east, repr(action)


@pytest.mark.parametrize(
    "action, fragment",
    [
        (float("nan"), "action nan of type float: expected an integer 0-4"),
        (2.0, "action 2.0 of type float"),
        (np.float32(1.5), "1.5) of type float32"),
        (np.array([np.nan]), "action array([nan]) of type ndarray"),
        (True, "action True of type bool"),
        (np.array([1, 2]), "of type ndarray: expected an integer 0-4"),
        ("1", "action '1' of type str"),
        (None, "action None of type NoneType"),
        (-1, "action -1: expected 0-4"),
        (5, "action 5: expected 0-4"),
        (np.int64(7), "action 7: expected 0-4 (0 stay, 1 north, 2 east, 3 south, 4 west)"),
    ],
)
def test_a_bad_action_is_a_value_error_naming_it(action, fragment):
    env = CityNavEnv("train")
    env.reset(seed=0, options=FREE_RUN)
    with pytest.raises(ValueError) as caught:
        env.step(action)
    assert fragment in str(caught.value)
    # nothing moved: the walk goes on
    _, _, _, _, info = env.step(2)
    assert info["position"] == (5, 1) and info["tick"] == 1


def test_step_and_render_before_reset_say_so():
    with pytest.raises(RuntimeError, match="reset"):
        CityNavEnv("train").step(0)
    with pytest.raises(RuntimeError, match="reset"):
        CityNavEnv("train", render_mode="rgb_array").render()


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"begin": (5, 0)}, "unknown reset option 'begin': expected start and/or goal"),
        ({"start": (5, 0), "seed": 1, "x": 2}, "unknown reset options 'seed', 'x'"),
        ([("start", (5, 0))], "expected None or a dict"),
        ({"start": (5.0, 0)}, "start (5.0, 0): expected a cell (row, col) of two integers"),
        ({"start": (5, 0, 1)}, "expected a cell (row, col)"),
        ({"start": "5,0"}, "expected a cell (row, col)"),
        ({"goal": (True, 0)}, "expected a cell (row, col)"),
        ({"start": (-1, 0)}, "start (-1, 0) on map 'train' (20 x 20): expected a sidewalk cell"),
        (
            {"start": (6, 0)},
            "start (6, 0) on map 'train' (20 x 20): expected a sidewalk cell",
        ),  # a lane
        (
            {"goal": (0, 0)},
            "goal (0, 0) on map 'train' (20 x 20): expected a walkable cell",
        ),  # a building
        ({"goal": (20, 0)}, "expected a walkable cell inside the map"),
        ({"start": (5, 0), "goal": (5, 0)}, "expected a goal other than the start"),
    ],
)
def test_bad_reset_options_are_value_errors_and_change_nothing(options, fragment):
    env = CityNavEnv("train")
    _, before = env.reset(seed=0, options=FREE_RUN)
    with pytest.raises(ValueError) as caught:
        env.reset(seed=1, options=options)
    assert fragment in str(caught.value)
    _, _, _, _, info = env.step(0)
    assert (
        info["position"] == before["position"]
        and info["goal"] == before["goal"]
        and info["tick"] == 1
    )


def test_reset_options_take_numpy_cells_and_none():
    env = CityNavEnv("train")
    _, info = env.reset(
        seed=0, options={"start": np.array([5, 0]), "goal": (np.int64(19), np.int32(19))}
    )
    assert info["position"] == (5, 0) and info["goal"] == (19, 19)
    _, info = env.reset(options={"start": None, "goal": None})
    assert env.city_map.sidewalk[info["position"]]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"map": 7}, "city map 7 of type int"),
        ({"map": None}, "city map None"),
        ({"sight": -1}, "sight = -1: expected an integer >= 0 (cells), 'full' or None"),
        ({"sight": 2.5}, "sight = 2.5"),
        ({"sight": "3"}, "sight = '3'"),
        ({"sight": True}, "sight = True"),
        ({"shaping_gamma": 1.5}, "shaping_gamma = 1.5: expected a discount in [0, 1]"),
        ({"shaping_gamma": float("nan")}, "shaping_gamma = nan: expected a finite number"),
        ({"max_steps": 0}, "max_steps = 0: expected an integer >= 1"),
        ({"min_start_goal_distance": 0}, "min_start_goal_distance = 0: expected an integer >= 1"),
        ({"warmup_ticks": -5}, "warmup_ticks = -5"),
        ({"reward_goal": float("nan")}, "reward_goal = nan: expected a finite number"),
        ({"reward_step": "cheap"}, "reward_step = 'cheap'"),
        ({"progress_per_cell": float("inf")}, "progress_per_cell = inf"),
        ({"traffic": {"rate": 0.2}}, "unknown field 'rate'; expected some of entry_rate, speeds"),
        ({"traffic": {"entry_rate": 2.0}}, "entry_rate = 2.0: expected a probability"),
        ({"traffic": {"speeds": (3,)}}, "speeds of 1 to 2"),
        (
            {"traffic": {"speed_weights": (float("nan"), 1.0)}},
            "expected finite non-negative weights",
        ),
        ({"traffic": {"entry_rate": None}}, "traffic {'entry_rate': None}"),
        ({"traffic": 0.3}, "traffic 0.3: expected None, a Traffic or a dict"),
    ],
)
def test_bad_constructor_arguments_are_value_errors_saying_what_was_expected(kwargs, fragment):
    with pytest.raises(ValueError) as caught:
        CityNavEnv(**kwargs)
    assert fragment in str(caught.value)


def test_numpy_integers_are_good_arguments():
    env = CityNavEnv(
        "train", sight=np.int64(2), max_steps=np.int32(10), reward_goal=np.float32(2.0)
    )
    assert env.observation_space.shape == (5 * 5 * 11 + 3,) and env.max_steps == 10
    runs(env, [0] * 12)


# -- large maps: linear memory ---------------------------------------------------------------


def traced_build_peak(spec: str) -> int:
    city = load_map(spec)
    tracemalloc.start()
    try:
        CityNavEnv(city)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_building_a_city_takes_memory_linear_in_its_cells():
    # 4 x the cells: a table over pairs of sidewalk cells would take 16 x the memory
    small, large = traced_build_peak("random:0:60x60"), traced_build_peak("random:0:120x120")
    assert large / small < 6, (small, large)
    assert large < 40 * 2**20


def test_a_large_city_runs():
    runs(
        CityNavEnv("random:1:150x90"),
        [int(a) for a in np.random.default_rng(0).integers(0, 5, 100)],
    )


# -- property-based: generated cities, mutated files, actions and options -----------------

FAST = settings(max_examples=25, deadline=3000, suppress_health_check=[HealthCheck.too_slow])

any_action = st.one_of(
    st.integers(0, 4),
    st.integers(-3, 8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.integers(0, 4).map(np.int64),
    st.integers(0, 4).map(lambda a: np.array([a])),
    st.none(),
)


def take(env: CityNavEnv, action) -> None:
    """Step with ``action``, which fails with ValueError exactly when it is no action 0-4."""
    valid = (
        not isinstance(action, (bool, float, type(None)))
        and 0 <= int(np.asarray(action).reshape(())) <= 4
    )
    if valid:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    else:
        with pytest.raises(ValueError, match="action"):
            env.step(action)


@FAST
@given(
    seed=st.integers(0, 2**32),
    size=st.none() | st.tuples(st.integers(12, 48), st.integers(12, 48)),
    actions=st.lists(any_action, max_size=15),
)
def test_generated_cities_load_and_run_with_any_actions(seed, size, actions):
    spec = f"random:{seed}" if size is None else f"random:{seed}:{size[0]}x{size[1]}"
    try:
        env = CityNavEnv(spec)
    except MapError:
        return  # a layout whose sidewalks are too close together: said so, with the map's name
    env.reset(seed=seed % 1000)
    for action in actions:
        take(env, action)


MUTATION_CHARS = "#.^>v<NESW+ \t=;[]0123456789-xé\x00\r\x0c"


@st.composite
def mutated_map_bytes(draw) -> bytes:
    lines = draw(st.sampled_from([TRAIN_TEXT, NEW_TEXT, "....\n>>>>\n....\n"])).split("\n")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["substitute", "delete line", "duplicate line", "truncate", "bytes"])
        )
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        if kind == "substitute" and line:
            at = draw(st.integers(0, len(line) - 1))
            lines[index] = line[:at] + draw(st.sampled_from(MUTATION_CHARS)) + line[at + 1 :]
        elif kind == "delete line" and len(lines) > 1:
            del lines[index]
        elif kind == "duplicate line":
            lines.insert(index, line)
        elif kind == "truncate":
            lines[index] = line[: draw(st.integers(0, len(line)))]
            del lines[index + 1 :]
    data = "\n".join(lines).encode()
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=3)) + data[at:]
    return data


@pytest.fixture(scope="module")
def map_file(tmp_path_factory):
    return tmp_path_factory.mktemp("mutated") / "mutated_city.txt"


@settings(max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_map_bytes(), actions=st.lists(st.integers(0, 4), max_size=8))
def test_mutated_map_files_load_and_run_or_fail_with_map_error(map_file, data, actions):
    map_file.write_bytes(data)
    try:
        city = load_map(str(map_file))
        env = CityNavEnv(city)
    except MapError as error:
        assert error.file == str(map_file) and error.line >= 1 and error.column >= 1
        assert str(error).startswith(f"{map_file}:{error.line}:{error.column}: ")
        return
    runs(env, actions)


cells = st.tuples(st.integers(-2, 22), st.integers(-2, 22))
option_values = st.one_of(
    st.none(), cells, cells.map(list), st.floats(), st.text(max_size=3), st.integers()
)


@pytest.mark.slow
@FAST
@given(
    options=st.none()
    | st.dictionaries(
        st.sampled_from(["start", "goal", "seed", "begin"]), option_values, max_size=3
    ),
    seed=st.none() | st.integers(0, 100),
)
def test_random_reset_options_either_reset_as_asked_or_raise_value_error(options, seed):
    env = CityNavEnv("train")
    try:
        _, info = env.reset(seed=seed, options=options)
    except ValueError:
        return
    options = options or {}
    assume(set(options) <= {"start", "goal"})
    city = env.city_map
    start, goal = info["position"], info["goal"]
    assert city.sidewalk[start] and city.walkable[goal] and start != goal
    for key, cell in (("start", start), ("goal", goal)):
        if options.get(key) is not None:
            assert tuple(options[key]) == cell
    if not any(options.values()):
        assert abs(start[0] - goal[0]) + abs(start[1] - goal[1]) >= env.min_start_goal_distance
    env.step(0)
