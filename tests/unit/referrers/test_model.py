"""mirror.referrers.model: tag names, ``--referrers-types``, the fallback-index merge (pure)."""

from __future__ import annotations

import json

import pytest

from mirror.errors import InputError, ProtocolError
from mirror.referrers import ALIASES, Referrer, ReferrerOptions, ReferrerOutcome, parse_types, referrers_tag
from mirror.referrers.model import cosign_tag, merge_index

SHA = "sha256:" + "a" * 64
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.mark.parametrize(
    ("digest", "tag"),
    [
        (SHA, "sha256-" + "a" * 64),
        ("sha512:" + "b" * 128, "sha512-" + "b" * 64),  # the encoded part cut to 64
        # the algorithm cut to 32, and what a tag cannot hold (+, =) made '-'
        ("test+algorithm+using+algorithm+separators+and+lots+of+characters:"
         "alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharacters",
         "test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot"),
    ],
)
def test_referrers_tag_follows_the_tag_schema(digest: str, tag: str) -> None:
    assert referrers_tag(digest) == tag
    assert len(tag) <= 128


def test_cosign_tags() -> None:
    assert cosign_tag(SHA, ".sig") == "sha256-" + "a" * 64 + ".sig"


def test_aliases_select_types_and_cosign_tags() -> None:
    types, cosign = parse_types("sig, sbom")
    assert types == ALIASES["sig"] | ALIASES["sbom"]
    assert cosign == (".sig", ".sbom")
    types, cosign = parse_types("application/vnd.in-toto+json,ATT")
    assert "application/vnd.in-toto+json" in types and cosign == (".att",)
    assert parse_types("Application/Example.Type+JSON") == (frozenset({"application/example.type+json"}), ())


@pytest.mark.parametrize("text", ["", " , ", "signature", "application/", "a b/c", "x" * 300])
def test_bad_types_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match="--referrers-types"):
        parse_types(text)


def test_the_registry_is_asked_to_filter_only_for_one_type() -> None:
    assert ReferrerOptions().server_filter is None
    assert ReferrerOptions(types=frozenset({"a/b"})).server_filter == "a/b"
    assert ReferrerOptions(types=ALIASES["sig"]).server_filter is None
    options = ReferrerOptions(types=frozenset({"a/b"}))
    assert options.selects("A/B") and not options.selects("a/c") and not options.selects(None)
    assert ReferrerOptions().selects(None)  # no filter: an index without artifactType too


def _entry(digest: str, **extra: object) -> str:
    return json.dumps({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 9,
                       **extra})


def test_merge_starts_an_index_and_adds_only_what_is_not_listed() -> None:
    fresh = merge_index(None, [_entry("sha256:1", artifactType="x/y")], "tag")
    assert fresh is not None
    doc = json.loads(fresh)
    assert doc["mediaType"] == OCI_INDEX and doc["schemaVersion"] == 2
    assert [m["digest"] for m in doc["manifests"]] == ["sha256:1"]
    assert merge_index(fresh, [_entry("sha256:1")], "tag") is None  # listed already: nothing to write


def test_merge_keeps_other_tools_entries_and_fields_as_they_are() -> None:
    other = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:other", "size": 1,
             "artifactType": "application/vnd.example", "annotations": {"b": "2", "a": "1"}, "x-extra": [1, 2]}
    existing = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [other],
                           "annotations": {"kept": "yes"}}, indent=4).encode()
    merged = merge_index(existing, [_entry("sha256:new"), _entry("sha256:new")], "tag")
    assert merged is not None
    doc = json.loads(merged)
    assert doc["manifests"][0] == other
    assert [m["digest"] for m in doc["manifests"]] == ["sha256:other", "sha256:new"]
    assert doc["annotations"] == {"kept": "yes"}


@pytest.mark.parametrize("existing", [b"not json", b"[]", b'{"mediaType": "application/vnd.oci.image.manifest.v1+json"}',
                                      b'{"manifests": {}}'])
def test_a_referrers_tag_that_is_no_index_is_left_alone(existing: bytes) -> None:
    with pytest.raises(ProtocolError, match="is not an image index"):
        merge_index(existing, [_entry("sha256:1")], "the tag")


def test_a_listed_referrer_keeps_its_descriptor_and_needs_a_digest() -> None:
    raw = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": SHA, "size": 5,
           "artifactType": "application/spdx+json", "annotations": {"k": "v"}}
    referrer = Referrer.listed(raw, "sha256:s", "here")
    assert (referrer.digest, referrer.size, referrer.artifact_type) == (SHA, 5, "application/spdx+json")
    assert json.loads(referrer.descriptor) == raw
    assert "application/spdx+json of sha256:s" in str(referrer)
    with pytest.raises(ProtocolError, match="here"):
        Referrer.listed({"digest": SHA}, "sha256:s", "here")
    with pytest.raises(ProtocolError, match="here: a referrer with the digest '../x'"):
        Referrer.listed({**raw, "digest": "../x"}, "sha256:s", "here")


def test_a_second_line_sees_what_the_first_copied_as_present() -> None:
    first = ReferrerOutcome(copied=("a",), present=("b",), failed=("c: no",))
    assert first.seen_by_another() == ReferrerOutcome(present=("b", "a"), failed=("c: no",))
    assert first + ReferrerOutcome(skipped=("d",)) == ReferrerOutcome(("a",), ("b",), ("c: no",), ("d",))
