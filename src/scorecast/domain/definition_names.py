"""Generated job definition names, ``adjective_animal`` like DataRobot's (``supportive_frogmouth``).

Pure: the caller passes the random source and the predicate that says whether a name is taken,
so the service can check its organization's names and tests can be deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

ADJECTIVES: Final = (
    "agile", "amber", "ancient", "autumn", "bold", "brave", "breezy", "bright", "brisk", "calm",
    "careful", "cheerful", "clever", "cosmic", "crimson", "curious", "daring", "dawn", "eager",
    "early", "earnest", "electric", "elegant", "emerald", "fearless", "festive", "fluent",
    "friendly", "gentle", "gifted", "glad", "golden", "graceful", "grand", "happy", "hardy",
    "honest", "humble", "jolly", "keen", "kind", "lively", "loyal", "lucky", "lunar", "majestic",
    "mellow", "merry", "mighty", "modest", "nimble", "noble", "patient", "placid", "polite",
    "proud", "quick", "quiet", "radiant", "rapid", "rustic", "serene", "sharp", "shiny", "silent",
    "silver", "sincere", "smooth", "solar", "steady", "stellar", "sturdy", "sunny", "supportive",
    "swift", "tidy", "tranquil", "trusty", "upbeat", "valiant", "vivid", "warm", "wise", "witty",
    "zealous", "zesty",
)  # fmt: skip

ANIMALS: Final = (
    "albatross", "alpaca", "antelope", "armadillo", "badger", "beaver", "bison", "bobcat",
    "buffalo", "camel", "capybara", "caribou", "cheetah", "chinchilla", "condor", "cormorant",
    "coyote", "crane", "dingo", "dolphin", "dormouse", "eagle", "echidna", "egret", "elk",
    "falcon", "ferret", "finch", "flamingo", "frogmouth", "gazelle", "gecko", "gibbon", "giraffe",
    "gopher", "heron", "hedgehog", "ibex", "ibis", "jackal", "jaguar", "kestrel", "kingfisher",
    "koala", "lemur", "leopard", "llama", "lynx", "macaw", "magpie", "manatee", "marmot",
    "meerkat", "mongoose", "moose", "narwhal", "ocelot", "okapi", "opossum", "osprey", "otter",
    "panda", "pangolin", "pelican", "penguin", "platypus", "puffin", "quokka", "quail", "raccoon",
    "raven", "reindeer", "salamander", "seal", "sparrow", "squirrel", "stork", "swift", "tapir",
    "toucan", "turtle", "vole", "wallaby", "walrus", "wombat", "wren", "yak", "zebra",
)  # fmt: skip

#: Plain two-word attempts before a numeric suffix is added.
PLAIN_ATTEMPTS: Final = 20


def generate_name(rng: random.Random, is_taken: Callable[[str], bool]) -> str:
    """A name ``adjective_animal`` for which ``is_taken`` is false, suffixed ``_N`` if need be.

    After ``PLAIN_ATTEMPTS`` collisions a random number suffix (2 to 999999) is added, so the
    space is large enough for any real organization.
    """
    attempt = 0
    while True:
        name = f"{rng.choice(ADJECTIVES)}_{rng.choice(ANIMALS)}"
        if attempt >= PLAIN_ATTEMPTS:
            name = f"{name}_{rng.randrange(2, 1_000_000)}"
        if not is_taken(name):
            return name
        attempt += 1
