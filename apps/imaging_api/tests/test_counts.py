"""What the shared count cache may hold: values that come back from JSON exactly as they went in."""

from imaging_api.studies import counts


def test_totals_and_groupings_go_through_json_unchanged() -> None:
    for value in (0, 1_000_000, [], [("CT", 3), ("MR", 1)], [(None, 2), ("2024-01", 5)]):
        text = counts._encode(value)
        assert text is not None
        assert counts._decode(counts.json.loads(text)) == value


def test_values_json_would_change_are_not_shared() -> None:
    assert counts._encode({1: 2}) is None  # the key would come back as "1"
    assert counts._encode([(1.5, object())]) is None
    assert counts._encode(("CT", 3)) is None  # a tuple would come back as a list


def test_a_key_has_one_digest_everywhere() -> None:
    assert counts.key_digest(("grouped", None, "month")) == counts.key_digest(("grouped", None, "month"))
    assert counts.key_digest(("rows", "examinations")) != counts.key_digest(("rows", "reports"))
