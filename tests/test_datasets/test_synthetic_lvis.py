from lvis import LVIS
from mmdet.datasets import LVISV1Dataset

from mmdet_droploss.testing.synthetic_lvis import make_synthetic_lvis


def test_same_seed_same_bytes(tmp_path, tree_digest):
    kwargs = dict(num_train=3, num_val=2, image_size=64, num_active=5)
    make_synthetic_lvis(str(tmp_path / 'a'), seed=3, **kwargs)
    make_synthetic_lvis(str(tmp_path / 'b'), seed=3, **kwargs)
    make_synthetic_lvis(str(tmp_path / 'c'), seed=4, **kwargs)
    assert tree_digest(tmp_path / 'a') == tree_digest(tmp_path / 'b')
    assert tree_digest(tmp_path / 'a') != tree_digest(tmp_path / 'c')


def test_lvis_v1_format(tiny_lvis):
    lvis = LVIS(tiny_lvis['train'])
    cats = lvis.load_cats(lvis.get_cat_ids())
    assert [c['name'] for c in cats] == list(LVISV1Dataset.METAINFO['classes'])
    img = lvis.load_imgs(lvis.get_img_ids())[0]
    assert {'neg_category_ids', 'not_exhaustive_category_ids',
            'coco_url'} <= set(img)
    # long-tailed: every occurring category has a group and an image count
    occurring = [c for c in cats if c['image_count'] > 0]
    assert len({c['frequency'] for c in occurring}) >= 2
    ann = lvis.load_anns(lvis.get_ann_ids())[0]
    x, y, w, h = ann['bbox']
    poly = ann['segmentation'][0]
    assert min(poly[0::2]) == x and min(poly[1::2]) == y and ann['area'] > 0


def test_mmdet_dataset_loads_images_and_masks(tiny_lvis):
    dataset = LVISV1Dataset(
        data_root=tiny_lvis['root'],
        ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img=''),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True)
        ])
    sample = dataset[0]
    assert sample['img'].shape == (96, 96, 3)
    assert len(sample['gt_masks']) == len(sample['gt_bboxes']) > 0
