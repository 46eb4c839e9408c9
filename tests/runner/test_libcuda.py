"""Triton's build step finds the GPU driver as the NVIDIA container toolkit mounts it (only libcuda.so.1):
the runner links libcuda.so on the writable /tmp and names it in TRITON_LIBCUDA_PATH and LIBRARY_PATH.
The link is proved with the host's gcc, the way Triton 2.0 builds its launcher (`-lcuda`, no -L)."""
import os
import subprocess

from vercompare_runner.libcuda import LINK_DIR_NAME, link_driver

STUB = "int cuInit(unsigned int flags) { return 0; }\n"
LAUNCHER = "int cuInit(unsigned int flags);\nint main(void) { return cuInit(0); }\n"


def _stub_driver(folder):
    """A libcuda.so.1 (soname libcuda.so.1) and nothing else, as the toolkit mounts the real one."""
    folder.mkdir()
    (folder / "stub.c").write_text(STUB)
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o", str(folder / "libcuda.so.1"),
                    str(folder / "stub.c")], check=True)
    return folder / "libcuda.so.1"


def _link_launcher(tmp_path, env):
    (tmp_path / "main.c").write_text(LAUNCHER)
    return subprocess.run(["gcc", str(tmp_path / "main.c"), "-lcuda", "-o", str(tmp_path / "launcher")],
                          env=env, capture_output=True, text=True)


def test_a_driver_without_its_dev_name_is_linked_so_gcc_finds_it(tmp_path):
    driver = _stub_driver(tmp_path / "driver")
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
