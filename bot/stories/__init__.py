"""Online story grouping (pure, in memory): see :mod:`bot.stories.cluster`."""

from bot.stories.cluster import Assignment, ClusterParams, Doc, Merge, StoryClusterer, StoryView
from bot.stories.evaluate import BCubed, bcubed

__all__ = [
    "Assignment",
    "BCubed",
    "ClusterParams",
    "Doc",
    "Merge",
    "StoryClusterer",
    "StoryView",
    "bcubed",
]
