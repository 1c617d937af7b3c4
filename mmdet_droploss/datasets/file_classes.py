# Copyright (c) mmdet-droploss contributors. All rights reserved.


class FileClassesMixin:
    """Name the classes as the annotation file does: an LVIS dataset's
    become the file's names (MMDetection takes LVIS's list), a class a COCO
    file lacks is an error (MMDetection drops it). Put before the dataset
    class."""

    def parse_data_info(self, raw_data_info: dict) -> dict:
        # the first parse: the file's API object is gone once loading ends
        if not getattr(self, '_file_classes_checked', False):
            api = getattr(self, 'lvis', None) or self.coco
            names = {c['id']: c['name'] for c in api.cats.values()}
            classes = self._metainfo['classes']
            where = f'{type(self).__name__} ({self.ann_file})'
            if not hasattr(self, 'lvis'):
                absent = [c for c in classes if c not in names.values()]
                if absent:
                    raise ValueError(
                        f'{where}: metainfo classes {absent} are not '
                        'categories of the annotation file, which names '
                        f'{list(names.values())[:20]} (first 20 at most). '
                        'Fix: name the classes as the file does, in the '
                        "metainfo of every dataloader's dataset (a variable "
                        'such as `classes` or `data_root` set in a config '
                        'that inherits does not reach the dataset dicts of '
                        'its base: set them there).')
            else:
                file_names = tuple(names[i] for i in self.cat_ids)
                if tuple(classes) not in (tuple(self.METAINFO['classes']),
                                          file_names):
                    raise ValueError(
                        f'{where}: metainfo classes ({len(classes)}, '
                        f"starting {list(classes[:3])}) are not the file's "
                        f'{len(file_names)} categories (starting '
                        f'{list(file_names[:3])}), and this dataset labels '
                        'every category of its file. Fix: leave metainfo '
                        'classes out (they are taken from the file).')
                self._metainfo['classes'] = file_names
            self._file_classes_checked = True
        return super().parse_data_info(raw_data_info)
