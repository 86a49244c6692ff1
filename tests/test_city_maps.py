"""City maps: loading, round trips, the lane graph, and errors that say where and what."""

from __future__ import annotations

import pytest

from envs.city.citymap import CityMap
from envs.city.mapformat import MapError, Traffic
from envs.city.mapgen import generate_city
from envs.city.maploader import builtin_map_names, load_map

MAP_NAMES = ["train", "new"] + [f"random:{seed}" for seed in range(12)]


def test_builtin_maps_are_listed():
    assert {"train", "new"} <= set(builtin_map_names())


@pytest.mark.parametrize("name", MAP_NAMES)
def test_maps_round_trip_through_text_and_dict(name):
    city = load_map(name)
    assert city.name == name
    assert CityMap.from_text(city.to_text()) == city
    assert CityMap.from_dict(city.to_dict()) == city
    assert CityMap.from_text(city.to_text()).to_text() == city.to_text()


def test_maps_pickle_small_and_unpickle_to_one_shared_object():
    import copy
    import pickle

    city = load_map("train")
    data = pickle.dumps(city)
    assert len(data) < 1000
    first, second = pickle.loads(data), pickle.loads(data)
    assert first == city and first is second
    assert first.successors((6, 19), 3) == city.successors((6, 19), 3)
    assert copy.deepcopy(city) == city


def test_map_loads_from_a_path(tmp_path):
    path = tmp_path / "corner.txt"
    path.write_text(load_map("new").to_text())
    assert load_map(str(path)) == load_map("new")
    assert CityMap.load(path) == load_map("new")


def test_a_bare_grid_file_is_a_map_named_after_the_file(tmp_path):
    path = tmp_path / "strip.txt"
    path.write_text("....\n>>>>\n....\n")
    city = load_map(str(path))
    assert city.name == "strip" and city.shape == (3, 4)
    assert city.traffic == Traffic()
    assert city.entry_cells == ((1, 0),)
    assert city.exit_cells == ((1, 3),)


def test_unknown_map_name_says_what_exists():
    with pytest.raises(ValueError, match="train"):
        load_map("atlantis")
    with pytest.raises(ValueError, match="random:SEED"):
        load_map("random:x")


def test_random_maps_are_seeded_and_city_sized():
    assert generate_city(7) == load_map("random:7")
    assert load_map("random:7") != load_map("random:8")
    for seed in range(30):
        city = generate_city(seed)
        rows, cols = city.shape
        assert 20 <= rows <= 24 and 20 <= cols <= 24
        assert city.entry_cells and city.sidewalk.any()
        assert set(city.traffic.speeds) == {1, 2}


def test_new_city_differs_from_the_training_city():
    train, new = load_map("train"), load_map("new")
    assert train.shape != new.shape
    assert new.traffic.entry_rate > train.traffic.entry_rate
    assert new.traffic.speed_weights[1] / sum(
        new.traffic.speed_weights
    ) > train.traffic.speed_weights[1] / sum(train.traffic.speed_weights)

    # its one-way streets run the other way: more lanes east than west and north than south
    def lanes(city, heading):
        return int((city.lane_heading == heading).sum())

    assert lanes(train, 3) > lanes(train, 1) and lanes(train, 2) > lanes(train, 0)
    assert lanes(new, 1) > lanes(new, 3) and lanes(new, 0) > lanes(new, 2)


@pytest.mark.parametrize("name", ["train", "new", "random:3"])
def test_lane_graph(name):
    city = load_map(name)
    rows, cols = city.shape
    for r in range(rows):
        for c in range(cols):
            if city.lane[r, c]:
                moves = city.successors((r, c), 0)
                assert len(moves) == 1  # a lane goes one way
            if city.intersection[r, c]:
                for heading in range(4):
                    probabilities = city.move_probabilities((r, c), heading)
                    if probabilities:
                        assert sum(p for _, _, p in probabilities) == pytest.approx(1.0)
            if not city.road[r, c]:
                with pytest.raises(ValueError):
                    city.successors((r, c), 0)
    for cell in city.entry_cells:
        heading = int(city.lane_heading[cell])
        assert not city.in_bounds(city.neighbor(cell, (heading + 2) % 4))
    for cell in city.exit_cells:
        assert any(nxt is None for h in range(4) for nxt, _ in city.successors(cell, h))


def test_turn_rules_at_an_intersection():
    city = CityMap.from_text(
        "\n".join(
            [
                "..v.",
                ">>+>",
                "..v.",
            ]
        )
    )
    # heading east: straight on, or right onto the southbound lane;
    # no left onto a lane heading south
    assert set(city.successors((1, 2), 1)) == {((1, 3), 1), ((2, 2), 2)}
    probabilities = {
        move[:2]: move[2] for move in city.move_probabilities((1, 2), 1, turn_probability=0.3)
    }
    assert probabilities == {((1, 3), 1): pytest.approx(0.7), ((2, 2), 2): pytest.approx(0.3)}
    # heading south: straight on, or left onto the eastbound lane; not right against its traffic
    assert city.successors((1, 2), 2) == (((2, 2), 2), ((1, 3), 1))
    assert city.successors((1, 3), 1) == ((None, 1),)


def grid_file(tmp_path, text: str):
    path = tmp_path / "bad_city.txt"
    path.write_text(text)
    return path


MALFORMED = {
    "empty file": ("", 1, 1, "empty map"),
    "header but no rows": ("[city]\nname = x\n[grid]\n\n", 4, 1, "empty map"),
    "ragged rows": ("....\n>>>>\n...\n", 3, 4, "row has 3 cells; expected 4"),
    "blank line inside the grid": ("....\n\n>>>>\n", 2, 1, "row has 0 cells"),
    "unknown character": ("....\n>>x>\n....\n", 2, 3, "unknown character 'x'"),
    "lane into a building": ("....\n>>#.\n....\n", 2, 2, "points into a building"),
    "lane into a sidewalk": ("....\n>>..\n....\n", 2, 2, "dead end"),
    "lanes head-on": ("....\n><<<\n....\n", 2, 1, "head-on"),
    "no sidewalk": (">>>>\n<<<<\n", 1, 1, "no sidewalk"),
    "no road entry": (".....\n.>v..\n.^<..\n.....\n", 1, 1, "no road entry"),
    "closed loop": ("......\n>>>v..\n.^<<..\n......\n", 2, 1, "never leave the map"),
    "intersection with no way out": ("....\n>+..\n....\n", 2, 2, "no way out"),
    "grid offset by a header": (
        "; a city\n[city]\nname = x\n[grid]\n....\n>>#.\n",
        6,
        2,
        "building",
    ),
    "number that is not a number": (
        "[traffic]\nentry_rate = lots\n[grid]\n>>\n..\n",
        2,
        14,
        "expected a number",
    ),
    "probability out of range": (
        "[traffic]\nentry_rate = 1.5\n[grid]\n>>\n..\n",
        2,
        14,
        "expected a probability",
    ),
    "speed too fast": ("[traffic]\nspeeds = 1 3\n[grid]\n>>\n..\n", 2, 10, "speeds of 1 to 2"),
    "weights not matching speeds": (
        "[traffic]\nspeeds = 1 2\nspeed_weights = 1\n[grid]\n>>\n..\n",
        3,
        17,
        "one weight per speed",
    ),
    "unknown key": ("[traffic]\nrate = 0.1\n[grid]\n>>\n..\n", 2, 1, "unknown key 'rate'"),
    "unknown section": ("[weather]\nrain = 1\n[grid]\n>>\n..\n", 1, 1, "unknown section"),
    "key outside a section": ("name = x\n[grid]\n>>\n..\n", 1, 1, "expected 'key = value'"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_maps_name_file_line_column_and_what_was_expected(tmp_path, case):
    text, line, column, fragment = MALFORMED[case]
    path = grid_file(tmp_path, text)
    with pytest.raises(MapError) as caught:
        load_map(str(path))
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.file, error.line, error.column) == (str(path), line, column), str(error)
    assert str(error).startswith(f"{path}:{line}:{column}: ")
    assert fragment in str(error)
    if case not in ("unknown section", "key outside a section", "unknown key"):
        assert "expected" in str(error)


def test_bad_dict_fails_with_map_error():
    data = load_map("train").to_dict()
    data["grid"][3] = data["grid"][3][:-1]
    with pytest.raises(MapError, match=r"<dict>:4:\d+: row has 19 cells"):
        CityMap.from_dict(data)
