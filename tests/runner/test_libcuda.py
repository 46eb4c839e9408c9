"""Triton's build step finds the GPU driver as the NVIDIA container toolkit mounts it (only libcuda.so.1):
the runner links libcuda.so on the writable /tmp and names it in TRITON_LIBCUDA_PATH and LIBRARY_PATH.
The link is proved with the host's gcc, the way Triton 2.0 builds its launcher (`-lcuda`, no -L) and the
way Triton 3.x does (`-L` the folder TRITON_LIBCUDA_PATH names, which must hold libcuda.so.1,
`-l:libcuda.so.1`). Triton's own build step in images: tests/execution/test_pypi_torch.py (2.0) and
test_triton_driver.py (3.7)."""
import os
import subprocess

from vercompare_runner.libcuda import LINK_DIR_NAME, link_driver

from stub_driver import stub_driver

LAUNCHER = "int cuInit(unsigned int flags);\nint main(void) { return cuInit(0); }\n"


def _link_launcher(tmp_path, env, *flags):
    (tmp_path / "main.c").write_text(LAUNCHER)
    return subprocess.run(["gcc", str(tmp_path / "main.c"), *(flags or ["-lcuda"]), "-o", str(tmp_path / "launcher")],
                          env=env, capture_output=True, text=True)


def test_a_driver_without_its_dev_name_is_linked_so_gcc_finds_it(tmp_path):
    driver = stub_driver(tmp_path / "driver") / "libcuda.so.1"
    env = {"PATH": os.environ["PATH"], "LD_LIBRARY_PATH": str(driver.parent)}
    # as mounted: -lcuda cannot be found, the failure Triton's build step meets
    assert "cannot find -lcuda" in _link_launcher(tmp_path, env).stderr

    line = link_driver(tmp_dir=str(tmp_path / "tmp"), env=env)
    links = tmp_path / "tmp" / LINK_DIR_NAME
    assert "linked" in line and env["TRITON_LIBCUDA_PATH"] == str(links)
    assert os.path.realpath(links / "libcuda.so") == str(driver) == os.path.realpath(links / "libcuda.so.1")
    assert env["LIBRARY_PATH"].split(":")[0] == str(links)
    done = _link_launcher(tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert subprocess.run([str(tmp_path / "launcher")], env=env).returncode == 0  # and it loads
    # Triton 3.x: the folder it is given holds libcuda.so.1 (it asserts so), and links by that name
    assert os.path.exists(os.path.join(env["TRITON_LIBCUDA_PATH"], "libcuda.so.1"))
    done = _link_launcher(tmp_path, {"PATH": env["PATH"]}, "-L" + env["TRITON_LIBCUDA_PATH"], "-l:libcuda.so.1")
    assert done.returncode == 0, done.stderr

    # a second start changes nothing; a user's TRITON_LIBCUDA_PATH is kept
    again = dict(env, TRITON_LIBCUDA_PATH="/mine")
    link_driver(tmp_dir=str(tmp_path / "tmp"), env=again)
    assert again["TRITON_LIBCUDA_PATH"] == "/mine" and again["LIBRARY_PATH"] == env["LIBRARY_PATH"]


def test_a_complete_driver_needs_no_link(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "libcuda.so.1").write_text("")
    (full / "libcuda.so").symlink_to("libcuda.so.1")
    env = {"LD_LIBRARY_PATH": str(full)}
    assert "beside" in link_driver(tmp_dir=str(tmp_path), env=env) and "LIBRARY_PATH" not in env
    assert not (tmp_path / LINK_DIR_NAME).exists()
