"""The cars of a city: their moves, compiled from the map into a table, and one tick of
traffic (the cars move, new cars drive in) with the check of whether a car meets the
pedestrian. The simulation without the Gym surface: CityNav-v1 (``envs/city/env.py``)
advances it one tick a step. It follows the traffic rules of ``envs/city/citymap.py``
exactly.

A car is a state, ``cell * 4 + heading`` (cells numbered ``row * cols + col``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from envs.city.citymap import CityMap
from envs.city.mapformat import HEADING_STEPS, MAX_CAR_SPEED, Traffic

#: codes in the car move table: draw among several moves; leave the map heading h (EXIT - h)
CHOOSE, EXIT = -1, -2
#: uniforms drawn at a time, at least (the block size does not change the numbers drawn)
UNIFORM_BLOCK = 4096
NOWHERE: frozenset[int] = frozenset()  #: no cell near the pedestrian: it is absent
NO_WINDOW: dict[int, int] = {}  #: no observation window: the pedestrian is absent


class TrafficSimulation:
    """The traffic of one city: the car move table of its map, the cars and their
    random numbers. :meth:`start` begins a fresh city, :meth:`advance` runs one tick.

    ``rc`` is the (row, col) of each cell of the map, by flat index.
    """

    def __init__(self, city: CityMap, traffic: Traffic, rc: list[tuple[int, int]]):
        self.traffic = traffic
        self._rc = rc
        self._build_move_table(city)
        #: per car, oldest first: [state, speed, self._car_rows[speed]]
        self.cars: list[list[Any]] = []
        #: the cars in the observation window as info["cars"] rows, flattened
        self.seen_flat: list[int] = []
        self.rng: np.random.Generator | None = None
        #: when True, :meth:`advance` keeps in ``car_paths`` each car's path through the
        #: tick (for tests): ``(speed, [(row, col), ...])``, cells off the map included
        self.record_car_paths = False
        self.car_paths: list[tuple[int, list[tuple[int, int]]]] = []

    def _build_move_table(self, city: CityMap) -> None:
        """Each state's next state, an exit code or CHOOSE (then ``_choices`` holds the
        straight move, if any, and the turns); each state's row of info["cars"] per speed;
        the entries' states and the cells behind them, off the map."""
        rows, cols = city.shape

        def code(nxt: tuple[int, int] | None, heading: int) -> int:
            return EXIT - heading if nxt is None else (nxt[0] * cols + nxt[1]) * 4 + heading

        self._next_state = [EXIT] * (4 * rows * cols)
        self._choices: dict[int, tuple[int | None, tuple[int, ...]]] = {}
        road_cells = np.flatnonzero(city.road.reshape(-1)).tolist()
        for cell in road_cells:
            for h in range(4):
                state = cell * 4 + h
                moves = city.car_moves(self._rc[cell], h)
                if len(moves) == 1:
                    self._next_state[state] = code(moves[0][0], moves[0][1])
                elif moves:
                    straight = next((code(nxt, nh) for nxt, nh, turn in moves if not turn), None)
                    turns = tuple(code(nxt, nh) for nxt, nh, turn in moves if turn)
                    self._next_state[state] = CHOOSE
                    self._choices[state] = (straight, turns)
        #: per speed v, per state of a road cell: its info["cars"] row (row, col, heading, v)
        self._car_rows: dict[int, list[tuple[int, int, int, int] | None]] = {}
        for speed in range(1, MAX_CAR_SPEED + 1):
            car_rows: list[tuple[int, int, int, int] | None] = [None] * (4 * rows * cols)
            for cell in road_cells:
                r, c = self._rc[cell]
                for h in range(4):
                    car_rows[cell * 4 + h] = (r, c, h, speed)
            self._car_rows[speed] = car_rows
        headings = [int(city.lane_heading[cell]) for cell in city.entry_cells]
        self._entries = [
            (r * cols + c) * 4 + h for (r, c), h in zip(city.entry_cells, headings, strict=True)
        ]
        self._entry_back = [
            (r - HEADING_STEPS[h][0], c - HEADING_STEPS[h][1])
            for (r, c), h in zip(city.entry_cells, headings, strict=True)
        ]
        self._occupied = bytearray(rows * cols)

    # -- the random numbers of the traffic -----------------------------------------------

    def start(self, seed: int, warmup_ticks: int) -> None:
        """A fresh city: no cars, a generator seeded with ``seed``, ``warmup_ticks`` ticks."""
        self.rng = np.random.default_rng(seed)
        self._uniforms = self.rng.random(UNIFORM_BLOCK).tolist()
        self._u = 0
        weights = self.traffic.speed_weights
        self._speed_total = float(sum(weights))
        self._speed_cdf = [
            (s, float(sum(weights[: j + 1]))) for j, s in enumerate(self.traffic.speeds)
        ]
        self.cars = []
        self.seen_flat = []
        self._occupied = bytearray(len(self._occupied))
        self._next_entry = [self._entry_gap(self.rng.random()) for _ in self._entries]
        self._next_any_entry = min(self._next_entry)
        self._tick = 0
        for _ in range(warmup_ticks):
            self.advance(-1, -1, NOWHERE, NO_WINDOW, None)

    def _entry_gap(self, uniform: float) -> int:
        """Ticks until an entry's next car: geometric with success chance ``entry_rate``."""
        rate = self.traffic.entry_rate
        if rate >= 1.0:
            return 1
        if rate <= 0.0:
            return 1 << 62
        return 1 + int(math.log(1.0 - uniform) / math.log(1.0 - rate))

    def _new_speed(self, uniform: float) -> int:
        scaled = uniform * self._speed_total
        for speed, cumulative in self._speed_cdf:
            if scaled < cumulative:
                return speed
        return self._speed_cdf[-1][0]

    # -- what is seen of the cars --------------------------------------------------------

    def show(self, window: dict[int, int], obs: np.ndarray) -> None:
        """Write the cars on the ``window``'s cells into ``obs`` and ``seen_flat``."""
        seen: list[int] = []
        for state, speed, rows in self.cars:
            base = window.get(state >> 2)
            if base is not None:
                obs[base + 6 + (state & 3)] = 1.0
                obs[base + 10] = speed / MAX_CAR_SPEED
                seen.extend(rows[state])
        self.seen_flat = seen

    def all_car_rows(self) -> np.ndarray:
        """Every car, in sight or not, as rows of ``info["cars"]``, oldest first."""
        return np.array(
            [v for state, _, rows in self.cars for v in rows[state]], dtype=np.int64
        ).reshape(-1, 4)

    # -- one tick ------------------------------------------------------------------------

    def advance(
        self,
        p0: int,
        p1: int,
        near: frozenset[int],
        window: dict[int, int],
        obs: np.ndarray | None,
    ) -> bool:
        """One tick of traffic; writes the cars on ``window``'s cells into ``obs``; True if
        a car met the pedestrian.

        The pedestrian walks from cell ``p0`` to ``p1`` during the tick (-1: absent);
        ``near`` holds the cells a car must start the tick on to meet it (see
        ``envs/city/observation.py``), ``window`` maps the cells it sees at the tick's end
        to their place in ``obs``.
        """
        tick = self._tick = self._tick + 1
        occupied = self._occupied
        next_state, choices = self._next_state, self._choices
        p_turn = self.traffic.turn_probability
        record = self.record_car_paths
        if record:
            self.car_paths = []
        # enough uniforms for the tick: at most one per car move, two per new car
        uniforms, u = self._uniforms, self._u
        needed = 2 * len(self.cars) + 2 * len(self._entries)
        if len(uniforms) - u < needed:
            uniforms = self._uniforms = (
                uniforms[u:] + self.rng.random(max(UNIFORM_BLOCK, needed)).tolist()
            )
            u = 0
        flat: list[int] = []
        death = left_map = False
        for car in self.cars:
            state, speed, rows = car
            cell = state >> 2
            # only cars near the pedestrian can meet it: keep their path through the tick
            close = cell in near
            path = [state] if (close or record) else None
            for _ in range(speed):
                nxt = next_state[state]
                if nxt < 0:
                    if nxt == CHOOSE:
                        straight, turns = choices[state]
                        draw = uniforms[u]
                        u += 1
                        if straight is None:
                            nxt = turns[int(draw * len(turns))]
                        elif draw >= p_turn:
                            nxt = straight
                        else:
                            nxt = turns[int(draw / p_turn * len(turns))]
                    if nxt < 0:  # it leaves the map
                        occupied[cell] = 0
                        if path is not None:
                            path.append(nxt)
                        state = -1
                        left_map = True
                        break
                ahead = nxt >> 2
                if occupied[ahead]:
                    break
                occupied[cell] = 0
                occupied[ahead] = 1
                state, cell = nxt, ahead
                if path is not None:
                    path.append(state)
            car[0] = state
            if path is not None:
                if record:
                    self.car_paths.append((speed, self._path_cells(path)))
                # grid paths cross only at cell centres, and the pedestrian is at one after
                # t = 0 only if it is p1: a car that never drives onto p1 cannot meet it
                if close and not death and any((s >> 2) == p1 for s in path):
                    death = _meets(self._path_cells(path), speed, self._rc[p0], self._rc[p1])
            if state >= 0:
                base = window.get(cell)
                if base is not None:
                    flat.extend(rows[state])
                    obs[base + 6 + (state & 3)] = 1.0
                    obs[base + 10] = speed / MAX_CAR_SPEED
        if left_map:
            self.cars = [car for car in self.cars if car[0] >= 0]

        if tick >= self._next_any_entry:
            next_entry = self._next_entry
            for e, state in enumerate(self._entries):
                if next_entry[e] > tick:
                    continue
                next_entry[e] = tick + self._entry_gap(uniforms[u])
                cell = state >> 2
                if occupied[cell]:
                    u += 1
                    continue  # the entry is blocked: this car never comes
                speed = self._new_speed(uniforms[u + 1])
                u += 2
                rows = self._car_rows[speed]
                self.cars.append([state, speed, rows])
                occupied[cell] = 1
                if record:
                    self.car_paths.append((1, [self._entry_back[e], self._rc[cell]]))
                if cell == p1:
                    death = True  # it drives in onto the pedestrian at the end of the tick
                base = window.get(cell)
                if base is not None:
                    flat.extend(rows[state])
                    obs[base + 6 + (state & 3)] = 1.0
                    obs[base + 10] = speed / MAX_CAR_SPEED
            self._next_any_entry = min(next_entry)
        self._u = u
        self.seen_flat = flat
        return death

    def _path_cells(self, path: list[int]) -> list[tuple[int, int]]:
        """Car states (and exit codes, off the map) as (row, col) cells."""
        cells = []
        for state in path:
            if state >= 0:
                cells.append(self._rc[state >> 2])
            else:
                dr, dc = HEADING_STEPS[EXIT - state]
                cells.append((cells[-1][0] + dr, cells[-1][1] + dc))
        return cells


def _meets(
    path: list[tuple[int, int]], speed: int, p0: tuple[int, int], p1: tuple[int, int]
) -> bool:
    """Whether a car and the pedestrian are ever at one point during a tick.

    The car drives along ``path`` (cell centres, reached at times 0, 1/speed, 2/speed,
    ... and stays at the last); the pedestrian walks straight from ``p0`` to ``p1`` over
    the tick. Meetings happen at multiples of 1/12 of a tick (positions at the pieces'
    starts are half-cells, relative speeds at most 3), so checking those instants,
    in integer twelfths of a cell, is exact.
    """
    last = len(path) - 1
    pr, pc = 12 * p0[0], 12 * p0[1]
    dr, dc = p1[0] - p0[0], p1[1] - p0[1]
    for t in range(13):
        travelled = speed * t
        segment = travelled // 12
        if segment >= last:
            cr, cc = 12 * path[last][0], 12 * path[last][1]
        else:
            frac = travelled - 12 * segment
            (ar, ac), (br, bc) = path[segment], path[segment + 1]
            cr, cc = 12 * ar + (br - ar) * frac, 12 * ac + (bc - ac) * frac
        if cr == pr + dr * t and cc == pc + dc * t:
            return True
    return False
