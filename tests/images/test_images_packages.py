"""Package phase tables and specifier validation (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ds01.errors import UsageError
from ds01.units.images.packages import (
    DEFAULT_USE_CASE_PACKAGES,
    USE_CASE,
    USE_CASES,
    ImageSettings,
    read_requirements,
    split_packages,
    validate_spec,
    validate_specs,
)


@pytest.mark.parametrize(
    "spec",
    [
        "pandas",
        "pandas==1.5.3",
        "pandas>=2.0.0",
        "pandas~=1.5.0",
        "pandas>=1,<3",
        "requests[socks,security]>=2.31",
        'numpy; python_version < "3.13"',
        "torch-geometric",
    ],
)
def test_valid_specifiers_pass(spec):
    assert validate_spec(spec)


@pytest.mark.parametrize(
    "item, named",
    [
        ("pandas; rm -rf /", "pandas; rm -rf /"),
        ("pandas && curl evil", "pandas && curl evil"),
        ("pandas|sh", "pandas|sh"),
        ("$(reboot)", "$(reboot)"),
        ("`id`", "`id`"),
        ("pandas>out.txt", "pandas>out.txt"),
        ("--index-url", "--index-url"),
        ("-e", "-e"),
        ("pandas\nnumpy", "pandas\\nnumpy"),
        ("https://example.org/x.whl", "https://example.org/x.whl"),
        ("pkg @ https://example.org/x.whl", "pkg @ https://example.org/x.whl"),
        ("pandas===", "pandas==="),
    ],
)
def test_bad_items_are_refused_by_name(item, named):
    with pytest.raises(UsageError) as info:
        validate_spec(item)
    assert named in info.value.message
    assert info.value.exit_code == 2


def test_urls_allowed_when_configured():
    assert validate_spec("pkg @ https://example.org/x.whl", allow_urls=True) == "pkg @ https://example.org/x.whl"


def test_duplicates_kept_once_in_order():
    assert validate_specs(["b", "a", "b"]) == ["b", "a"]


def test_split_and_requirements_file(tmp_path: Path):
    assert split_packages(" pandas==1.5.3   torch-geometric ") == ["pandas==1.5.3", "torch-geometric"]
    req = tmp_path / "requirements.txt"
    req.write_text("# comment\npandas>=2  # trailing\n\nscipy\n")
    assert read_requirements(req) == ["pandas>=2", "scipy"]
    req.write_text("pandas\n--index-url https://evil.example\n")
    with pytest.raises(UsageError, match=r"requirements.txt:2: '--index-url https://evil.example' is a pip option"):
        read_requirements(req)


def test_use_case_tables_and_config_overrides():
    assert USE_CASES == ("general-ml", "cv", "nlp", "rl", "custom")
    defaults = ImageSettings()
    assert defaults.phase_defaults(USE_CASE, "custom") == ()
    assert defaults.phase_defaults(USE_CASE, "nlp") == DEFAULT_USE_CASE_PACKAGES["nlp"]
    custom = ImageSettings(use_cases={"nlp": ("spacy",)}, jupyter=("jupyterlab",))
    assert custom.phase_defaults(USE_CASE, "nlp") == ("spacy",)
    assert custom.phase_defaults("jupyter") == ("jupyterlab",)
    with pytest.raises(UsageError, match="Unknown use case 'vision'"):
        defaults.phase_defaults(USE_CASE, "vision")


def test_settings_from_the_config_object():
    class Images:
        dockerfiles_dir = "/srv/df"
        jupyter = None
        data_science = ("pandas",)
        use_cases = {"rl": ("gymnasium",)}
        allow_urls = True
        aime_catalog = "/nowhere"

    s = ImageSettings.from_config(Images())
    assert (s.dockerfiles_dir, s.jupyter, s.data_science, s.allow_urls) == ("/srv/df", None, ("pandas",), True)
    assert s.phase_defaults(USE_CASE, "rl") == ("gymnasium",)
