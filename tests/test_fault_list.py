"""The planted faults of ``tools/plant_faults.py`` still apply to the source (none is stale)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("plant_faults", ROOT / "tools" / "plant_faults.py")
plant_faults = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plant_faults)


@pytest.mark.parametrize("fault", plant_faults.FAULTS, ids=lambda fault: fault.name)
def test_each_fault_changes_one_place_and_names_existing_tests(fault):
    assert (ROOT / fault.path).read_text().count(fault.old) == 1
    assert fault.old != fault.new
    for test in fault.tests:
        assert (ROOT / test).is_file(), test
