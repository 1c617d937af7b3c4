# Copyright (c) mmdet-droploss contributors. All rights reserved.
from typing import Dict, Sequence


class FileClassesMixin:
    """Name the classes as the annotation file does.

    ``LVISV1Dataset`` and ``LVISV05Dataset`` number every category of their
    file but name them from their own list of 1203 (1230) LVIS names: on a
    file with other categories, label 16 is drawn and tabled under the 16th
    LVIS name. ``CocoDataset`` keeps the file's categories whose names are in
    ``metainfo['classes']`` and silently leaves out the names the file lacks.
    Here an LVIS dataset's classes become the file's category names (the same
    list on the full LVIS files), and a class the file lacks is an error
    that names it.

    Put before the dataset class: ``class X(FileClassesMixin, CocoDataset)``.
    """

    def parse_data_info(self, raw_data_info: dict) -> dict:
        # MMDetection drops its annotation API object when loading ends; the
        # parse of the first image is where the file's categories are at hand
        if not getattr(self, '_file_classes_checked', False):
            api = getattr(self, 'lvis', None) or self.coco
            self._set_classes({c['id']: c['name'] for c in api.cats.values()})
            self._file_classes_checked = True
        return super().parse_data_info(raw_data_info)

    def _set_classes(self, names: Dict[int, str]) -> None:
        """Check ``metainfo['classes']`` against the file's categories.

        Args:
            names (Dict[int, str]): The file's category names by id.

        Raises:
            ValueError: When the classes name a category the file lacks
                (COCO), or are neither LVIS's default list nor the file's
                names in order (LVIS, which numbers every category).
        """
        classes: Sequence[str] = self._metainfo['classes']
        where = f'{type(self).__name__} ({self.ann_file})'
        if not hasattr(self, 'lvis'):
            absent = [c for c in classes if c not in names.values()]
            if absent:
                raise ValueError(
                    f'{where}: metainfo classes {absent} are not categories '
                    f'of the annotation file, which names '
                    f'{list(names.values())[:20]} (first 20 at most). Fix: '
                    "name the classes as the file does, in the metainfo of "
                    "every dataloader's dataset (a variable such as "
                    '`classes` or `data_root` set in a config that inherits '
                    "does not reach the dataset dicts of its base: set them "
                    'there).')
            return
        file_names = tuple(names[i] for i in self.cat_ids)
        if tuple(classes) not in (tuple(self.METAINFO['classes']), file_names):
            raise ValueError(
                f'{where}: metainfo classes ({len(classes)}, starting '
                f'{list(classes[:3])}) are not the file\'s {len(file_names)} '
                f'categories (starting {list(file_names[:3])}), and this '
                'dataset labels every category of its file. Fix: leave '
                'metainfo classes out (they are taken from the file).')
        self._metainfo['classes'] = file_names
