"""Vietnamese natural-language understanding for citizen field reports.

One entry point: build an engine once with `load_nlu(...)`, then call
`engine.understand(text)` for every message. Nothing here talks to the
network, and nothing heavy happens at import time.
"""

from nlu.engine import Nlu, load_nlu
from nlu.text import fold
from nlu.types import CategoryScore, Entities, Location, NluResult

__all__ = ["CategoryScore", "Entities", "Location", "Nlu", "NluResult", "fold", "load_nlu"]
