"""Plain numpy drawing of a city: one square of ``CELL_PX`` pixels per cell."""

from __future__ import annotations

import numpy as np

from envs.city.citymap import CityMap
from envs.city.mapformat import HEADING_STEPS

CELL_PX = 12  #: pixels per cell side

COLORS = {  # RGB
    "building": (92, 84, 78),
    "sidewalk": (206, 203, 196),
    "lane": (64, 66, 72),
    "intersection": (78, 80, 86),
    "arrow": (120, 122, 128),
    "zebra": (236, 236, 236),
    "car_slow": (52, 110, 220),
    "car_fast": (220, 60, 50),
    "headlight": (255, 236, 120),
    "pedestrian": (40, 170, 70),
    "goal": (250, 200, 30),
}


def draw_background(city: CityMap, cell_px: int = CELL_PX) -> np.ndarray:
    """The still city: buildings, sidewalks, lanes with a mark showing their direction,
    intersections and zebra stripes. Shape (rows * cell_px, cols * cell_px, 3), uint8."""
    rows, cols = city.shape
    image = np.zeros((rows, cols, 3), dtype=np.uint8)
    image[city.blocked] = COLORS["building"]
    image[city.sidewalk] = COLORS["sidewalk"]
    image[city.lane] = COLORS["lane"]
    image[city.intersection] = COLORS["intersection"]
    image = image.repeat(cell_px, axis=0).repeat(cell_px, axis=1)
    middle, quarter = cell_px // 2, cell_px // 4
    for r, c in zip(*np.nonzero(city.lane), strict=True):
        block = image[r * cell_px : (r + 1) * cell_px, c * cell_px : (c + 1) * cell_px]
        heading = int(city.lane_heading[r, c])
        if city.crossing[r, c]:
            # stripes run along the traffic, so walkers cross them
            stripes = np.zeros((cell_px, cell_px), dtype=bool)
            if heading in (1, 3):
                stripes[:, 1::3] = True
            else:
                stripes[1::3, :] = True
            block[stripes] = COLORS["zebra"]
            continue
        # a short dash from the cell centre towards where traffic goes
        dr, dc = HEADING_STEPS[heading]
        for step in range(quarter + 1):
            y, x = middle + dr * step, middle + dc * step
            block[y - 1 : y + 1, x - 1 : x + 1] = COLORS["arrow"]
    return image


def draw_city(
    background: np.ndarray,
    cars: np.ndarray,
    pedestrian: tuple[int, int],
    goal: tuple[int, int],
    sight_box: tuple[int, int, int, int] | None = None,
    cell_px: int = CELL_PX,
) -> np.ndarray:
    """``background`` with the goal, the cars (blue: 1 cell/tick, red: faster; a light
    on the side they head to) and the pedestrian painted on. Every car is drawn, for the
    human eye; outside ``sight_box`` (first row, first col, last row, last col: the cells
    the agents see) the picture is dimmed, so what the agents are not shown stands out."""
    image = background.copy()
    inset = max(1, cell_px // 6)

    def fill(r: int, c: int, color: tuple[int, int, int], margin: int) -> None:
        image[
            r * cell_px + margin : (r + 1) * cell_px - margin,
            c * cell_px + margin : (c + 1) * cell_px - margin,
        ] = color

    fill(*goal, COLORS["goal"], 0)
    middle = cell_px // 2
    for r, c, heading, speed in np.asarray(cars).reshape(-1, 4):
        fill(r, c, COLORS["car_fast" if speed > 1 else "car_slow"], inset)
        dr, dc = HEADING_STEPS[heading]
        y = r * cell_px + middle + dr * (middle - inset - 2)
        x = c * cell_px + middle + dc * (middle - inset - 2)
        image[y - 1 : y + 2, x - 1 : x + 2] = COLORS["headlight"]
    fill(*pedestrian, COLORS["pedestrian"], cell_px // 4)
    if sight_box is not None:
        r0, c0, r1, c1 = (edge * cell_px for edge in sight_box)
        in_sight = image[r0 : r1 + cell_px, c0 : c1 + cell_px].copy()
        image //= 2  # out of sight: half as bright
        image[r0 : r1 + cell_px, c0 : c1 + cell_px] = in_sight
    return image
