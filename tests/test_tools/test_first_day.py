"""A user's first day with the demo: the inference API on a checkpoint of
tools/train.py, the class names painted, offline evaluation of --out, and a
test whose model and data disagree on the classes."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import mmcv
import pytest
import torch
from mmdet.registry import DATASETS
from mmdet.visualization import DetLocalVisualizer
from mmengine.config import Config
from mmengine.registry import init_default_scope
from test_train_test_e2e import echo_config, logged_metrics, run

from mmdet_droploss.testing.synthetic_lvis import make_synthetic_lvis

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/demo/droploss_r18_synthetic_demo.py'


def demo_options(root: Path, val_ann_file: str) -> list:
    """--cfg-options moving the demo config to a small copy of its data."""
    options = [f'val_evaluator.ann_file={val_ann_file}',
               f'test_evaluator.ann_file={val_ann_file}',
               'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
               'train_dataloader.batch_size=2', 'randomness.seed=0']
    for loader in ('train', 'val', 'test'):
        options += [f'{loader}_dataloader.dataset.data_root={root}',
                    f'{loader}_dataloader.num_workers=0',
                    f'{loader}_dataloader.persistent_workers=False']
    return options


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> dict:
    """The demo's 20-class data, small, and a checkpoint of tools/train.py
    (two iterations of the demo config)."""
    tmp = tmp_path_factory.mktemp('demo')
    root = tmp / 'data'
    paths = make_synthetic_lvis(
        str(root), seed=0, num_train=4, num_val=3, image_size=96,
        num_active=20, only_active=True)
    options = demo_options(root, paths['val'])
    run(['tools/train.py', CONFIG, '--work-dir', str(tmp / 'work'),
         '--cfg-options', *options])
    return dict(root=root, options=options, tmp=tmp,
                checkpoint=tmp / 'work' / 'epoch_1.pth', **paths)


def file_names(ann_file: str) -> dict:
    with open(ann_file) as f:
        return {c['id']: c['name'] for c in json.load(f)['categories']}


def test_painted_label_is_the_files_category(demo):
    """The demo's dataset names label k as its file's k-th category (was:
    the k-th of LVIS's 1203 names), and the visualizer paints that name."""
    cfg = Config.fromfile(str(REPO / CONFIG))
    init_default_scope('mmdet')
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.data_root = str(demo['root'])
    dataset = DATASETS.build(dataset_cfg)
    names = file_names(demo['val'])
    assert dataset.metainfo['classes'] == tuple(names.values())

    sample = dataset[0]['data_samples']
    # the test pipeline loads the annotations at the image's own size
    image = mmcv.imread(sample.img_path, channel_order='rgb')
    assert len(sample.gt_instances)  # an image with objects
    # the visualizer draws tensors, the pipeline packs box objects
    sample.gt_instances.bboxes = sample.gt_instances.bboxes.tensor
    visualizer = DetLocalVisualizer(name='first_day')
    visualizer.dataset_meta = dataset.metainfo
    with mock.patch.object(visualizer, 'draw_texts',
                           wraps=visualizer.draw_texts) as draw_texts:
        visualizer.add_datasample('gt', image, sample, draw_pred=False)
    painted = [call.args[0] for call in draw_texts.call_args_list]
    # the image's annotations, by category id
    with open(demo['val']) as f:
        data = json.load(f)
    img_id = sample.img_id
    expected = sorted(names[a['category_id']] for a in data['annotations']
                      if a['image_id'] == img_id)
    assert sorted(painted) == expected


INFERENCE = """
import json, sys
from mmdet.apis import DetInferencer, inference_detector, init_detector
config, checkpoint, image = sys.argv[1:]
inferencer = DetInferencer(model=config, weights=checkpoint, device='cpu')
result = inferencer(image, return_datasamples=True)['predictions'][0]
model = init_detector(config, checkpoint, device='cpu')
again = inference_detector(model, image)
print(json.dumps(dict(
    classes=list(inferencer.model.dataset_meta['classes']),
    same=bool((result.pred_instances.scores ==
               again.pred_instances.scores).all()),
    count=len(result.pred_instances))))
"""


def test_inference_api_on_a_checkpoint_of_train(demo):
    """DetInferencer and init_detector load tools/train.py's checkpoint with
    torch's weights-only default (torch >= 2.6) and no environment
    variable, and name the data's classes."""
    env = {k: v for k, v in os.environ.items()
           if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    image = sorted((demo['root'] / 'val2017').glob('*.jpg'))[0]
    proc = subprocess.run(
        [sys.executable, '-c', INFERENCE, CONFIG, str(demo['checkpoint']),
         str(image)], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out['classes'] == list(file_names(demo['val']).values())
    assert out['same'] and out['count'] > 0

    # the image demo of docs/get_started.md, on the folder of images
    run(['tools/image_demo.py', str(image.parent), CONFIG, '--weights',
         str(demo['checkpoint']), '--device', 'cpu', '--out-dir',
         str(demo['tmp'] / 'outputs')])
    for sub, ext in (('vis', 'jpg'), ('preds', 'json')):
        written = sorted(p.stem for p in (demo['tmp'] / 'outputs' / sub)
                         .glob(f'*.{ext}'))
        assert written == sorted(p.stem for p in image.parent.glob('*.jpg'))


@pytest.mark.skipif(
    not hasattr(torch.serialization, 'add_safe_globals'),
    reason='torch < 2.4 has no allow-list and loads weights-only by choice')
def test_checkpoint_loads_weights_only(demo):
    import mmdet_droploss  # noqa: F401 (registers the allow-list)
    state = torch.load(demo['checkpoint'], weights_only=True)
    trusted = torch.load(demo['checkpoint'], weights_only=False)
    for key, value in trusted['state_dict'].items():
        assert torch.equal(state['state_dict'][key], value), key
    ours = state['message_hub']['log_scalars']['train/loss']
    theirs = trusted['message_hub']['log_scalars']['train/loss']
    assert len(ours.data[0]) == 2  # two iterations logged
    assert (ours.data[0] == theirs.data[0]).all()
    assert ours.mean() == theirs.mean()


class ForgedGetattr:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``: the getattr the
    allow-list admits, asked for more than a statistics method."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


def test_weights_only_refuses_other_getattr(tmp_path):
    import pickle

    import mmdet_droploss  # noqa: F401
    path = tmp_path / 'forged.pth'
    torch.save({'x': ForgedGetattr()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_offline_evaluation_equals_the_test_run(demo):
    """tools/eval.py and MMDetection's eval_metric.py on the file of
    tools/test.py --out give the numbers the test run printed (detections
    echoed from the ground truth: informative numbers)."""
    out = demo['tmp'] / 'predictions.pkl'
    config = echo_config(demo['tmp'])
    log = run(['tools/test.py', config, str(demo['checkpoint']),
               '--work-dir', str(demo['tmp'] / 'echo'), '--out', str(out),
               '--cfg-options', *demo['options']])
    tested = logged_metrics(log)
    assert 0 < tested['bbox_AP'] < 1 and 0 < tested['segm_AP'] < 1

    printed = run(['tools/eval.py', config, str(out), '--cfg-options',
                   *demo['options']])
    evaluated = json.loads(re.findall(r'^\{.*\}$', printed, re.M)[-1])
    assert {k.replace('lvis/', ''): v for k, v in evaluated.items()} == \
        pytest.approx(tested, abs=5e-5)  # printed with 4 decimals

    import mmdet
    eval_metric = (Path(mmdet.__file__).parent / '.mim' / 'tools' /
                   'analysis_tools' / 'eval_metric.py')
    printed = run([str(eval_metric), config, str(out), '--cfg-options',
                   *demo['options']])
    theirs = {f'{t}_{k}': float(v) for t, k, v in re.findall(
        r"'lvis/(bbox|segm)_(\w+)': (?:np\.float64\()?(-?[\d.e-]+)",
        printed)}
    assert theirs == pytest.approx(tested, abs=5e-5)


def test_test_with_another_class_count_stops(demo):
    """A model of 5 classes tested on the 20-class data stops before
    evaluating (was: exit 0 with AP 0.0), naming both counts."""
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', CONFIG, str(demo['checkpoint']),
         '--work-dir', str(demo['tmp'] / 'five'), '--cfg-options',
         *demo['options'], 'model.roi_head.bbox_head.num_classes=5',
         'model.roi_head.bbox_head.loss_cls.num_classes=5',
         'model.roi_head.mask_head.num_classes=5'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'The model and the test data disagree on the classes' in output
    assert "has 20, the model has num_classes {'roi_head.bbox_head': 5" \
        in output
    assert 'lvis/bbox_AP' not in output
