"""Make the GPU driver findable by Triton's build step, whichever Triton the image has.

On a GPU, Triton compiles a small C launcher at run time and links it with `-lcuda`, which needs the
development name `libcuda.so`. The NVIDIA container toolkit (legacy hook and CDI alike) mounts only
the runtime names (`libcuda.so.1` and the versioned file), and the image's root is read-only, so no
link can be added beside them. How each Triton looks for the driver:

    2.0   `whereis libcuda.so` -> `-L` those folders (none: gcc's own search path, LIBRARY_PATH)
    2.1   TRITON_LIBCUDA_PATH in later 2.x, else `ldconfig -p` lines naming libcuda.so -> `-L`
    3.x   TRITON_LIBCUDA_PATH (a folder that must hold libcuda.so.1), else `ldconfig -p`'s libcuda.so.1

So at the runner's start: when a libcuda.so.1 is found and its folder has no libcuda.so, a folder on
the writable /tmp gets both names as links to it, and TRITON_LIBCUDA_PATH and LIBRARY_PATH (which gcc
reads for -l, covering 2.0 and 2.1) name that folder. Measured with Triton 2.0.0: with only
libcuda.so.1 present `ld: cannot find -lcuda`; with the link it compiles and links.
Python 3.8, standard library only.
"""
import os
import subprocess

LINK_DIR_NAME = "vercompare-libcuda"


def _ldconfig_paths():
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"):
        try:
            out = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        # lines look like: "libcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1"
        return [line.split("=>")[-1].strip() for line in out.splitlines()
                if line.strip().startswith("libcuda.so.1 ") and "=>" in line]
    return []


def find_driver(env=None, extra_dirs=()):
    """The path of the driver's libcuda.so.1, or None (a CPU machine, a container without a GPU)."""
    env = os.environ if env is None else env
    candidates = list(extra_dirs) + [d for d in (env.get("LD_LIBRARY_PATH") or "").split(":") if d]
    for folder in candidates:
        path = os.path.join(folder, "libcuda.so.1")
        if os.path.exists(path):
            return path
    for path in _ldconfig_paths():
        if os.path.exists(path):
            return path
    return None


def link_driver(tmp_dir="/tmp", env=None, extra_dirs=()):
    """Give Triton a libcuda.so next to a libcuda.so.1; set the variables in `env` (os.environ by
    default, so the compile workers inherit them). Returns one line saying what it did."""
    env = os.environ if env is None else env
    driver = find_driver(env, extra_dirs)
    if driver is None:
        return "no libcuda.so.1 (no GPU driver mounted): nothing to link"
    folder = os.path.dirname(driver)
    if os.path.exists(os.path.join(folder, "libcuda.so")):
        return "libcuda.so is beside %s already" % driver
    links = os.path.join(tmp_dir, LINK_DIR_NAME)
    try:
        os.makedirs(links, exist_ok=True)
        for name in ("libcuda.so", "libcuda.so.1"):
            path = os.path.join(links, name)
            if os.path.lexists(path):
                os.remove(path)
            os.symlink(driver, path)
    except OSError as exc:
        return "cannot link libcuda.so in %s: %s" % (links, exc)
    if not env.get("TRITON_LIBCUDA_PATH"):
        env["TRITON_LIBCUDA_PATH"] = links
    if links not in (env.get("LIBRARY_PATH") or "").split(":"):
        env["LIBRARY_PATH"] = links + (":" + env["LIBRARY_PATH"] if env.get("LIBRARY_PATH") else "")
    return "linked %s/libcuda.so -> %s (TRITON_LIBCUDA_PATH, LIBRARY_PATH)" % (links, driver)
