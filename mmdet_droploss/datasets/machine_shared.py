# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Datasets loaded once per machine (docs/data.md)."""
import multiprocessing
import os
import os.path as osp
import pickle
import shutil
import socket
import tempfile
import traceback
import uuid
from typing import Optional

import numpy as np
from mmengine.dist import all_gather_object, barrier, get_rank


class MachineSharedMixin:
    """Load a serialized dataset once per machine, in a forked child of its
    lowest rank, and map it read-only in every rank (``full_init`` is a
    collective). Put before the dataset class.

    Args:
        share_dir (str, optional): Folder with room for the serialized data
            (about 1 GB for LVIS v1 train). None: ``/dev/shm`` where it has
            room, else the temporary folder.
        *args, **kwargs: The dataset's own; ``serialize_data`` stays True.
    """

    # what the dataset's load_data_list sets besides the data, shared too
    # (the metainfo: FileClassesMixin names the classes from the file)
    shared_attributes = ('cat_ids', 'cat2label', '_metainfo')

    def __init__(self, *args, share_dir: Optional[str] = None,
                 **kwargs) -> None:
        self.share_dir = share_dir
        super().__init__(*args, **kwargs)

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        if not self.serialize_data:
            extended = next(c for c in type(self).__mro__
                            if c.__module__.startswith('mmdet.'))
            raise ValueError(
                f'{type(self).__name__} shares the serialized dataset among '
                'ranks and needs serialize_data=True; with '
                'serialize_data=False use the dataset it extends, '
                f'{extended.__name__}.')
        # this machine's lowest rank loads (MMEngine's collectives are
        # no-ops without a process group)
        host = socket.gethostname()
        infos = all_gather_object((host, uuid.uuid4().hex))
        loader_rank = min(r for r, (h, _) in enumerate(infos) if h == host)
        loader, status = get_rank() == loader_rank, None
        if loader:
            # a child loads and exits: its memory goes with it
            context = multiprocessing.get_context('fork')
            receive, send = context.Pipe(duplex=False)
            name = f'mmdet-droploss-{infos[0][1]}-{host}'
            child = context.Process(target=self._load_and_write,
                                    args=(name, send), daemon=True)
            child.start()
            send.close()
            try:
                status = receive.recv()
            except EOFError:
                status = ('error', 'the loading process exited with code '
                          f'{child.exitcode} before it reported (killed for '
                          'memory?)')
            child.join()
        statuses = all_gather_object(status)
        kind, folder = statuses[loader_rank]
        failed = [(r, s[1]) for r, s in enumerate(statuses)
                  if s and s[0] == 'error']
        if failed:
            if loader and kind == 'ok':
                shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(
                f'{type(self).__name__}: loading {self.ann_file} failed on '
                f'rank {failed[0][0]}:\n{failed[0][1]}')
        self.data_bytes = np.load(osp.join(folder, 'data_bytes.npy'),
                                  mmap_mode='r')
        self.data_address = np.load(osp.join(folder, 'data_address.npy'))
        with open(osp.join(folder, 'attributes.pkl'), 'rb') as f:
            for key, value in pickle.load(f).items():
                setattr(self, key, value)
        self.data_list = []
        barrier()  # every rank has mapped the files
        if loader:
            # the mappings stay valid; the memory goes with the last one
            shutil.rmtree(folder, ignore_errors=True)
        self._fully_initialized = True

    def _load_and_write(self, name: str, send) -> None:
        """In the child: MMEngine's ``full_init``, the arrays written to
        ``name`` in a share folder; sends ('ok'|'error', folder|message)."""
        try:
            super().full_init()
            need = self.data_bytes.nbytes + self.data_address.nbytes
            tried = []
            share_dirs = [self.share_dir] if self.share_dir else [
                d for d in ('/dev/shm', tempfile.gettempdir()) if osp.isdir(d)
            ]
            for share_dir in share_dirs:
                folder = osp.join(share_dir, name)
                try:
                    if shutil.disk_usage(share_dir).free < 1.1 * need:
                        raise OSError(f'{share_dir} has less than '
                                      f'{need / 2**20:.0f} MiB free')
                    os.makedirs(folder)
                    np.save(osp.join(folder, 'data_bytes.npy'),
                            self.data_bytes)
                    np.save(osp.join(folder, 'data_address.npy'),
                            self.data_address)
                    with open(osp.join(folder, 'attributes.pkl'), 'wb') as f:
                        pickle.dump({k: getattr(self, k, None)
                                     for k in self.shared_attributes}, f)
                except OSError as e:
                    shutil.rmtree(folder, ignore_errors=True)
                    tried.append(f'{share_dir}: {e}')
                    continue
                send.send(('ok', folder))
                return
            send.send(('error', 'no folder could take the loaded dataset '
                       f'({need / 2**20:.0f} MiB): {"; ".join(tried)}. Give '
                       'share_dir a folder with room for it, e.g. '
                       "share_dir='/tmp'."))
        except BaseException:  # noqa: BLE001 (sent to every rank)
            send.send(('error', traceback.format_exc()))
        finally:
            send.close()
