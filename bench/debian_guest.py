"""What the benchmarks that run on a debootstrapped Debian guest share: the --runs,
--image and --workdir options, the image (built by tests/guest_images.py once per work
directory), and timing a whole command."""

import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

LIBGUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                      LIBGUESTFS_BACKEND_SETTINGS="force_tcg")


def start(doc, prefix):
    """Parse the command line of a benchmark documented by DOC; (options, the image, a
    temporary directory to remove at the end or None)."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--image", help="a raw image instead of the Debian one")
    ap.add_argument("--workdir", help="where the Debian image is built and kept")
    a = ap.parse_args()
    if a.image:
        return a, a.image, None
    from tests.guest_images import debian_on_lvm
    workdir = a.workdir or tempfile.mkdtemp(prefix=prefix)
    print("building the Debian image in %s ..." % workdir, file=sys.stderr)
    return a, debian_on_lvm(workdir), None if a.workdir else workdir


def timed(argv, env=None):
    """Seconds ARGV took to run (from the repository's top, output thrown away)."""
    t = time.monotonic()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, cwd=os.path.join(HERE, ".."))
    return time.monotonic() - t
