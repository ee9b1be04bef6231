"""images-list: parsing with line numbers, comments, duplicates, sorting, safe concurrent writes."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from mirror import imageslist, ref, safewrite
from mirror.errors import ImagesListError, InputError
from mirror.imageslist import ImagesList, Line
from mirror.versionsort import version_sorted

HEADER = "# Keep this list sorted.\n# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n"


def lst(*lines: str) -> str:
    return "".join(f"{line}\n" for line in lines)


# ---- parsing ---------------------------------------------------------------------------------


def test_parse_entries_with_line_numbers_and_normalised_refs() -> None:
    text = HEADER + lst(
        "flannel/flannel rancher/mirrored-flannel-flannel v0.25.1",
        "// about calico",
        "quay.io/calico/node\trancher/mirrored-calico-node   v3.29.0",
        "",
        "busybox rancher/mirrored-library-busybox 1.36.1",
    )
    parsed = imageslist.parse(text, path="lists/images-list")
    assert [(line.lineno, line.tag) for line in parsed] == [(3, "v0.25.1"), (5, "v3.29.0"), (7, "1.36.1")]
    flannel, calico, busybox = parsed.lines
    assert flannel.source == ref.parse("docker.io/flannel/flannel")
    assert flannel.destination == ref.parse("docker.io/rancher/mirrored-flannel-flannel")
    assert busybox.source.name == "docker.io/library/busybox"
    assert str(busybox.source_image) == "docker.io/library/busybox:1.36.1"
    assert str(calico.destination_image) == "docker.io/rancher/mirrored-calico-node:v3.29.0"
    # the text is kept exactly as written (tabs and runs of spaces too)
    assert calico.text == "quay.io/calico/node\trancher/mirrored-calico-node   v3.29.0"
    assert calico.comments == ("// about calico",)
    assert busybox.comments == ("",)
    assert parsed.header == tuple(HEADER.splitlines())
    assert len(parsed) == 3
    assert parsed.path == "lists/images-list"


def test_hash_and_slash_comments_anywhere_are_not_entries() -> None:
    text = lst(
        "# header",
        "a/b rancher/b 1",
        "#a/b rancher/b 2",
        "  // a/b rancher/b 3",
        "   # indented",
        "a/b rancher/b 4",
    )
    assert [line.tag for line in imageslist.parse(text)] == ["1", "4"]


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ("flannel/flannel rancher/mirrored-flannel-flannel", "3 fields"),
        ("flannel/flannel rancher/mirrored-flannel-flannel v1 extra", "3 fields"),
        ("Flannel/flannel rancher/mirrored-flannel-flannel v1", "lower case"),
        ("flannel//flannel rancher/mirrored-flannel-flannel v1", "empty"),
        ("flannel/flannel rancher/mirrored-flannel-flannel -v1", "tag"),
        ("flannel/flannel:v1 rancher/mirrored-flannel-flannel v1", "must not carry a tag"),
        ("flannel/flannel@sha256:" + "a" * 64 + " rancher/m v1", "must not carry a tag or digest"),
        ("flannel/flannel rancher/mirrored-flannel-flannel:v1 v1", "must not carry a tag"),
    ],
)
def test_bad_line_reports_path_and_line(bad_line: str, fragment: str) -> None:
    text = HEADER + lst(*(f"repo/img{i} rancher/img{i} 1.0" for i in range(4)), bad_line, "repo/z rancher/z 1")
    with pytest.raises(ImagesListError) as caught:
        imageslist.parse(text, path="images-list")
    assert isinstance(caught.value, InputError)
    assert caught.value.problems == [caught.value.problems[0]]
    problem = caught.value.problems[0]
    assert problem.startswith("images-list:7: ")
    assert fragment in problem
    assert bad_line.split()[0] in problem


def test_every_bad_line_is_reported_at_once() -> None:
    text = lst("a/b rancher/b 1", "only-two fields", "a/b rancher/b 2", "UPPER/x rancher/x 1")
    with pytest.raises(ImagesListError) as caught:
        imageslist.parse(text, path="L")
    assert [problem.split(": ")[0] for problem in caught.value.problems] == ["L:2", "L:4"]
    assert ":2:" in str(caught.value) and ":4:" in str(caught.value)


def test_non_strict_parse_keeps_good_lines_and_lists_problems() -> None:
    parsed = imageslist.parse(lst("a/b rancher/b 1", "bad line", "a/b rancher/b 2"), path="L", strict=False)
    assert [line.tag for line in parsed] == ["1", "2"]
    assert len(parsed.problems) == 1 and parsed.problems[0].startswith("L:2: ")


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "images-list"
    path.write_text(HEADER + lst("a/b rancher/b 1", "a/b rancher/b", "a/b rancher/b 3"))
    with pytest.raises(ImagesListError) as caught:
        imageslist.load(path)
    assert f"{path}:4:" in str(caught.value)
    with pytest.raises(ImagesListError, match="not found"):
        imageslist.load(tmp_path / "missing")


# ---- lines, fields and characters (what git, review and grep -n see is what is read) -------


def test_lines_end_at_newline_only_and_fields_at_space_or_tab() -> None:
    parsed = imageslist.parse(lst("a/a\trancher/a \t 1", "  b/b rancher/b 2  "))
    assert [line.fields for line in parsed] == [["a/a", "rancher/a", "1"], ["b/b", "rancher/b", "2"]]
    # a no-break space is not a separator: the line has two fields, not three
    with pytest.raises(ImagesListError, match=r"L:1: expected 3 fields .* found 2"):
        imageslist.parse(lst("a/a\u00a0rancher/a 1"), path="L")


@pytest.mark.parametrize(
    ("char", "shown"),
    [("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\x85"), ("\x0c", "\\x0c"), ("\x0b", "\\x0b"),
     ("\x1e", "\\x1e"), ("\x1b", "\\x1b"), ("\ufeff", "\\ufeff"), ("\u202e", "\\u202e"), ("\u2066", "\\u2066"),
     ("\r", "\\x0d")],
)
def test_a_comment_smuggling_an_entry_is_an_error_naming_line_and_column(char: str, shown: str) -> None:
    """str.splitlines() broke at these: the entry hidden in the comment was mirrored."""
    comment = f"# harmless comment{char}evil/image rancher/evil 1"
    text = lst("# header", "a/a rancher/a 1", comment, "b/b rancher/b 1")
    for strict in (True, False):  # sync reads non-strictly; this is an error there too
        with pytest.raises(ImagesListError) as caught:
            imageslist.parse(text, path="L", strict=strict)
        assert caught.value.problems == [caught.value.problems[0]]
        problem = caught.value.problems[0]
        assert problem.startswith("L:3:19: forbidden character " + shown)
        assert "comments included" in problem
        assert char not in problem  # quoted escaped, never raw


def test_forbidden_character_in_an_entry_names_its_column() -> None:
    with pytest.raises(ImagesListError) as caught:
        imageslist.parse(lst("a/a rancher/a 1", "b/b rancher/b\u200f 1"), path="L")
    assert caught.value.problems[0].startswith("L:2:14: forbidden character \\u200f")


def test_old_revision_may_skip_unsafe_lines() -> None:
    """check-new-images reads the base revision: its unsafe lines are skipped, the rest is read."""
    parsed = imageslist.parse(lst("a/a rancher/a 1", "# x\u2028y/y rancher/y 1", "b/b rancher/b 1"),
                              path="old", strict=False, skip_unsafe=True)
    assert [line.tag for line in parsed] == ["1", "1"] and len(parsed.problems) == 1


def test_crlf_file_is_read_and_written_back_as_crlf() -> None:
    text = "# header\r\nb/b rancher/b 1\r\n# about a\r\na/a rancher/a 1\r\n"
    parsed = imageslist.parse(text)
    assert [line.text for line in parsed] == ["b/b rancher/b 1", "a/a rancher/a 1"]
    assert [line.tag for line in parsed] == ["1", "1"]
    assert parsed.render() == text
    assert parsed.sorted().render() == "# header\r\n# about a\r\na/a rancher/a 1\r\nb/b rancher/b 1\r\n"
    assert imageslist.parse(lst("a/a rancher/a 1")).render() == "a/a rancher/a 1\n"


def test_a_carriage_return_inside_a_line_is_forbidden() -> None:
    with pytest.raises(ImagesListError, match=r"^L:1:4: forbidden character \\x0d"):
        imageslist.parse("a/a\rrancher/a 1\n", path="L")


def test_non_utf8_bytes_are_reported_by_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "images-list"
    path.write_bytes(b"# h\xc3\xa9ader\na/a rancher/a 1\n# caf\xe9 \xff\nb/b rancher/b 1\n")
    for strict in (True, False):
        with pytest.raises(ImagesListError) as caught:
            imageslist.load(path, strict=strict)
        assert caught.value.problems == [f"{path}:3:6: not valid UTF-8 (byte \\xe9); save the file as UTF-8: "
                                         "# caf\\xe9 \\xff"]


def test_a_huge_line_is_quoted_short() -> None:
    huge = "a/a rancher/a " + "1" * 10_000_000
    with pytest.raises(ImagesListError) as caught:
        imageslist.parse(lst("b/b rancher/b 1", huge), path="L")
    message = str(caught.value)
    assert len(message.encode()) < 1024
    assert message.startswith("L:2: field 3 is 10000000 characters long")
    assert message.endswith(f"… ({len(huge)} bytes)")


# ---- sorting and comments --------------------------------------------------------------------


def test_sorted_header_stays_comments_travel_trailer_stays() -> None:
    text = lst(
        "# header line 1",
        "// header line 2",
        "",
        "zz/z rancher/z 1.0",
        "# why v10",
        "aa/a rancher/a 10.0",
        "aa/a rancher/a 2.0",
        "// about m",
        "// (two lines)",
        "mm/m rancher/m v1.9",
        "mm/m rancher/m v1.10",
        "# trailing comment",
        "// and another",
    )
    parsed = imageslist.parse(text)
    assert not parsed.is_sorted()
    assert parsed.sorted().render() == lst(
        "# header line 1",
        "// header line 2",
        "",
        "aa/a rancher/a 2.0",
        "# why v10",
        "aa/a rancher/a 10.0",
        "// about m",
        "// (two lines)",
        "mm/m rancher/m v1.9",
        "mm/m rancher/m v1.10",
        "zz/z rancher/z 1.0",
        "# trailing comment",
        "// and another",
    )
    assert parsed.sorted().is_sorted()


def test_sort_order_is_sort_v_of_the_entry_text() -> None:
    entries = [
        "registry.k8s.io/pause rancher/mirrored-pause 3.10",
        "registry.k8s.io/pause rancher/mirrored-pause 3.9",
        "quay.io/calico/node rancher/mirrored-calico-node v3.29.0-rc1",
        "quay.io/calico/node rancher/mirrored-calico-node v3.29.0",
        "busybox rancher/mirrored-library-busybox 1.36.1",
    ]
    parsed = imageslist.parse(HEADER + lst(*entries)).sorted()
    assert [line.text for line in parsed] == version_sorted(entries)
    assert [line.text for line in parsed][-2:] == [
        "registry.k8s.io/pause rancher/mirrored-pause 3.9",
        "registry.k8s.io/pause rancher/mirrored-pause 3.10",
    ]


def test_render_round_trips_a_sorted_file() -> None:
    text = HEADER + lst("a/a rancher/a 1", "# note", "b/b rancher/b 1", "# end")
    parsed = imageslist.parse(text)
    assert parsed.is_sorted()
    assert parsed.render() == text
    assert parsed.sorted().render() == text


def test_file_with_only_comments_is_all_header() -> None:
    parsed = imageslist.parse(HEADER)
    assert len(parsed) == 0
    assert parsed.render() == HEADER
    assert parsed.sorted().render() == HEADER


# ---- duplicates --------------------------------------------------------------------------------


def test_duplicates_are_normalised_source_destination_tag() -> None:
    parsed = imageslist.parse(
        lst(
            "busybox rancher/mirrored-library-busybox 1.36.1",  # 1
            "busybox rancher/mirrored-library-busybox 1.36.0",  # 2 other tag
            "docker.io/library/busybox rancher/mirrored-library-busybox 1.36.1",  # 3 same as 1
            "busybox docker.io/rancher/mirrored-library-busybox 1.36.1",  # 4 same as 1
            "busybox rancher/busybox 1.36.1",  # 5 same source+tag, other destination: not a duplicate
            "index.docker.io/library/busybox rancher/busybox 1.36.1",  # 6 same as 5
        )
    )
    assert [(first.lineno, repeat.lineno) for first, repeat in parsed.duplicates()] == [(1, 3), (1, 4), (5, 6)]


def test_no_duplicates_in_real_looking_list() -> None:
    parsed = imageslist.parse(lst("a/b rancher/b 1", "a/b rancher/c 1", "a/c rancher/b 1", "a/b rancher/b 2"))
    assert parsed.duplicates() == []


def test_queries() -> None:
    parsed = imageslist.parse(
        lst(
            "quay.io/calico/node rancher/mirrored-calico-node v3.28.0",
            "quay.io/calico/node rancher/calico-node v3.28.0",
            "busybox rancher/mirrored-library-busybox 1.36.1",
        )
    )
    calico = ref.parse("quay.io/calico/node")
    assert parsed.has_tag(calico, "v3.28.0")
    assert not parsed.has_tag(calico, "v3.29.0")
    assert parsed.has_tag(ref.parse("docker.io/library/busybox"), "1.36.1")
    assert parsed.destinations(calico) == ["rancher/mirrored-calico-node", "rancher/calico-node"]


# ---- with_lines --------------------------------------------------------------------------------


def test_with_lines_adds_only_new_keys_and_sorts() -> None:
    base = imageslist.parse(HEADER + lst("a/a rancher/a 1", "c/c rancher/c 1"))
    new = [
        Line.make("b/b", "rancher/b", "1"),
        Line.make("docker.io/a/a", "rancher/a", "1"),  # same key as an existing line
        Line.make("a/a", "rancher/a", "10"),
        Line.make("a/a", "rancher/a", "2"),
        Line.make("b/b", "rancher/b", "1"),  # repeated within the new lines
    ]
    updated = base.with_lines(new)
    assert [line.text for line in updated] == [
        "a/a rancher/a 1",
        "a/a rancher/a 2",
        "a/a rancher/a 10",
        "b/b rancher/b 1",
        "c/c rancher/c 1",
    ]
    assert updated.header == base.header
    assert base.with_lines([Line.make("a/a", "rancher/a", "1")]).render() == base.render()


def test_line_make_validates() -> None:
    line = Line.make("quay.io/calico/node", "rancher/mirrored-calico-node", "v3.29.0")
    assert line.text == "quay.io/calico/node rancher/mirrored-calico-node v3.29.0"
    assert line.key == ("quay.io/calico/node", "docker.io/rancher/mirrored-calico-node", "v3.29.0")
    with pytest.raises(InputError, match="Calico"):
        Line.make("quay.io/Calico/node", "rancher/x", "v1")
    with pytest.raises(InputError, match="-v1"):
        Line.make("quay.io/calico/node", "rancher/x", "-v1")


# ---- writing ---------------------------------------------------------------------------------


def test_replace_file_keeps_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "images-list"
    path.write_text("old\n")
    path.chmod(0o640)
    safewrite.replace_file(safewrite.target_of(path), b"new\n")
    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images-list"]


def test_replace_file_replaces_the_inode(tmp_path: Path) -> None:
    """Readers holding the old file keep reading the old content: the file is replaced, not rewritten."""
    path = tmp_path / "images-list"
    path.write_text("old content\n")
    with path.open() as reader:
        safewrite.replace_file(safewrite.target_of(path), b"new content\n")
        assert reader.read() == "old content\n"
    assert path.read_text() == "new content\n"


def test_update_writes_sorted_change_and_skips_no_op(tmp_path: Path) -> None:
    path = tmp_path / "images-list"
    path.write_text(HEADER + lst("b/b rancher/b 1"))
    path.chmod(0o600)
    before, after = imageslist.update(path, lambda cur: cur.with_lines([Line.make("a/a", "rancher/a", "1")]))
    assert len(before) == 1 and len(after) == 2
    assert path.read_text() == HEADER + lst("a/a rancher/a 1", "b/b rancher/b 1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    old = 1_600_000_000_000_000_000
    os.utime(path, ns=(old, old))
    inode = path.stat().st_ino
    imageslist.update(path, lambda cur: cur)  # nothing changes: nothing is written
    assert path.stat().st_mtime_ns == old
    assert path.stat().st_ino == inode


def test_update_does_not_write_when_change_raises(tmp_path: Path) -> None:
    path = tmp_path / "images-list"
    path.write_text(HEADER + lst("b/b rancher/b 1"))

    def boom(_: ImagesList) -> ImagesList:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        imageslist.update(path, boom)
    assert path.read_text() == HEADER + lst("b/b rancher/b 1")
    # the lock was released: the next writer gets it
    imageslist.update(path, lambda cur: cur.with_lines([Line.make("a/a", "rancher/a", "1")]))
    assert len(imageslist.load(path)) == 2


def test_update_on_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(ImagesListError, match="not found"):
        imageslist.update(tmp_path / "images-list", lambda cur: cur)


def test_update_in_missing_directory_is_input_error(tmp_path: Path) -> None:
    """A mistyped --images-list must be a clear input error, not a traceback from the lock file."""
    with pytest.raises(ImagesListError, match="not found"):
        imageslist.update(tmp_path / "no-such-dir" / "images-list", lambda cur: cur)


# ---- THE LOCK: concurrent writers in separate processes --------------------------------------

WRITERS = 4
LINES_PER_WRITER = 50


def _append_worker(path: str, writer: int, start: Any) -> None:
    """One writer process: wait for the others, then 50 separate locked read-modify-writes."""
    start.wait(timeout=60)
    for i in range(LINES_PER_WRITER):
        line = Line.make(f"quay.io/team{writer}/app", f"rancher/mirrored-team{writer}-app", f"v1.{i}.0")
        imageslist.update(path, lambda current, line=line: current.with_lines([line]))


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_concurrent_updates_lose_and_duplicate_nothing(tmp_path: Path, method: str) -> None:
    path = tmp_path / "images-list"
    path.write_text(HEADER + lst("busybox rancher/mirrored-library-busybox 1.36.1"))
    ctx = multiprocessing.get_context(method)
    start = ctx.Barrier(WRITERS)
    workers = [ctx.Process(target=_append_worker, args=(str(path), w, start)) for w in range(WRITERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * WRITERS

    final = imageslist.load(path)
    texts = [line.text for line in final]
    expected = {
        f"quay.io/team{w}/app rancher/mirrored-team{w}-app v1.{i}.0"
        for w in range(WRITERS)
        for i in range(LINES_PER_WRITER)
    } | {"busybox rancher/mirrored-library-busybox 1.36.1"}
    assert len(texts) == len(set(texts)), "a line was written twice"
    assert set(texts) == expected, f"lost lines: {sorted(expected - set(texts))[:5]}"
    assert final.is_sorted()
    assert final.header == tuple(HEADER.splitlines())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
