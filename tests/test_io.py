import pytest

from sunpy_dlmag.io import save_map, write_atomic


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.fits"

    def fail(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, fail)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_unless_overwrite(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_atomic(target, lambda p: p.write_text("new"))
    assert target.read_text() == "old"
    write_atomic(target, lambda p: p.write_text("new"), overwrite=True)
    assert target.read_text() == "new"


def test_save_map_round_trip(tmp_path, euvi_map):
    import sunpy.map

    path = save_map(euvi_map, tmp_path / "euvi.fits")
    again = sunpy.map.Map(path)
    assert again.date == euvi_map.date
    assert (again.data == euvi_map.data).all()


def test_save_map_leaves_the_map_untouched(tmp_path, euvi_map):
    # The EUVI file carries BLANK on float data; saving drops it from the file only.
    assert "blank" in euvi_map.meta
    comments = dict(euvi_map.meta["keycomments"])
    save_map(euvi_map, tmp_path / "euvi.fits")
    assert "blank" in euvi_map.meta
    assert dict(euvi_map.meta["keycomments"]) == comments


def test_outputs_get_the_usual_file_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    path = write_atomic(tmp_path / "out.txt", lambda p: p.write_text("x"))
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_temporaries_of_killed_writes_are_removed_when_stale(tmp_path):
    import os
    import time

    target = tmp_path / "out.fits"
    stale = tmp_path / ".out.fits.0123456789ab.part.fits"
    fresh = tmp_path / ".out.fits.ba9876543210.part.fits"
    other = tmp_path / ".other.fits.0123456789ab.part.fits"
    for path in (stale, fresh, other):
        path.write_text("partial")
    two_hours_ago = time.time() - 7200
    for path in (stale, other):
        os.utime(path, (two_hours_ago, two_hours_ago))
    write_atomic(target, lambda p: p.write_text("done"))
    assert target.read_text() == "done"
    # Only this target's stale temporary goes: a fresh one may be a write still under way.
    assert not stale.exists()
    assert fresh.exists()
    assert other.exists()
