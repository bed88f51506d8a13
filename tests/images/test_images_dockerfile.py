"""Dockerfile generation, parsing and editing (pure: no Docker)."""

from __future__ import annotations

import json

import pytest

from ds01.errors import UsageError
from ds01.units.images import dockerfile as df
from ds01.units.images.packages import CUSTOM, DATA_SCIENCE, JUPYTER, USE_CASE


def _make(**packages):
    full = {JUPYTER: [], DATA_SCIENCE: [], USE_CASE: [], CUSTOM: []}
    full.update({k.replace("_", "-"): v for k, v in packages.items()})
    return df.generate(project="p", base_image="base:1", framework="Pytorch-2.5.0", packages=full, use_case="cv")


def _run_lines(text):
    return [json.loads(line[4:]) for line in text.splitlines() if line.startswith("RUN ")]


def test_phases_render_in_order_with_markers_and_exact_arguments():
    text = _make(custom=["pandas==1.5.3"], jupyter=["jupyter"], data_science=["scipy"], use_case=["timm"]).render()
    lines = text.splitlines()
    assert lines[0].startswith("# Image p-image")
    assert "FROM base:1" in lines
    markers = [line.split()[1] for line in lines if line.startswith("# ds01:phase=")]
    assert markers == ["ds01:phase=jupyter", "ds01:phase=data-science", "ds01:phase=use-case:cv", "ds01:phase=custom"]
    assert _run_lines(text) == [
        ["pip", "install", "--no-cache-dir", "jupyter"],
        ["pip", "install", "--no-cache-dir", "scipy"],
        ["pip", "install", "--no-cache-dir", "timm"],
        ["pip", "install", "--no-cache-dir", "pandas==1.5.3"],
    ]
    assert lines.index("FROM base:1") < lines.index('RUN ["pip", "install", "--no-cache-dir", "jupyter"]')


def test_empty_phases_leave_no_run_line_and_no_marker():
    text = _make(custom=["polars"]).render()
    assert _run_lines(text) == [["pip", "install", "--no-cache-dir", "polars"]]
    assert "ds01:phase=jupyter" not in text
    assert "RUN []" not in text and not any(line.strip() == "RUN" for line in text.splitlines())


def test_nothing_chosen_is_just_from():
    text = _make().render()
    assert _run_lines(text) == []
    assert "FROM base:1" in text


@pytest.mark.parametrize(
    "spec",
    [
        "pandas",
        "pandas==1.5.3",
        "pandas>=2.0.0",
        "pandas~=1.5.0",
        "requests[socks]>=2",
        'numpy; python_version < "3.13"',
    ],
)
def test_specifiers_survive_a_round_trip(spec):
    text = _make(custom=[spec]).render()
    parsed = df.parse(text)
    assert parsed.packages()[CUSTOM] == [spec]
    assert parsed.base_image == "base:1"
    assert parsed.framework == "Pytorch-2.5.0"
    assert parsed.use_case is None  # no use-case packages: no use-case block


def test_parse_reads_categories_and_use_case():
    doc = df.parse(_make(jupyter=["jupyter"], use_case=["timm", "pillow"]).render())
    assert doc.packages() == {JUPYTER: ["jupyter"], DATA_SCIENCE: [], USE_CASE: ["timm", "pillow"], CUSTOM: []}
    assert doc.use_case == "cv"


def test_remove_last_package_drops_the_run_line():
    doc = df.parse(_make(jupyter=["jupyter"], custom=["polars"]).render())
    assert doc.remove(JUPYTER, ["Jupyter"]) == ["jupyter"]
    text = doc.render()
    assert _run_lines(text) == [["pip", "install", "--no-cache-dir", "polars"]]
    assert "ds01:phase=jupyter" not in text
    assert "\n\n\n" not in text


def test_remove_everywhere_and_unknown_category():
    doc = df.parse(_make(data_science=["pandas", "scipy"], custom=["pandas==1.5.3"]).render())
    assert sorted(doc.remove(None, ["pandas"])) == ["pandas", "pandas==1.5.3"]
    assert doc.packages()[DATA_SCIENCE] == ["scipy"]
    with pytest.raises(UsageError, match="Unknown package category 'tools'"):
        doc.remove("tools", ["x"])


def test_add_creates_a_missing_phase_in_its_place_and_replaces_versions():
    doc = df.parse(_make(jupyter=["jupyter"], custom=["polars"]).render())
    assert doc.add(DATA_SCIENCE, ["pandas"]) == ["pandas"]
    assert doc.add(CUSTOM, ["polars==1.0"]) == ["polars==1.0"]
    assert doc.add(CUSTOM, ["polars==1.0"]) == []  # already there: no change
    runs = _run_lines(doc.render())
    assert runs == [
        ["pip", "install", "--no-cache-dir", "jupyter"],
        ["pip", "install", "--no-cache-dir", "pandas"],
        ["pip", "install", "--no-cache-dir", "polars==1.0"],
    ]


def test_hand_edits_are_kept_and_detected():
    text = _make(custom=["polars"]).render()
    assert not df.is_edited(text)
    edited = text.replace("FROM base:1", "FROM base:1\nENV MY_SETTING=1")
    edited = edited.replace(
        'RUN ["pip", "install", "--no-cache-dir", "polars"]', "RUN pip install --no-cache-dir \\\n    polars 'numpy>=2'"
    )
    assert df.is_edited(edited)
    doc = df.parse(edited)
    assert doc.packages()[CUSTOM] == ["polars", "numpy>=2"]
    doc.add(CUSTOM, ["rich"])
    out = doc.render()
    assert "ENV MY_SETTING=1" in out
    assert _run_lines(out) == [["pip", "install", "--no-cache-dir", "polars", "numpy>=2", "rich"]]
    assert not df.is_edited(out)


def test_a_file_not_written_by_ds01_counts_as_edited():
    assert df.is_edited("FROM x\n")


def test_unsigned_render_stays_edited():
    doc = df.parse(_make(custom=["polars"]).render() + "RUN echo mine\n")
    doc.add(CUSTOM, ["rich"])
    assert df.is_edited(doc.render(sign=False))
    assert "RUN echo mine" in doc.render(sign=False)
