"""Tables, prose and progress fitted to the terminal: at 80 columns no line is wider than the
terminal and no name of up to 24 characters is cut; at 200 columns nothing is left out."""

from __future__ import annotations

import io

import pytest

from ds01.terminal import Column, Terminal, fit_columns, relative, wrap


def test_columns_drop_by_priority_before_a_name_is_cut():
    out = io.StringIO()
    term = Terminal(out, io.StringIO(), color=False, interactive=False)
    name = "n" * 24
    cols = [
        Column("NAME", 1, name=True),
        Column("STATUS"),
        Column("IMAGE", 3),
        Column("CREATED", 4),
        Column("PROJECT", 5),
    ]
    rows = [[name, "stopped", "i" * 30, "3d ago", "p" * 20]]
    term.table(cols, rows, width=100)
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 100 for line in lines)
    assert name in lines[1] and "i" * 30 in lines[1] and "PROJECT" in lines[0]  # everything fits
    out.truncate(0), out.seek(0)
    term.table(cols, rows, width=80)
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines) and "PROJECT" not in lines[0] and "CREATED" in lines[0]
    out.truncate(0), out.seek(0)
    term.table(cols, rows, width=50)
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 50 for line in lines), lines
    assert name in lines[1] and "PROJECT" not in lines[0] and "CREATED" not in lines[0]
    out.truncate(0), out.seek(0)
    term.table(cols, rows, width=32)  # only names and priority 1 left: the status is cut, not the name
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 32 for line in lines) and name in lines[1] and "stopp…" in lines[1], lines


def test_fit_columns_is_the_dashboards_rule():
    assert fit_columns([1, 3, 2, 3], [10, 10, 10, 10], 34) == [0, 1, 2]
    assert fit_columns([1, 3, 2, 3], [10, 10, 10, 10], 5) == [0]


def test_relative_times():
    now = 1_800_000_000.0
    assert relative(now + 3540, now) == "in 59m"
    assert relative(now - 300, now) == "5m ago"
    assert relative(now + 5, now) == "now"
    assert relative("2027-01-15T08:00:00Z", 1_800_000_000.0 - 86400 * 400).endswith("d")
    assert relative(None) == "-"
    assert relative(now - 3 * 86400 - 7200 - 59, now) == "3d2h ago"


@pytest.mark.parametrize("width", [80, 200])
def test_prose_wraps_at_word_boundaries(width):
    from ds01.units.containers import texts

    body = texts.EXIT_TEXT if hasattr(texts, "EXIT_TEXT") else " ".join(["container"] * 200)
    text = wrap(body, width - 1)
    for line in text.splitlines():
        assert len(line) < width, line
    words = set(body.split())
    for line in text.splitlines():
        for word in line.split():
            assert word in words, word  # no word broken in two


@pytest.mark.parametrize("width", [80, 200])
def test_image_list_fits(cli, monkeypatch, width):
    import time

    from ds01.units.images import listing

    name = "n" * 18 + "-image"  # 24 characters
    images = [
        listing.ImageInfo(
            name=name,
            project="p",
            id="sha256:" + "0" * 64,
            size=12_300_000_000,
            created=int(time.time()) - 7200,
            framework="pytorch-2.5.1-cuda12.4-ubuntu22.04",
            base_image=None,
            dockerfile=None,
            containers=(f"{'c' * 24}._.4301", f"{'d' * 24}._.4301"),
        )
    ]
    monkeypatch.setattr(listing, "list_images", lambda identity: images)
    r = cli("image", "list", env={"COLUMNS": str(width)})
    assert r.exit_code == 0, r
    assert all(len(line) <= width for line in r.stdout.splitlines()), r.stdout
    assert name in r.stdout and "2h ago" in r.stdout and "._." not in r.stdout
    if width == 200:
        assert "c" * 24 in r.stdout and "pytorch-2.5.1-cuda12.4-ubuntu22.04" in r.stdout


def test_a_progress_line_is_one_row_with_the_elapsed_time():
    from ds01.terminal import _ProgressLine

    now = [100.0]
    line = _ProgressLine("Building thesis-image …", console=None, clock=lambda: now[0])
    line.update("Building thesis-image: Collecting torch==2.5.1\n  Downloading torch-2.5.1-cp311-" + "x" * 300)
    now[0] += 65
    text = line.plain(77)
    assert "\n" not in text and len(text) <= 77 and text.endswith("  1m5s")
    assert text.startswith("Building thesis-image: Collecting torch==2.5.1")


def test_many_warnings_are_summarised():
    out, err = io.StringIO(), io.StringIO()
    term = Terminal(out, err, color=False, interactive=False)
    term.warnings([f"container c{i} vanished" for i in range(220)], full="ds01 gpu status --json")
    lines = err.getvalue().splitlines()
    assert len(lines) == 5 and "220 warnings" in lines[0] and "`ds01 gpu status --json`" in lines[-1]
    assert "217 more" in lines[-1]


@pytest.mark.parametrize("width", [80, 200])
def test_wizard_texts_and_guides_wrap_at_word_boundaries(monkeypatch, width):
    from ds01.units.containers.texts import GUIDE
    from ds01.wizards import texts

    monkeypatch.setenv("COLUMNS", str(width))
    out, err = io.StringIO(), io.StringIO()
    term = Terminal(out, err, color=False, interactive=False)
    term.guided = True
    paragraphs = [t for _title, t in texts.LESSON] + list(texts.STEP_GUIDE.values())
    for t in paragraphs:
        term.prose(t, indent="  ")
    for lines in GUIDE.values():
        for t in lines:
            term.guide(t)
    words = {w for t in paragraphs + [x for v in GUIDE.values() for x in v] for w in t.split()} | {"ℹ"}
    for line in err.getvalue().splitlines():
        assert len(line) < width, line
        assert all(w in words for w in line.split()), line  # no word cut in two
