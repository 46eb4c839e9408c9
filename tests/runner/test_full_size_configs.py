"""The full-size configs (runner/configs, what `--weights random` builds) are the published models':
built as the runner builds them (on the meta device: shapes only), each has its model card's size.
Deliberately few: one interpreter start, a few meta-device models."""
import json
import subprocess

import pytest

import envs

pytestmark = [pytest.mark.slow, pytest.mark.runner_env]

# name -> (the model card's parameter count, its tolerance): the cards round to two digits
PUBLISHED = {
    "if-stage1-unet": (4.3e9, 0.05e9),  # DeepFloyd/IF-I-XL-v1.0
    "if-stage2-unet": (1.2e9, 0.05e9),  # DeepFloyd/IF-II-L-v1.0
}
COUNT = """
import json, sys
from vercompare_runner.weights import store
out = {}
for name in sys.argv[1:]:
    model = store.instantiate(store.definition("random", name), on_meta=True)
    out[name] = sum(p.numel() for p in model.parameters())
print(json.dumps(out))
"""


def test_the_full_size_configs_have_their_model_cards_sizes():
    argv, env = envs.runner_command()
    proc = subprocess.run([argv[0], "-c", COUNT, *PUBLISHED], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, (published, tolerance) in PUBLISHED.items():
        assert abs(counts[name] - published) <= tolerance, (name, counts[name])
