"""ActiveMQ's composite destinations and virtual topics, as measured on ActiveMQ 5.17.2 (issue 15).

A composite destination is a comma-separated list of names (`/queue/A,/topic/B,C`): a SEND
to it reaches each part, each part named by the same rule as a whole name (`/queue/X`,
`/topic/X`, and anything else a queue named by the whole part, so `topic://B` is the queue
`topic://B`, not the topic B). Each copy's MESSAGE says the part it came through as
`destination` and the whole list as `original-destination`, written the way ActiveMQ writes
it: the first part with its STOMP prefix, the others as `queue://X` or `topic://X`
(`/queue/A,topic://B`). The copies share one message-id. A SUBSCRIBE to a list reads its
parts (spanning.py).

A virtual topic is a topic whose name starts `VirtualTopic.`: each message sent to it is also
copied to every queue named `Consumer.NAME.VirtualTopic.X` that exists at that moment (a
consumer group: its subscribers compete, round robin); a message sent before a group's queue
exists is not copied to it, and one sent while the group has no subscriber waits on its queue.
The copies carry `original-destination:/topic/VirtualTopic.X`.
"""

from __future__ import annotations

VIRTUAL_PREFIX = "VirtualTopic."
CONSUMER_PREFIX = "/queue/Consumer."


_PREFIXES = ("/queue/", "/topic/", "/temp-queue/", "/temp-topic/", "/remote-temp-queue/", "/remote-temp-topic/")


def parts(name: str) -> list[str] | None:
    """The parts of a composite name, in order, each with its prefix; None where ActiveMQ closes the connection.

    Measured (SEND and SUBSCRIBE alike): empty parts at the end are left out (`/queue/A,,` is
    `/queue/A`, as Java's `String.split` drops them), an empty part before another closes the
    connection without a frame (`/queue/A,,/queue/B`, `,/queue/A`); blanks around a part's name
    are trimmed (`/queue/ B` is the queue B), a blank part is left out, and a part without a STOMP
    prefix is the queue named by the whole part, trimmed (`B` the queue B, ` /queue/B` the queue
    named `/queue/B`).
    """
    written = _java_trim(name).split(",")
    while written and not written[-1]:
        written.pop()
    if "" in written:
        return None
    found = []
    for part in written:
        prefix = next((prefix for prefix in _PREFIXES if part.startswith(prefix)), None)
        if prefix is not None:
            found.append(prefix + _java_trim(part[len(prefix) :]))
        elif _java_trim(part):
            found.append("/queue/" + _java_trim(part))
    return found


def _java_trim(text: str) -> str:
    """Java's `String.trim`: every character up to U+0020 goes from both ends (Python's `strip` takes others)."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def original_destination(resolved: list[tuple[str, str]]) -> str:
    """The `original-destination` header of a composite SEND's copies, from its parts' (kind, canonical name)."""
    written = []
    for index, (kind, name) in enumerate(resolved):
        bare = name.split("/", 2)[2] if name.startswith(("/queue/", "/topic/")) else name
        written.append(f"/{kind}/{bare}" if index == 0 else f"{kind}://{bare}")
    return ",".join(written)


def virtual_topic(name: str) -> str | None:
    """The virtual topic (`/topic/VirtualTopic.X`) a consumer queue (`/queue/Consumer.NAME.VirtualTopic.X`) reads."""
    if not name.startswith(CONSUMER_PREFIX):
        return None
    group, dot, rest = name[len(CONSUMER_PREFIX) :].partition(".")
    if not group or not dot or not rest.startswith(VIRTUAL_PREFIX) or len(rest) == len(VIRTUAL_PREFIX):
        return None
    return "/topic/" + rest


def is_virtual_topic(name: str) -> bool:
    return name.startswith("/topic/" + VIRTUAL_PREFIX) and len(name) > len("/topic/" + VIRTUAL_PREFIX)
