"""The city world: a pedestrian crossing a grid city with one-way traffic
(``sandbox/CityNav-v1``)."""

from envs.city.citymap import CityMap
from envs.city.env import CityNavEnv
from envs.city.mapformat import MapError, Traffic
from envs.city.maploader import builtin_map_names, load_map

__all__ = ["CityMap", "CityNavEnv", "MapError", "Traffic", "builtin_map_names", "load_map"]
