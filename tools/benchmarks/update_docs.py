# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Rerun the benchmarks a doc quotes and write what they print into it.

Every measured figure of docs/performance.md stands in a block that names
the command it comes from::

    <!-- bench: python tools/benchmarks/bench_loss.py --full --memory -->
    ```text
    (what the command printed)
    ```
    <!-- /bench -->

This script runs each block's command (``python`` is this interpreter)
from the repository root, one after the other, and replaces the block's
body with the command's output. ``make bench`` runs it on
docs/performance.md, so a figure that no longer holds is found by running
one command, and ``git diff`` shows what changed.
"""
import argparse
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Tuple

REPO = Path(__file__).resolve().parents[2]
BLOCK = re.compile(
    r'(?P<open><!-- bench: (?P<command>.+?) -->\n)(?P<body>.*?)'
    r'(?P<close><!-- /bench -->)', re.S)


def bench_blocks(text: str) -> List[Tuple[str, str]]:
    """The (command, body) of every benchmark block of a document.

    Args:
        text (str): The document.

    Returns:
        List[Tuple[str, str]]: Commands as written, bodies as they stand.
    """
    return [(m['command'], m['body']) for m in BLOCK.finditer(text)]


def run_command(command: str) -> str:
    """Run a block's command from the repository root.

    Args:
        command (str): The command, starting with ``python``.

    Returns:
        str: What it printed (stdout), without trailing blank lines.
    """
    argv = shlex.split(command)
    if argv[0] != 'python':
        raise ValueError(
            f'A bench block runs a Python script ("python ..."), got '
            f'{command!r}.')
    proc = subprocess.run([sys.executable] + argv[1:], cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(
            f'{command} exited with {proc.returncode}:\n{proc.stderr[-2000:]}')
    return proc.stdout.rstrip('\n')


def update(text: str, only: str = '') -> str:
    """The document with every block's body rewritten from its command.

    Args:
        text (str): The document.
        only (str): Run only the blocks whose command contains this.

    Returns:
        str: The updated document.
    """

    def rewrite(m: re.Match) -> str:
        if only not in m['command']:
            return m[0]
        start = time.perf_counter()
        print(f'running {m["command"]}', file=sys.stderr, flush=True)
        out = run_command(m['command'])
        print(f'  {time.perf_counter() - start:.0f} s', file=sys.stderr)
        return f'{m["open"]}```text\n{out}\n```\n{m["close"]}'

    return BLOCK.sub(rewrite, text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('doc', nargs='?', default='docs/performance.md',
                        help='the document (default: docs/performance.md)')
    parser.add_argument('--only', default='',
                        help='run only the blocks whose command contains '
                        'this text, e.g. bench_loss')
    args = parser.parse_args()
    path = REPO / args.doc
    text = path.read_text(encoding='utf-8')
    if not bench_blocks(text):
        raise SystemExit(f'{args.doc} has no "<!-- bench: ... -->" block.')
    path.write_text(update(text, args.only), encoding='utf-8')


if __name__ == '__main__':
    main()
