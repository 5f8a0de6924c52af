"""The office's policy: every setting the compute functions apply, as one immutable value.

Built from the stored settings by `analysis.settings.policy(store)` (which falls back to the code constants for
anything not stored or no longer valid). Compute functions take a Policy, or the part of it they need, as an
argument and keep no built-in fallback of their own, so what a preview computes is what runs live.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.grading import Deadline, GradingThresholds
from analysis.sensitive import SensitivePeriod


@dataclass(frozen=True)
class Proposals:
    """How the tick proposes, attaches and grows incidents (setting `incident_proposals`)."""

    min_severity: str       # low | medium | high: alerts at least this severe propose an incident
    attach_hours: float     # a new burst on a topic joins an incident whose last post is this recent
    lookback_hours: float   # alerts of this many recent hours are considered
    grow_quiet_hours: float  # an open incident takes in matching posts this long after its last one


@dataclass(frozen=True)
class Policy:
    tier_set: str                                   # the tier set new incidents are graded in
    thresholds: GradingThresholds
    deadlines: tuple[Deadline, ...]
    periods: tuple[SensitivePeriod, ...]            # sensitive periods, tightening alert and grading thresholds
    mainstream_sites: tuple[str, ...]
    proposals: Proposals
    targets: tuple[dict, ...]                       # notification targets (with secrets: never log them)
