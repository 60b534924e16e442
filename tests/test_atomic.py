"""Atomic writes: the file appears whole or not at all, with the permissions the umask allows."""
import os
import stat

import pytest

from toolkit.utils.atomic import atomic_write


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        with atomic_write(tmp_path / "out.txt") as f:
            f.write("x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == mode


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    (tmp_path / "out.txt").write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "out.txt") as f:
            f.write("half")
            raise RuntimeError("crash")
    assert (tmp_path / "out.txt").read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.txt"]
