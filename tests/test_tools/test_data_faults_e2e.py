"""A missing or corrupt training image during tools/train.py."""
import subprocess
import sys

from test_train_test_e2e import CONFIG, REPO, reduced_options, run


def test_training_stops_or_skips_as_configured(broken_lvis, tmp_path):
    root = str(broken_lvis['root'])
    options = reduced_options(root)
    # MMDetection's loader, as the configs use it: the run stops, naming
    # the image
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir',
         str(tmp_path / 'stop'), '--cfg-options', *options],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert (broken_lvis['missing'] in proc.stderr
            or broken_lvis['corrupt'] in proc.stderr)
    # skipping, switched on from the command line: both images reported
    log = run([
        'tools/train.py', CONFIG, '--work-dir', str(tmp_path / 'skip'),
        '--cfg-options', *options,
        'train_dataloader.dataset.pipeline.0.type=CheckedLoadImageFromFile',
        'train_dataloader.dataset.pipeline.0.on_error=skip'
    ])
    assert f"Skipped image {broken_lvis['missing']}: it is missing" in log
    assert f"Skipped image {broken_lvis['corrupt']}: it cannot be" in log
    assert (tmp_path / 'skip' / 'epoch_1.pth').is_file()
