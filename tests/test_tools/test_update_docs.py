"""make bench: the figures of docs/performance.md come from the commands
its blocks name."""
import importlib.util
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    'update_docs', REPO / 'tools' / 'benchmarks' / 'update_docs.py')
update_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(update_docs)

DOC = '''Intro.

<!-- bench: python -c "print(6 * 7)" -->
```text
stale
```
<!-- /bench -->

Between.

<!-- bench: python -c "print('other')" -->
old
<!-- /bench -->
'''


def test_blocks_are_rewritten_from_their_commands():
    out = update_docs.update(DOC)
    assert update_docs.bench_blocks(out) == [
        ('python -c "print(6 * 7)"', '```text\n42\n```\n'),
        ('python -c "print(\'other\')"', '```text\nother\n```\n')]
    assert out.startswith('Intro.\n') and '\nBetween.\n' in out


def test_only_reruns_the_named_blocks():
    out = update_docs.update(DOC, only='6 * 7')
    assert update_docs.bench_blocks(out)[1][1] == 'old\n'
    assert '42' in out


@pytest.mark.parametrize('command, error', [
    ('bash -c true', 'runs a Python script'),
    ('python -c "raise SystemExit(3)"', 'exited with 3'),
])
def test_bad_commands_are_named(command, error):
    doc = f'<!-- bench: {command} -->\n<!-- /bench -->\n'
    with pytest.raises((ValueError, RuntimeError), match=error):
        update_docs.update(doc)


def test_performance_doc_quotes_benchmark_output():
    """Each block of docs/performance.md runs a benchmark of the
    repository and holds what it printed (make bench has been run)."""
    blocks = update_docs.bench_blocks(
        (REPO / 'docs' / 'performance.md').read_text(encoding='utf-8'))
    assert len(blocks) >= 3
    for command, body in blocks:
        script = shlex.split(command)[1]
        assert script.startswith('tools/benchmarks/')
        assert (REPO / script).is_file()
        assert body.startswith('```text\n') and len(body.splitlines()) > 3
