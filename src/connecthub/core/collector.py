"""The garbage collector's thresholds for ConnectHub's processes.

CPython's default (700, 10, 10) runs a full collection whenever the long-lived heap has
grown by a quarter, and ten thousand open sockets are over a million tracked objects: each
full pass stopped the server's event loop for 200-600 ms (measured with gc.callbacks while
5,000 sockets opened and took a fan-out). Young collections every 10,000 allocations and
full ones after 50 x 100 of them keep those passes rare; garbage cycles still get collected.
The same holds while a process imports the app (over a million objects that live as long
as it does): with the defaults its collections were ~0.5 of ~2.4 CPU-s, with these ~0.1."""

import gc

THRESHOLDS = (10_000, 50, 100)


def use_long_lived_thresholds() -> tuple[int, int, int]:
    """Sets THRESHOLDS; returns the thresholds they replace."""
    previous = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    return previous
