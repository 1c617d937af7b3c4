# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Rerun the commands the docs quote and write what they print into them.

Every figure of README.md and docs/*.md that one of our commands measured
stands in a block that names the command it comes from::

    <!-- bench: python tools/benchmarks/bench_loss.py --full --memory -->
    ```text
    (what the command printed)
    ```
    <!-- /bench -->

``<!-- bench (long): COMMAND -->`` marks a command that takes more than a
few minutes (the demo, the experiments, CI) or reads what such a run or a
manual step wrote (``work_dirs/``, generated data): only ``--long`` reruns
it.

A command is a shell pipeline that bash runs from the repository root,
with this interpreter's folder first on ``PATH`` (``python`` is this
interpreter). Its first program is ``python``, ``bash FILE``, ``make`` or
``cat FILE``, after optional ``VAR=value`` settings and ``time`` (or
``{ time``); later stages of the pipeline may keep part of what it printed
(``| tail -n 1``, ``| grep ...``), so that the opening says how the body was
trimmed. The body is the pipeline's stdout, verbatim. A command named by
several blocks runs once.

``make bench`` runs this script on every doc; ``git diff`` then shows the
figures that changed.
"""
import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]
DOCS = ['README.md', *sorted(
    p.relative_to(REPO).as_posix() for p in (REPO / 'docs').glob('*.md'))]
BLOCK = re.compile(
    r'(?P<open><!-- bench(?P<long> \(long\))?: (?P<command>.+?) -->\n)'
    r'(?P<body>.*?)(?P<close><!-- /bench -->)', re.S)
# the first program of a command, after settings and the time keyword
FORM = re.compile(
    r'(?:\{ )?(?:time )?(?:\w+=\S* )*(?:python |bash (?!-)|make\b|cat )')


def bench_blocks(text: str, long: bool = True) -> List[Tuple[str, str]]:
    """The (command, body) of every block of a document.

    Args:
        text (str): The document.
        long (bool): Include the blocks marked ``(long)``.

    Returns:
        List[Tuple[str, str]]: Commands as written, bodies as they stand.
    """
    return [(m['command'], m['body']) for m in BLOCK.finditer(text)
            if long or not m['long']]


def check_form(command: str) -> None:
    """Refuse a command whose first program is not one a block may run.

    Args:
        command (str): The command of a block.

    Raises:
        ValueError: Naming the forms a block may run.
    """
    if not FORM.match(command):
        raise ValueError(
            'A block runs a Python script ("python ..."), a script '
            '("bash FILE ..."), a make target ("make ...") or prints a file '
            f'("cat FILE"), possibly piped into a filter; got {command!r}.')


def run_command(command: str) -> str:
    """Run a block's command with bash from the repository root.

    Args:
        command (str): The command, as the block names it.

    Returns:
        str: What it printed (stdout), without trailing blank lines.
    """
    check_form(command)
    env = dict(os.environ)
    env['PATH'] = f'{Path(sys.executable).parent}{os.pathsep}{env["PATH"]}'
    proc = subprocess.run(['bash', '-o', 'pipefail', '-c', command],
                          cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(
            f'{command} exited with {proc.returncode}:\n{proc.stderr[-2000:]}')
    return proc.stdout.rstrip('\n')


def update(text: str, only: str = '', long: bool = False,
           outputs: Optional[Dict[str, str]] = None) -> str:
    """The document with its blocks' bodies rewritten from their commands.

    Args:
        text (str): The document.
        only (str): Run only the blocks whose command contains this.
        long (bool): Also run the blocks marked ``(long)``.
        outputs (dict, optional): Outputs of commands already run, by
            command; the commands run here are added to it.

    Returns:
        str: The updated document.
    """
    outputs = {} if outputs is None else outputs
    for match in BLOCK.finditer(text):
        check_form(match['command'])

    def rewrite(m: re.Match) -> str:
        command = m['command']
        if only not in command or (m['long'] and not long):
            return m[0]
        if command not in outputs:
            start = time.perf_counter()
            print(f'running {command}', file=sys.stderr, flush=True)
            outputs[command] = run_command(command)
            print(f'  {time.perf_counter() - start:.0f} s', file=sys.stderr)
        return f'{m["open"]}```text\n{outputs[command]}\n```\n{m["close"]}'

    return BLOCK.sub(rewrite, text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('doc', nargs='?',
                        help='one document (default: README.md and '
                        'docs/*.md)')
    parser.add_argument('--only', default='',
                        help='run only the blocks whose command contains '
                        'this text, e.g. bench_loss')
    parser.add_argument('--long', action='store_true',
                        help='also run the blocks marked (long)')
    parser.add_argument('--list', action='store_true',
                        help='list the blocks and their commands; run none')
    args = parser.parse_args()
    docs = [args.doc] if args.doc else DOCS
    outputs: Dict[str, str] = {}
    for doc in docs:
        path = REPO / doc
        text = path.read_text(encoding='utf-8')
        blocks = list(BLOCK.finditer(text))
        if not blocks and args.doc:
            raise SystemExit(f'{doc} has no "<!-- bench: ... -->" block.')
        if args.list:
            for m in blocks:
                print(f'{doc}:{text.count(chr(10), 0, m.start()) + 1}:'
                      f'{m["long"] or ""} {m["command"]}')
            continue
        updated = update(text, args.only, args.long, outputs)
        if updated != text:
            path.write_text(updated, encoding='utf-8')


if __name__ == '__main__':
    main()
