"""Every figure a user reads in README.md and docs/*.md comes from a
command: the measured ones stand in ``<!-- bench: COMMAND -->`` blocks,
which ``make bench`` (tools/benchmarks/update_docs.py) rewrites from what
the command prints; the others are marked as quoted from elsewhere or as
measured by hand.

The rule, applied to each line outside the marked blocks below:

- Marked blocks, skipped: ``<!-- bench: COMMAND -->`` (and
  ``<!-- bench (long): COMMAND -->``) ... ``<!-- /bench -->``, the command's
  output; ``<!-- quoted: SOURCE -->`` ... ``<!-- /quoted -->``, figures that
  no command of ours measured: the paper's, other repositories', model
  zoos', dataset facts, versions and constants of the configs and tools;
  ``<!-- by hand: HOW -->`` ... ``<!-- /by hand -->``, figures we measured
  once without a command that prints them (to be turned into blocks).
- Not read: inline code spans (also where they wrap onto the next line),
  link targets, HTML comments, and code (fenced, or indented by 4
  spaces): commands, configs, file trees. But code lines are read for
  figures with a unit of time, memory or share, and a fence of ``text``
  (what update_docs writes) outside a bench block is an error: output
  pasted by hand.
- A figure is a number with a thousands separator (``100,170``), a number
  with a decimal point (``52.1``), a number with a unit of time, memory or
  share (``12 ms``, ``1.3 GiB``, ``88%``, ``2 min``), a duration such as
  ``1m54s``, or a ratio such as ``0.37x``.
- Not figures: versions: ``x.y.z``, a number glued to a letter
  (``v0.5``, ``python3.11``), or after a package name or a comparison
  (``torch 2.1``, ``CUDA 12.1``, ``>= 2.2``).
"""
import importlib.util
import re
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md'))]
spec = importlib.util.spec_from_file_location(
    'update_docs', REPO / 'tools' / 'benchmarks' / 'update_docs.py')
update_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(update_docs)

MARKED = re.compile(
    r'<!-- (?P<kind>bench|quoted|by hand)(?: \(long\))?: .+? -->\n.*?'
    r'<!-- /(?P=kind) -->', re.S)
UNIT = (r'\d+(?:\.\d+)? ?(?:ms|s|min|minutes|seconds|hours|MiB|GiB|MB|GB)'
        r'\b|\d+(?:\.\d+)?%|\d+m\d+(?:\.\d+)?s\b')
FIGURE = re.compile(
    rf'(?<![\w.,])(?:{UNIT}|\d+\.\d+x\b|\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?'
    r'|\d+\.\d+(?!\d|\.\d))')
UNIT_FIGURE = re.compile(rf'(?<![\w.,])(?:{UNIT})')
VERSIONED = re.compile(
    r'(?:\b(?:Python|torch|numpy|mmcv|mmengine|MMEngine|mmdet|MMDetection|'
    r'CUDA|opencv-python|setuptools|torchvision|faster-coco-eval|'
    r'pycocotools|lvis-api|arXiv) ?|[<>=]=? ?)$')


def _blank(match: re.Match) -> str:
    """A match replaced by its newlines, so that line numbers stay."""
    return '\n' * match[0].count('\n')


def figures(text: str) -> Iterator[Tuple[int, str, str]]:
    """The figures of a document that stand outside the marked blocks.

    Args:
        text (str): The document.

    Yields:
        Tuple[int, str, str]: Line number, figure, and the line.
    """
    text = MARKED.sub(_blank, text)
    text = re.sub(r'<!--.*?-->', _blank, text, flags=re.S)
    # code spans, also those that wrap onto the next line of a paragraph
    text = re.sub(r'(?<!`)`(?!`)(?:[^`\n]|\n(?![ \t]*\n))*?`(?!`)', _blank,
                  text)
    fence = False
    for number, line in enumerate(text.split('\n'), 1):
        if line.lstrip().startswith('```'):
            fence = not fence
            continue
        if fence or line.startswith('    '):
            found = [m[0] for m in UNIT_FIGURE.finditer(line)]
        else:
            line = re.sub(r'\]\([^)\s]*\)', ']', line)
            found = [m[0] for m in FIGURE.finditer(line)
                     if not VERSIONED.search(line[:m.start()])]
        for figure in found:
            yield number, figure, line.strip()


def stray_text_fences(text: str) -> List[int]:
    """Lines that open a ``text`` fence outside the bench blocks."""
    text = MARKED.sub(_blank, text)
    return [number for number, line in enumerate(text.split('\n'), 1)
            if line.strip() == '```text']


@pytest.mark.parametrize('doc', [d.relative_to(REPO).as_posix()
                                 for d in DOCS])
def test_every_figure_comes_from_a_command_or_is_marked(doc):
    text = (REPO / doc).read_text(encoding='utf-8')
    unmarked = [f'{doc}:{n}: {figure!r} in "{line}"'
                for n, figure, line in figures(text)]
    assert not unmarked, (
        'figures outside <!-- bench: COMMAND -->, <!-- quoted: SOURCE --> '
        'or <!-- by hand: HOW --> blocks:\n' + '\n'.join(unmarked))
    assert not stray_text_fences(text), (
        f'{doc}: command output outside a bench block, lines '
        f'{stray_text_fences(text)}')
    for kind in ('bench', 'quoted', 'by hand'):
        assert text.count(f'<!-- {kind}') == text.count(
            f'<!-- /{kind} -->'), f'{doc}: an unclosed {kind} block'


@pytest.mark.parametrize('line, expected', [
    ('DropLoss lifts bbox APr by 9.2 points, to 52.1.', ['9.2', '52.1']),
    ('It took 1m37s, or 97 s, and 2.5 GiB (88% of it).',
     ['1m37s', '97 s', '2.5 GiB', '88%']),
    ('100,170 images, 0.37x the memory, 2 min 50 s.',
     ['100,170', '0.37x', '2 min', '50 s']),
    ('torch 2.1.2, torch 2.1, numpy >= 1.26, CUDA 12.1, LVIS v0.5, '
     'python3.11, a 1x schedule of 12 epochs, 3 seeds', []),
    ('`lr=0.02` and [arXiv](https://arxiv.org/abs/2104.06402)', []),
])
def test_the_rule_finds_figures_not_versions(line, expected):
    assert [f for _, f, _ in figures(line)] == expected


def test_a_figure_in_prose_fails_and_a_marked_one_passes():
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    assert not list(figures(readme))
    mutant = readme + '\nThe demo now takes 1m37s on 2 cores.\n'
    assert [(n, f) for n, f, _ in figures(mutant)] == [
        (mutant.count('\n'), '1m37s')]
    for opening, closing in [('<!-- quoted: a blog -->', '<!-- /quoted -->'),
                             ('<!-- by hand: once -->', '<!-- /by hand -->'),
                             ('<!-- bench: make demo -->', '<!-- /bench -->')]:
        marked = readme + f'\n{opening}\nIt takes 1m37s.\n{closing}\n'
        assert not list(figures(marked))
    assert not list(figures('    make demo   # once\n'))
    assert list(figures('    $ time make demo\n    real    1m54s\n'))
    assert stray_text_fences('```text\n0.4393\n```\n') == [1]


# update_docs: the tool that writes the bench blocks

def _doc(command: str, long: str = '', body: str = 'stale\n') -> str:
    return (f'Intro.\n\n<!-- bench{long}: {command} -->\n{body}'
            '<!-- /bench -->\n')


def test_update_docs_rewrites_a_block_from_its_command():
    out = update_docs.update(_doc('python -c "print(1)"'))
    assert out == _doc('python -c "print(1)"', body='```text\n1\n```\n')


def test_update_docs_runs_long_blocks_only_when_asked():
    doc = _doc('python -c "print(1)"', long=' (long)')
    assert update_docs.update(doc) == doc
    assert update_docs.bench_blocks(doc, long=False) == []
    out = update_docs.update(doc, long=True)
    assert update_docs.bench_blocks(out) == [
        ('python -c "print(1)"', '```text\n1\n```\n')]


def test_update_docs_runs_pipelines_and_each_command_once():
    command = 'python -c "import time; print(time.time_ns())" | tail -n 1'
    outputs = {}
    first = update_docs.update(_doc(command), outputs=outputs)
    second = update_docs.update(_doc(command) + _doc(command),
                                outputs=outputs)
    assert set(outputs) == {command}
    bodies = {b for _, b in update_docs.bench_blocks(first + second)}
    assert len(bodies) == 1 and bodies != {'stale\n'}


@pytest.mark.parametrize('command', [
    'bash -c true', 'rm -rf work_dirs', 'pytest tests', 'echo 0.4393'])
def test_update_docs_refuses_an_unknown_command_form(command):
    with pytest.raises(ValueError, match='runs a Python script'):
        update_docs.update(_doc(command))


def test_update_docs_finds_every_block_of_the_docs():
    """Each ``<!-- bench`` opening parses as a block whose command has a
    form update_docs runs."""
    found = 0
    for doc in DOCS:
        text = doc.read_text(encoding='utf-8')
        blocks = update_docs.bench_blocks(text)
        assert len(blocks) == text.count('<!-- bench'), doc
        assert text.count('<!-- /bench -->') == len(blocks), doc
        for command, body in blocks:
            update_docs.check_form(command)
            assert body.startswith('```text\n') and body.endswith('```\n')
        found += len(blocks)
    assert found >= 5
