"""A local Microsoft Graph for the people-data connector (reference/lms-apis.md §3): OAuth 2
client credentials, users, external connections with a people schema, items, throttling.
Choices the reference does not settle live in :mod:`.unconfirmed`."""

from include.simulators.graph.app import GraphSimulator, build_simulator
from include.simulators.graph.state import GraphState

__all__ = ["GraphSimulator", "GraphState", "build_simulator"]
