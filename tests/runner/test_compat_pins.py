"""Each bound the compatibility table (cli/planning/compat.py) adds on the diffusers side is one no
package's metadata declares, so the plan-time resolver cannot find it: here, the error it prevents,
in a real environment that breaks the bound by one release and nothing else (tests/runner/envs.py).

The torch-side bounds (numpy < 2 and transformers < 4.50 for torch 2.0, < 4.56 for 2.1) need a
torch 2.0/2.1 install (GBs) to show: tests/execution/test_pypi_torch.py builds torch 2.0.1 and runs
it with the bounds in place; their failures without them are recorded in shared/notes.
"""
import subprocess

import pytest

from vercompare.planning import compat

import envs
import pins
from engines import unavailable

pytestmark = [pytest.mark.slow, pytest.mark.runner_env]

# (diffusers, what the table bounds, the first release past the bound, what then fails to import)
PREVENTED = [
    ("0.25.1", "huggingface_hub<0.26", {"huggingface-hub": "0.26.0"}, "cached_download"),
    # transformers 5 also needs a newer huggingface_hub: the 0.42.1 lock's, with only diffusers older
    ("0.30.3", "transformers<5", None, "FLAX_WEIGHTS_NAME"),
]


def _import_diffusers(target):
    argv, env = envs.runner_command()
    env["PYTHONPATH"] = str(target)
    return subprocess.run([argv[0], "-c", "from diffusers import StableDiffusionPipeline"],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("version,bound,swap,error", PREVENTED, ids=[p[1] for p in PREVENTED])
def test_the_tables_bound_prevents_an_import_error(version, bound, swap, error):
    assert bound in [p.requirement for p in compat.pins("2.13.0", version)]
    if envs.installed_diffusers():
        unavailable("VERCOMPARE_RUNNER_PYTHON: one installed version only")  # fails under CI=true
    within = _import_diffusers(envs.diffusers_dir(version))
    assert within.returncode == 0, within.stderr[-2000:]
    if swap is None:  # the newest lock (transformers 5) with this diffusers in place of its own
        past = envs.diffusers_dir(pins.RUNNER_DIFFUSERS[0], swap={"diffusers": version})
    else:
        past = envs.diffusers_dir(version, swap=swap)
    broken = _import_diffusers(past)
    assert broken.returncode != 0 and error in broken.stderr, broken.stderr[-2000:]
