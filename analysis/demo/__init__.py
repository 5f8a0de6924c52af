"""The demo: deterministic Chinese posts of the fictional 金城市 with four embedded incidents, and what loads them.

`corpus` holds the data (channels, rhythms, texts, the incidents' specs), `generator` draws the posts from it
(see its docstring for what the demo contains), `loader` records the incidents and alerts in a store.
"""

from analysis.demo.corpus import MAINSTREAM_SITES, MIN_DAYS, REGIONS
from analysis.demo.generator import account_rows, embedded_incidents, generate_posts
from analysis.demo.loader import load_alerts, load_incidents

__all__ = ["MAINSTREAM_SITES", "MIN_DAYS", "REGIONS", "account_rows", "embedded_incidents", "generate_posts",
           "load_alerts", "load_incidents"]
