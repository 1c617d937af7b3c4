# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Datasets loaded once per machine and shared by all its ranks.

MMDetection builds each rank's dataset by itself: on a machine with 8 GPUs,
8 processes parse the same annotation file at the same moment. For LVIS
v1's training file (1.1 GB of JSON) each parse peaks at about 8.6 GB and
the rank keeps about 8 GB afterwards (the parsed objects are freed, but
Python does not return their memory to the system): some 70 GB for the
machine. Here one process per machine parses the file, in a child process
of its own that exits when done, and writes MMEngine's serialized form
(``data_bytes``, ``data_address``) to a folder (in ``/dev/shm`` where it
has room); every rank of the machine maps those two arrays read-only, so
the machine holds one copy, the data loader's workers included.
"""
import multiprocessing
import os
import os.path as osp
import pickle
import shutil
import socket
import tempfile
import traceback
import uuid
from typing import List, Optional, Tuple

import numpy as np
from mmengine.dist import all_gather_object, barrier, get_rank, is_distributed


def share_dirs(share_dir: Optional[str]) -> List[str]:
    """The folders to try, in order: the one named, else ``/dev/shm`` and
    then the temporary folder (a file there, once read, is shared through
    the page cache just as well)."""
    if share_dir:
        return [share_dir]
    return [d for d in ('/dev/shm', tempfile.gettempdir()) if osp.isdir(d)]


class MachineSharedMixin:
    """Load a serialized dataset once per machine and map it in every rank.

    Put before the dataset class: ``class X(MachineSharedMixin,
    LVISV1Dataset)``. ``full_init`` is a collective in a distributed run:
    every rank builds the dataset at the same point (as MMEngine's runner
    does); the lowest rank of each machine loads it. The numbers of items,
    their contents and order are the dataset's own.

    Args:
        share_dir (str, optional): Folder the loaded dataset passes through;
            it needs room for the serialized dataset (about 1 GB for LVIS v1
            train). None: ``/dev/shm`` where it has room, else the
            temporary folder.
        *args, **kwargs: The dataset's own arguments; ``serialize_data``
            must stay True.
    """

    # what the dataset's load_data_list sets besides the data, shared too
    # (the metainfo: FileClassesMixin names the classes from the file)
    shared_attributes: Tuple[str, ...] = ('cat_ids', 'cat2label',
                                          '_metainfo')

    def __init__(self, *args, share_dir: Optional[str] = None,
                 **kwargs) -> None:
        self.share_dir = share_dir
        # whether this process's child loaded the data (for the tests)
        self.loaded_here = False
        super().__init__(*args, **kwargs)

    def full_init(self) -> None:
        """Load the dataset on one process of the machine, then map it.

        Raises:
            ValueError: With ``serialize_data=False``: there would be
                nothing to share.
            RuntimeError: When loading failed on a machine (every rank
                raises it, naming the rank that loaded and its error).
        """
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
        name, loader_rank = self._plan()
        loader = not is_distributed() or get_rank() == loader_rank
        status = self._load_in_child(name) if loader else None
        statuses = all_gather_object(status) if is_distributed() else [
            status
        ]
        kind, value = statuses[loader_rank if is_distributed() else 0]
        failed = [(r, s[1]) for r, s in enumerate(statuses)
                  if s is not None and s[0] == 'error']
        if failed:
            if loader and kind == 'ok':
                shutil.rmtree(value, ignore_errors=True)
            rank, error = failed[0]
            raise RuntimeError(
                f'{type(self).__name__}: loading {self.ann_file} failed on '
                f'rank {rank}:\n{error}')
        self._attach(value)
        if is_distributed():
            barrier()  # every rank has mapped the files
        if loader:
            # the mappings stay valid; the memory goes with the last one
            shutil.rmtree(value, ignore_errors=True)
        self.loaded_here = loader
        self._fully_initialized = True

    def _plan(self) -> Tuple[str, int]:
        """A name for this machine's share folder, and the rank that loads
        the data into it (the lowest rank of the machine)."""
        host = socket.gethostname()
        token = uuid.uuid4().hex
        loader_rank = 0
        if is_distributed():
            infos: List[Tuple[str, str]] = all_gather_object((host, token))
            token = infos[0][1]
            loader_rank = min(r for r, (h, _) in enumerate(infos)
                              if h == host)
        return f'mmdet-droploss-{token}-{host}', loader_rank

    def _load_in_child(self, name: str) -> Tuple[str, str]:
        """Load, filter and serialize in a forked child that writes the
        arrays to a folder ``name`` and exits (its memory with it).

        Returns:
            Tuple[str, str]: ('ok', the folder) or ('error', what went
            wrong).
        """
        context = multiprocessing.get_context('fork')
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=self._load_and_write,
                                args=(name, send), daemon=True)
        child.start()
        send.close()
        try:
            status = receive.recv()
        except EOFError:
            status = ('error', f'the loading process exited with code '
                      f'{child.exitcode} before it reported (killed for '
                      'memory?)')
        child.join()
        return status

    def _load_and_write(self, name: str, send) -> None:
        """The child: MMEngine's own ``full_init``, then the arrays out to
        the first share folder with room for them."""
        try:
            super().full_init()
            need = self.data_bytes.nbytes + self.data_address.nbytes
            tried = []
            for share_dir in share_dirs(self.share_dir):
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

    def _attach(self, folder: str) -> None:
        """Map the serialized dataset read-only and set the shared
        attributes."""
        self.data_bytes = np.load(osp.join(folder, 'data_bytes.npy'),
                                  mmap_mode='r')
        self.data_address = np.load(osp.join(folder, 'data_address.npy'))
        with open(osp.join(folder, 'attributes.pkl'), 'rb') as f:
            for key, value in pickle.load(f).items():
                setattr(self, key, value)
        self.data_list = []
