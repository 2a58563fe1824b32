import itertools

from connecthub.clock import epoch_ms
from connecthub.ids import id_for_time, id_to_ms, new_id


def test_ids_are_unique_64_bit_and_ordered_by_time():
    before = epoch_ms()
    ids = [new_id() for _ in range(50_000)]
    after = epoch_ms()
    assert len(set(ids)) == len(ids)
    assert all(0 < value < 2**63 for value in ids)
    assert all(before <= id_to_ms(value) <= after for value in ids)
    # Ids from a later millisecond always sort after ids from an earlier one.
    assert all(id_to_ms(a) <= id_to_ms(b) for a, b in itertools.pairwise(ids))


def test_time_bounds_bracket_ids_made_in_that_millisecond():
    value = new_id()
    ms = id_to_ms(value)
    assert id_for_time(ms) <= value < id_for_time(ms + 1)
