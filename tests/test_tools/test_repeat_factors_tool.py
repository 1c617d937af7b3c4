"""tools/analysis/repeat_factors.py on a hand-made LVIS-format file."""
import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_repeat_factor_table_of_a_tiny_lvis_file(tmp_path):
    """Ten annotated images and one without annotations (left out):
    rare 'A' in image 1 (f = 0.1), common 'B' in images 2, 3 (f = 0.2),
    frequent 'C' in images 1 and 4 to 10 (f = 0.8). At t = 0.25:
    r_A = sqrt(2.5) = 1.581 (image 1), r_B = sqrt(1.25) = 1.118
    (images 2, 3), 1 for the other seven."""
    cats = [dict(id=1, name='A', frequency='r'),
            dict(id=2, name='B', frequency='c'),
            dict(id=3, name='C', frequency='f')]
    holds = {1: [1, 3], 2: [2], 3: [2], **{i: [3] for i in range(4, 11)}}
    anns = [dict(id=k, image_id=i, category_id=c, bbox=[0, 0, 10, 10],
                 area=100, segmentation=[[0, 0, 10, 0, 10, 10]])
            for k, (i, c) in enumerate(
                ((i, c) for i, cs in holds.items() for c in cs), 1)]
    images = [dict(id=i, width=64, height=48) for i in range(1, 12)]
    path = tmp_path / 'tiny_lvis.json'
    path.write_text(json.dumps(
        dict(images=images, annotations=anns, categories=cats)))

    out = subprocess.run(
        [sys.executable, 'tools/analysis/repeat_factors.py', str(path),
         '--thr', '0.25', '--epochs', '4', '--seed', '3'],
        cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert '10 of 11 images annotated, rare categories: 1;' in out
    assert '3 images with r_i > 1, the largest 1.58 (ceil 2)' in out
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if line.startswith('| ') and cells[0] not in ('sampling', '---'):
            rows[cells[0]] = (float(cells[1].replace(',', '')),
                              float(cells[2].rstrip('%')))

    assert rows['uniform: every image once'] == (10, 10.00)
    # ceil: 2 + 2 x 2 + 7 = 13 samples, 2 of them image 1 (rare)
    assert rows['ceil: `ClassBalancedDataset`, ceil(r_i)'] == (13, 15.38)
    r1, r2 = math.sqrt(2.5), math.sqrt(1.25)
    expected = 7 + r1 + 2 * r2
    images, share = rows['stochastic: expected, sum(r_i)']
    assert images == round(expected, 1)
    assert share == round(100 * r1 / expected, 2)
    epochs = [rows[f'stochastic: `RepeatFactorSampler`, epoch {epoch}']
              for epoch in range(4)]
    for images, share in epochs:
        # floor(r_i) to ceil(r_i) of each image; image 1 once or twice
        assert 10 <= images <= 13
        assert share in {round(100 * n / images, 2) for n in (1, 2)}
    # not ceil's every time (all four at 13: about 4e-9)
    assert min(images for images, _ in epochs) < 13
    assert len(rows) == 2 + 4 + 1


def test_repeat_factors_tool_answers_help():
    out = subprocess.run(
        [sys.executable, 'tools/analysis/repeat_factors.py', '--help'],
        cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert '--thr' in out and '--epochs' in out and '--seed' in out
