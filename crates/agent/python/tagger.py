"""Datadog's `tagger` builtin module. dogwatch has no container tagger: every entity has no tags."""

LOW = 0
ORCHESTRATOR = 1
HIGH = 2
NONE = 3


def tag(entity, cardinality):
    return []


def get_tags(entity, high_card=False):
    return []
