"""The analysis tools: result tables, Pareto frontier and the plots."""
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
# the analysis tools' shared module, beside them (not in the package)
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
from eval_results import (  # noqa: E402
    multi_seed_tables,
    named_results,
    pareto_front,
    seed_runs,
    summary_table,
)

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


@pytest.mark.parametrize('points,front', [
    ([(1, 1)], [0]),
    ([(1, 3), (2, 2), (3, 1)], [0, 1, 2]),          # a trade-off: all on it
    ([(1, 1), (2, 2), (3, 1)], [1, 2]),             # (1, 1) dominated
    ([(2, 2), (2, 2), (1, 1)], [0, 1]),             # ties stay
    ([(3, 0), (0, 3), (1, 1), (2, 1)], [1, 3, 0]),  # sorted by x
])
def test_pareto_front(points, front):
    assert pareto_front(points) == front


def write_results(folder: Path, ap: dict, per_category: list) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / 'results.eval.json'
    path.write_text(json.dumps(
        {'segm': dict(ap, per_category=per_category)}))
    return str(path)


def category(i, freq, count, ap):
    return dict(id=i, name=f'c{i}', frequency=freq, image_count=count, ap=ap)


@pytest.fixture
def two_runs(tmp_path):
    cats = [category(1, 'r', 3, 0.0), category(2, 'c', 40, 0.2),
            category(3, 'f', 500, 0.6), category(4, 'f', 900, -1.0)]
    base = write_results(
        tmp_path / 'sigmoid',
        dict(AP=0.30, APr=0.0, APc=0.2, APf=0.6), cats)
    ours = write_results(
        tmp_path / 'droploss',
        dict(AP=0.35, APr=0.1, APc=0.3, APf=0.55),
        [dict(c, ap=c['ap'] + 0.1 if c['ap'] >= 0 else -1.0) for c in cats])
    return [base, ours]


def test_summary_table(two_runs):
    table = summary_table(named_results(two_runs))
    assert table.splitlines() == [
        '| method | segm AP | segm APr | segm APc | segm APf |',
        '|---|---|---|---|---|',
        '| sigmoid | 30.0 | 0.0 | 20.0 | 60.0 |',
        '| droploss | 35.0 | 10.0 | 30.0 | 55.0 |',
    ]


def test_named_results_errors(tmp_path, two_runs):
    with pytest.raises(ValueError, match='1 names for 2 result files'):
        named_results(two_runs, ['only-one'])
    bad = tmp_path / 'bad.json'
    bad.write_text('{"segm": [1, 2]}')
    with pytest.raises(ValueError, match='not an evaluation result file'):
        named_results([str(bad)])
    with pytest.raises(FileNotFoundError, match='does not exist'):
        named_results([str(tmp_path / 'missing.json')])


def run_tool(*args) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000


def drawn(monkeypatch, tool: str, *args: str):
    """Runs TOOL's main in this process and returns the figure it saved
    (written as usual), to read what it draws."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib.figure import Figure
    saved = []
    savefig = Figure.savefig

    def keep(fig, *a, **k):
        saved.append(fig)
        return savefig(fig, *a, **k)

    monkeypatch.setattr(Figure, 'savefig', keep)
    monkeypatch.setattr(sys, 'argv', [tool, *args])
    runpy.run_path(str(REPO / tool), run_name='__main__')
    assert len(saved) == 1
    return saved[0]


def points(ax) -> list:
    """The (x, y) of every scatter point of an axes."""
    return [tuple(map(float, xy)) for c in ax.collections
            for xy in c.get_offsets()]


def test_collect_results(two_runs, tmp_path):
    out = tmp_path / 'table.md'
    printed = run_tool('tools/analysis/collect_results.py', *two_runs,
                       '--names', 'A', 'B', '--out', str(out))
    assert '| B | 35.0 | 10.0 | 30.0 | 55.0 |' in printed
    assert out.read_text().strip() == printed.strip()


def test_plot_pareto(two_runs, tmp_path, monkeypatch):
    out = tmp_path / 'pareto.png'
    fig = drawn(monkeypatch, 'tools/analysis/plot_pareto.py', *two_runs,
                '--names', 'base', 'ours', '--out', str(out))
    assert_png(out)
    rare, common = fig.axes
    # APf on x, APr / APc on y, in %, one point per run
    np.testing.assert_allclose(points(rare), [(60, 0), (55, 10)])
    np.testing.assert_allclose(points(common), [(60, 20), (55, 30)])
    assert rare.get_xlabel() == 'segm APf (%)'
    assert (rare.get_ylabel(), common.get_ylabel()) == ('segm APr (%)',
                                                        'segm APc (%)')
    assert [t.get_text() for t in rare.texts] == ['base', 'ours']
    # neither run dominates: both on the frontier, drawn by APf
    (front, ) = rare.get_lines()
    np.testing.assert_allclose(front.get_xdata(), [55, 60])


def test_plot_pareto_unknown_iou_type(two_runs, tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/analysis/plot_pareto.py', *two_runs,
         '--iou-type', 'bbox', '--out', str(tmp_path / 'x.png')],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "has no 'bbox' results" in proc.stderr


def test_plot_ap_by_frequency(two_runs, tmp_path, monkeypatch):
    out = tmp_path / 'ap.png'
    fig = drawn(monkeypatch, 'tools/analysis/plot_ap_by_frequency.py',
                *two_runs, '--bins', '3', '--names', 'base', 'ours',
                '--out', str(out))
    assert_png(out)
    (ax, ) = fig.axes
    # categories with an AP (not the -1 of category 4): image count, AP %
    np.testing.assert_allclose(points(ax), [
        (3, 0), (40, 20), (500, 60), (3, 10), (40, 30), (500, 70)])
    assert ax.get_xscale() == 'log'
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        'base (bin mean)', 'ours (bin mean)']
    # the r and c group bounds, after their largest image counts
    assert [t.get_text() for t in ax.texts] == [' r|', ' c|']


def test_plot_grad_stats(tmp_path, monkeypatch):
    stats = dict(
        iter=10,
        losses={
            'roi_head.bbox_head.loss_cls': dict(
                pos=[5.0, 1.0, 0.1], neg_fg=[2.0, 1.0, 0.5],
                neg_bg=[9.0, 4.0, 2.0], category_freq=[0.5, 0.1, 0.001],
                tail=[False, False, True], mode='drop', lambda_=0.01)
        })
    path = tmp_path / 'cls_grad_stats.json'
    path.write_text(json.dumps(stats))
    out = tmp_path / 'grad.png'
    printed = run_tool('tools/analysis/plot_grad_stats.py', str(path),
                       '--out', str(out))
    assert_png(out)
    bars, ratios = drawn(monkeypatch, 'tools/analysis/plot_grad_stats.py',
                         str(path), '--out', str(out)).axes
    # bars: per group (tail, other) the mean positive, fg and bg gradient
    assert [t.get_text() for t in bars.get_xticklabels()] == ['tail',
                                                              'other']
    heights = [p.get_height() for p in bars.patches]
    assert heights == pytest.approx([0.1, 3, 0.5, 1.5, 2, 6.5])
    # ratios: categories by descending positive gradient
    fg, bg = ratios.get_lines()
    assert list(fg.get_ydata()) == pytest.approx([0.4, 1.0, 5.0])
    assert list(bg.get_ydata()) == pytest.approx([1.8, 4.0, 20.0])
    # the group means: tail = category 2 alone, other = mean of 0 and 1
    assert '| tail | 0.1 | 0.5 | 2 |' in printed
    assert '| other | 3 | 1.5 | 6.5 |' in printed
    # grouped by the LVIS groups of an annotation file
    ann = tmp_path / 'train.json'
    ann.write_text(json.dumps(dict(
        images=[], annotations=[],
        categories=[dict(id=i + 1, name=f'c{i}', frequency=g)
                    for i, g in enumerate('fcr')])))
    run_tool('tools/analysis/plot_grad_stats.py', str(path), '--ann-file',
             str(ann), '--out', str(out))
    assert_png(out)


def test_longtail_benchmark_small(tmp_path):
    """The benchmark at a toy size: one table row per method and result
    files the plot tools read."""
    printed = run_tool('tools/analysis/longtail_benchmark.py',
                       '--num-classes', '30', '--num-images', '2000',
                       '--seeds', '2', '--epochs', '1', '--out',
                       str(tmp_path))
    rows = [line for line in printed.splitlines()
            if line.startswith('| ') and '+-' in line]
    assert [r.split('|')[1].strip() for r in rows] == [
        'sigmoid', 'eql', 'droploss', 'eql - sigmoid', 'droploss - sigmoid']
    files = [str(tmp_path / m / 'results.eval.json')
             for m in ('sigmoid', 'eql', 'droploss')]
    runs = named_results(files)
    assert all(len(r['cls']['per_category']) == 30 for _, r in runs)
    out = tmp_path / 'pareto.png'
    run_tool('tools/analysis/plot_pareto.py', *files, '--out', str(out))
    assert_png(out)


def write_seed_run(root: Path, seed: int, method: str, protocol: str,
                   bbox_ap: float) -> None:
    folder = root / f'seed{seed}' / method
    folder.mkdir(parents=True, exist_ok=True)
    numbers = dict(AP=bbox_ap, APr=bbox_ap / 2, APc=0.5, APf=0.75)
    (folder / f'{protocol}.eval.json').write_text(
        json.dumps({'bbox': numbers, 'segm': numbers}))


@pytest.fixture
def seed_dir(tmp_path) -> Path:
    # sigmoid 0.40 / 0.30; droploss 0.45 / 0.32 (+5.0 and +2.0 points)
    for seed, method, ap in ((0, 'sigmoid', 0.40), (1, 'sigmoid', 0.30),
                             (0, 'droploss', 0.45), (1, 'droploss', 0.32),
                             (2, 'droploss', 0.34)):
        write_seed_run(tmp_path, seed, method, 'standard', ap)
    write_seed_run(tmp_path, 0, 'sigmoid', 'fixed', 0.5)
    return tmp_path


def test_seed_tables_mean_spread_and_paired_differences(seed_dir):
    tables = multi_seed_tables(seed_runs(str(seed_dir), 'standard'),
                               baseline='sigmoid', iou_types=['bbox'],
                               keys=['AP', 'APr', 'APc'])
    lines = tables.splitlines()
    assert lines[0] == 'Mean ± standard deviation over seeds [0, 1, 2]:'
    # droploss: mean 37.0, sample sd of (45, 32, 34) = 7.0
    assert '| droploss | 3 | 37.0 ± 7.0 | 18.5 ± 3.5 | 50.0 ± 0.0 |' in lines
    assert '| sigmoid | 2 | 35.0 ± 7.1 | 17.5 ± 3.5 | 50.0 ± 0.0 |' in lines
    assert lines[4].startswith('| sigmoid ')  # the baseline first
    # only seeds both methods have are paired (seed 2 is not)
    assert ('| droploss | 2 | +5.0, +2.0 (+3.5) | +2.5, +1.0 (+1.8) | '
            '+0.0, +0.0 (+0.0) |') in lines


def test_seed_table_tool_and_its_errors(seed_dir, tmp_path):
    out = tmp_path / 'table.md'
    result = subprocess.run(
        [sys.executable, 'tools/analysis/seed_table.py', str(seed_dir),
         '--protocol', 'fixed', '--out', str(out)],
        cwd=REPO, capture_output=True, text=True, check=True)
    assert '| sigmoid | 1 | 50.0 | 25.0 |' in result.stdout
    assert out.read_text() == result.stdout
    with pytest.raises(KeyError, match='No .eql. runs'):
        multi_seed_tables(seed_runs(str(seed_dir), 'standard'), 'eql')
    with pytest.raises(FileNotFoundError, match='longtail_multiseed.sh'):
        seed_runs(str(tmp_path / 'empty'), 'standard')
