"""Every mutant of tools/dev/mutants.py still applies to the code it
mutates, and names tests that exist: a refactor that moves the mutated
text fails here, not only when someone runs the mutation check."""
import importlib.util
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    'mutants', REPO / 'tools' / 'dev' / 'mutants.py')
mutants = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutants)


@pytest.mark.parametrize('mutant', mutants.MUTANTS, ids=lambda m: m.name)
def test_mutant_applies_once_and_changes_the_file(mutant, tmp_path):
    copy = tmp_path / mutant.path
    copy.parent.mkdir(parents=True)
    shutil.copy(REPO / mutant.path, copy)
    original = mutants.mutate(tmp_path, mutant)
    assert copy.read_text() != original
    assert all((REPO / test).exists() for test in mutant.tests)


def test_a_mutant_whose_text_is_gone_is_refused(tmp_path):
    mutant = mutants.MUTANTS[0]._replace(edits=[('no such text', 'x')])
    copy = tmp_path / mutant.path
    copy.parent.mkdir(parents=True)
    shutil.copy(REPO / mutant.path, copy)
    with pytest.raises(SystemExit, match='occurs 0 times'):
        mutants.mutate(tmp_path, mutant)
