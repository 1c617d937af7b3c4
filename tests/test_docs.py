"""What README.md and docs/*.md show exists and runs: every tool they name
answers --help, every config they name loads with agreeing class counts
(test_configs.py builds the model of every config), and every relative
link resolves inside the repository."""
import glob
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest
from mmengine.config import Config
from test_configs import CONFIGS

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md'))]

# a path as the docs write it: not the tail of a longer path
# (tests/test_tools/...), possibly with {a,b} alternatives or a * glob
PATH = r'(?<![\w/.-]){top}/[\w/.{{}},*-]+\.{ext}\b'


def expand(name: str) -> List[str]:
    """``a/{x,y}_z.py`` -> ``a/x_z.py``, ``a/y_z.py``; globs as written."""
    match = re.search(r'\{([^{}]*)\}', name)
    if match is None:
        return [name]
    return [
        expanded for option in match.group(1).split(',') for expanded in
        expand(name[:match.start()] + option + name[match.end():])
    ]


def named_paths(top: str, ext: str) -> Dict[str, str]:
    """Every ``top/...ext`` path in the docs, with a doc that names it."""
    found = {}
    for doc in DOCS:
        text = doc.read_text(encoding='utf-8')
        for name in re.findall(PATH.format(top=top, ext=ext), text):
            for path in expand(name):
                found.setdefault(path, doc.relative_to(REPO).as_posix())
    return found


def resolve(path: str) -> List[str]:
    """The repository files a named path stands for (a glob: all matches).
    """
    if '*' in path:
        return sorted(
            Path(p).relative_to(REPO).as_posix()
            for p in glob.glob(str(REPO / path)))
    return [path] if (REPO / path).is_file() else []


TOOLS = named_paths('tools', 'py')
SCRIPTS = named_paths('tools', 'sh')
NAMED_CONFIGS = named_paths('configs', 'py')


def test_the_docs_name_tools_and_configs():
    # the parser finds what the README shows; an empty set would pass all
    assert {'tools/train.py', 'tools/test.py'} <= set(TOOLS)
    assert 'tools/dist_train.sh' in SCRIPTS
    assert {'configs/droploss_r50_lvis.py',
            'configs/droploss_r50_90k_lvis.py',
            'configs/demo/droploss_r50_synthetic.py'} <= set(NAMED_CONFIGS)
    assert 'configs/analysis/eql_r18_lvis_like.py' in NAMED_CONFIGS


@pytest.mark.parametrize('named', sorted({**TOOLS, **SCRIPTS,
                                          **NAMED_CONFIGS}))
def test_named_file_exists(named):
    where = {**TOOLS, **SCRIPTS, **NAMED_CONFIGS}[named]
    assert resolve(named), f'{where} names {named}, which does not exist'


HELP_DRIVER = '''
import contextlib, io, json, os, runpy, sys
results = {}
for path in sys.argv[1:]:
    out = io.StringIO()
    sys.argv = [path, '--help']
    # as `python PATH`: the script's folder first on the path
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    code = None
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name='__main__')
    except SystemExit as exit:
        code = exit.code
    except Exception as error:
        code = f'{type(error).__name__}: {error}'
    results[path] = dict(code=code, out=out.getvalue())
print(json.dumps(results))
'''


@pytest.fixture(scope='module')
def help_outputs() -> Dict[str, dict]:
    """``python TOOL --help`` of every named tool, run as ``__main__`` in
    one process (the imports of MMDetection cost seconds per process)."""
    tools = sorted({p for name in TOOLS for p in resolve(name)})
    proc = subprocess.run(
        [sys.executable, '-c', HELP_DRIVER, *tools], cwd=REPO,
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_named_tool_answers_help(help_outputs, tool):
    for path in resolve(tool):
        result = help_outputs[path]
        assert result['code'] in (0, None), f'{path} --help: {result}'
        assert result['out'].startswith('usage:'), result['out'][:200]


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_named_shell_script_parses(script):
    for path in resolve(script):
        proc = subprocess.run(['bash', '-n', path], cwd=REPO,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize('config', sorted(NAMED_CONFIGS))
def test_named_config_loads(config):
    for path in resolve(config):
        Config.fromfile(str(REPO / path))
        # test_configs.py builds the model of each of these
        assert str(Path(path).relative_to('configs')) in CONFIGS


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def _anchors(doc: Path) -> Set[str]:
    headings = re.findall(r'^#+ (.+)$', doc.read_text(encoding='utf-8'),
                          flags=re.M)
    return {_slug(h) for h in headings}


def _prose(text: str) -> str:
    """The text without code: fenced blocks, indented blocks, `spans`."""
    text = re.sub(r'^```.*?^```', '', text, flags=re.M | re.S)
    text = re.sub(r'^ {4,}.*$', '', text, flags=re.M)
    return re.sub(r'`[^`\n]*`', '', text)


def _links(doc: Path) -> List[str]:
    return re.findall(r'!?\[[^\]]*\]\(([^)\s]+)\)',
                      _prose(doc.read_text(encoding='utf-8')))


def test_docs_have_links():
    assert {'docs/method.md', 'docs/get_started.md'} <= set(
        _links(REPO / 'README.md'))


@pytest.mark.parametrize('doc', [d.relative_to(REPO).as_posix()
                                 for d in DOCS])
def test_relative_links_resolve_inside_the_repository(doc):
    source = REPO / doc
    for link in _links(source):
        if re.match(r'^[a-z][a-z0-9+.-]*:', link):  # https:, mailto:
            continue
        target, _, anchor = link.partition('#')
        path = (source.parent / target).resolve() if target else source
        assert path.is_relative_to(REPO), f'{doc}: {link} leaves the repo'
        assert path.exists(), f'{doc}: {link} does not exist'
        if anchor and path.suffix == '.md':
            assert anchor in _anchors(path), f'{doc}: no #{anchor}'


@pytest.mark.parametrize('doc', [d.relative_to(REPO).as_posix()
                                 for d in DOCS])
def test_no_doc_refers_outside_the_repository(doc):
    # a user's clone has no ../shared (this project's working folders)
    assert '../shared' not in (REPO / doc).read_text(encoding='utf-8')


def test_gpu_recipe_installs_the_torchvision_of_its_torch():
    """torchvision 0.(m + 15) belongs to torch 2.m; the GPU users' stack
    pins the pair and README's GPU recipe installs both."""
    pins = dict(re.findall(r'^(torch|torchvision)==(\S+)$',
                           (REPO / 'requirements/gpu-users.txt').read_text(),
                           re.M))
    torch_minor = int(pins['torch'].split('.')[1])
    assert pins['torchvision'].startswith(f'0.{torch_minor + 15}.')
    recipe = f"torch=={pins['torch']} torchvision=={pins['torchvision']}"
    assert recipe in (REPO / 'README.md').read_text()
    assert recipe in (REPO / 'docs/installation.md').read_text()


def test_tta_is_offered_only_with_a_tta_config():
    """No config defines tta_model (MMDetection's TTA merges boxes only),
    so neither the docs nor tools/test.py offer --tta."""
    assert not any('tta_model' in Path(c).read_text()
                   for c in glob.glob(str(REPO / 'configs/**/*.py'),
                                      recursive=True))
    texts = [p.read_text() for p in [REPO / 'README.md',
                                     REPO / 'tools/test.py',
                                     *(REPO / 'docs').glob('*.md')]]
    assert not any('--tta' in t for t in texts)
