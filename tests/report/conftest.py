import pytest

from vercompare.rundir import load_run

import synthetic


@pytest.fixture
def page_dir(tmp_path):
    """The reference page's A100 batch-1 table plus a batch-16 table of failure states."""
    return synthetic.page_run(tmp_path / "page")


@pytest.fixture
def page_run(page_dir):
    return load_run(page_dir)
