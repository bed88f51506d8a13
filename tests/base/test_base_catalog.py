"""The ml_images.repo catalog and the architecture choice (pure; AIME's published catalog)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ds01.base import catalog
from ds01.errors import ConfigError, ExitCode, NotFound, UsageError

# AIME's published catalog is not part of this repository. DS01_TEST_AIME_CATALOG names a copy
# of it (scripts/test.sh sets it when one lies at ../shared/data/aime-ml_images.repo); the tests
# that check ds01 against that real file are skipped, with this reason, when it is not given.
_AIME_ENV = "DS01_TEST_AIME_CATALOG"


@pytest.fixture(scope="module")
def aime_path() -> Path:
    value = os.environ.get(_AIME_ENV)
    if not value:
        pytest.skip(f"{_AIME_ENV} is unset: AIME's published ml_images.repo is not available")
    path = Path(value)
    if not path.is_file():
        pytest.fail(f"{_AIME_ENV}={value} is not a file")
    return path


@pytest.fixture(scope="module")
def aime(aime_path):
    return catalog.load_catalog([aime_path], aime_catalog=None)


def test_reads_aimes_published_catalog(aime):
    assert len(aime.entries) == 117
    counts: dict[str, int] = {}
    for e in aime.entries:
        counts[e.framework] = counts.get(e.framework, 0) + 1
    assert counts == {"Pytorch": 76, "Tensorflow": 35, "Mxnet": 5, "ROCM": 1}
    assert all(set(e.archs) <= set(catalog.ARCHITECTURES) for e in aime.entries)


def test_multi_arch_rows_and_first_exact_match_wins(aime):
    tf = aime.lookup("Tensorflow", "2.14.0", "CUDA_AMPERE")
    assert tf.image == "aimehub/tensorflow-2.14.0-cuda11.8"
    assert tf.archs == ("CUDA_ADA", "CUDA_AMPERE")
    # Two rows carry Tensorflow 1.15.4-nvidia for CUDA_AMPERE: the first one is used, as AIME does.
    dup = aime.lookup("Tensorflow", "1.15.4-nvidia", "CUDA_AMPERE")
    assert dup.image == "aimehub/tensorflow-1.15.4-nvidia"
    assert aime.lookup("Pytorch", "2.8.0", "CUDA_ADA").image == "aimehub/pytorch-2.8.0-cuda12.6.3"
    assert aime.lookup("Pytorch", "2.8.0", "CUDA_BLACKWELL").image == "aimehub/pytorch-2.8.0-cuda12.8.1"


def test_version_match_is_exact_and_framework_case_is_forgiven(aime):
    assert aime.lookup("pytorch", "2.8.0", "CUDA_ADA").framework == "Pytorch"
    with pytest.raises(NotFound) as err:
        aime.lookup("Pytorch", "2.8", "CUDA_ADA")
    assert "2.8.0" in err.value.message and err.value.exit_code == ExitCode.USAGE
    with pytest.raises(NotFound, match="frameworks there"):
        aime.lookup("Jax", "1.0", "CUDA_ADA")


def test_v1_rows_are_tolerated_and_bad_rows_name_the_line():
    entries = catalog.parse_catalog("Pytorch, 1.13.1, CUDA_AMPERE, aimehub/pytorch-1.13.1\n\n# note\n", "v1.repo")
    assert entries[0].archs == ("CUDA_AMPERE",)
    with pytest.raises(ConfigError, match="line 2"):
        catalog.parse_catalog("Pytorch, 1, [CUDA], img\nbroken line\n", "x.repo")
    with pytest.raises(ConfigError, match="CUDA_VOLTA"):
        catalog.parse_catalog("Pytorch, 1, [CUDA_VOLTA], img\n", "x.repo")


def test_packaged_catalog_is_read_first_then_the_installed_aime_catalog(tmp_path):
    packaged = catalog.load_catalog(aime_catalog=None)
    assert packaged.entries and packaged.sources == (str(catalog.packaged_catalog_path()),)
    installed = tmp_path / "ml_images.repo"
    installed.write_text(
        "Jax, 0.4.30, [CUDA_ADA;CUDA_AMPERE], example/jax-0.4.30\nPytorch, 9.9.9, [CUDA_ADA], example/pytorch-9.9.9\n"
    )
    both = catalog.load_catalog(aime_catalog=installed)
    assert len(both.entries) == len(packaged.entries) + 2
    assert both.entries[0] == packaged.entries[0]
    assert both.entries[-1].image == "example/pytorch-9.9.9"
    assert both.sources == (str(catalog.packaged_catalog_path()), str(installed))
    absent = catalog.load_catalog(aime_catalog=Path("/nonexistent/ml_images.repo"))
    assert len(absent.entries) == len(packaged.entries)


@pytest.mark.parametrize(
    ("cap", "arch"),
    [
        ((7, 0), "CUDA"),
        ((8, 0), "CUDA_AMPERE"),
        ((8, 6), "CUDA_AMPERE"),
        ((8, 9), "CUDA_ADA"),
        ((9, 0), "CUDA_ADA"),
        ((10, 0), "CUDA_BLACKWELL"),
        ((12, 0), "CUDA_BLACKWELL"),
    ],
)
def test_compute_capability_to_arch(cap, arch):
    assert catalog.arch_from_compute_capability(*cap) == arch


def test_arch_precedence_flag_env_capability_error():
    env = {"MLC_ARCH": "ROCM6"}
    assert catalog.resolve_arch("CUDA_ADA", environ=env, compute_capability=(8, 0)) == "CUDA_ADA"
    assert catalog.resolve_arch(None, environ=env, compute_capability=(8, 0)) == "ROCM6"
    assert catalog.resolve_arch(None, environ={}, compute_capability=(8, 0)) == "CUDA_AMPERE"
    with pytest.raises(UsageError) as err:
        catalog.resolve_arch(None, environ={}, detect=False)
    assert all(a in err.value.message for a in catalog.ARCHITECTURES)
    with pytest.raises(UsageError, match="--arch 'VOLTA'"):
        catalog.resolve_arch("VOLTA", environ={})


def test_detected_architecture_uses_the_lowest_nvml_capability(mocker):
    from ds01.gpu.model import Gpu

    gpus = [
        Gpu(0, "GPU-a", "H100", 80 << 30, compute_capability=(9, 0)),
        Gpu(1, "GPU-b", "A100", 80 << 30, compute_capability=(8, 0)),
        Gpu(2, "GPU-c", "lost", 0, compute_capability=(7, 0), lost=True),
    ]
    mocker.patch("ds01.gpu.inventory.nvml_gpus", return_value=gpus)
    assert catalog.resolve_arch(None, environ={}) == "CUDA_AMPERE"


def test_no_nvml_means_no_detected_architecture(mocker):
    from ds01.errors import GpuLibraryError

    mocker.patch("ds01.gpu.inventory.nvml_gpus", side_effect=GpuLibraryError("no library"))
    with pytest.raises(UsageError, match="MLC_ARCH"):
        catalog.resolve_arch(None, environ={})
