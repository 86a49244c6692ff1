"""The rocket world: a launch from a parking orbit toward a moving moon."""

from envs.rocket.world import Constants, RocketWorld, WorldError, load_world, preset_names

__all__ = ["Constants", "RocketWorld", "WorldError", "load_world", "preset_names"]
