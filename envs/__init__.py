"""The sandbox's worlds. Every registered environment id lives here."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ROCKET_ID = "sandbox/RocketLaunch-v0"
FLIGHT_ID = "sandbox/RocketFlight-v0"
CITY_ID = "sandbox/CityNav-v1"

if ROCKET_ID not in registry:
    register(id=ROCKET_ID, entry_point="envs.rocket.env:RocketLaunchEnv")
if FLIGHT_ID not in registry:
    register(id=FLIGHT_ID, entry_point="envs.rocket.flight_env:RocketFlightEnv")
if CITY_ID not in registry:
    register(id=CITY_ID, entry_point="envs.city.env:CityNavEnv")
