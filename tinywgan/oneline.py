"""The command line's rules for the ways a command ends early, shared by ``tinywgan`` and the
lessons (this module imports nothing heavy):

- ``OneLineParser``: an argparse parser whose mistakes end in ONE line on stderr, ``PROG:
  --flag: what is wrong (what is allowed); see PROG --help``, exit status 2, no usage dump,
  and no abbreviated flags (``--iter`` is not ``--iters``);
- ``fail``: any other mistake or stop, one line ``PROG: message`` on stderr, and its status
  (``INTERRUPTED``, 130, after Ctrl-C);
- ``check_figure_path``: a figure's path checked before the work starts;
- ``ignore_sigint`` and ``worker_init``: worker processes ignore Ctrl-C, so that the parent
  alone decides (it terminates them and says what was finished).
"""
import argparse
import contextlib
import difflib
import os
import signal
import sys
import tempfile

#: The exit status of a command stopped by Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130

FIGURE_EXTENSIONS = (".png", ".pdf", ".svg")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line naming the flag, the value and what is allowed."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, "%s: %s; see %s --help\n" % (self.prog, self._plain(message), self.prog))

    def _plain(self, message):
        if message.startswith("argument "):
            message = message[len("argument "):]
        sub = self._subparsers_action()
        if sub is not None and "required" in message and \
                (sub.dest in message or (sub.metavar or "") in message):
            return "give a command: %s" % ", ".join(sub.choices)
        if message.startswith("unrecognized arguments: "):
            return self.unknown(message[len("unrecognized arguments: "):].split())
        return message.replace("\n", " ")

    def _subparsers_action(self):
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
        return None

    def unknown(self, extras):
        """The words for arguments this parser does not take, a close flag suggested."""
        flags = [s for a in self._actions for s in a.option_strings]
        first = extras[0]
        close = difflib.get_close_matches(first.split("=")[0], flags, n=1) \
            if first.startswith("-") else []
        return "unrecognized argument%s: %s%s" % (
            "s" if len(extras) > 1 else "", " ".join(extras),
            " (did you mean %s?)" % close[0] if close else "")


def parse(parser, argv=None):
    """``parser.parse_args(argv)``, but an argument that belongs to no flag of the chosen
    (sub)command is reported by that command's parser, not with the top-level usage."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        target = parser
        while True:
            sub = target._subparsers_action() if isinstance(target, OneLineParser) else None
            if sub is None or getattr(args, sub.dest, None) not in sub.choices:
                break
            target = sub.choices[getattr(args, sub.dest)]
        target.exit(2, "%s: %s; see %s --help\n" % (target.prog, target.unknown(extras),
                                                    target.prog))
    return args


def check_figure_path(path, flag="--figure"):
    """ValueError unless ``path`` ends in .png, .pdf or .svg and its folder (or the nearest
    folder above it that exists: the missing ones are made) takes a new file."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FIGURE_EXTENSIONS:
        raise ValueError("%s %s: a figure is .png, .pdf or .svg, not %r"
                         % (flag, path, ext or "no extension"))
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise ValueError("%s %s: %s is a file, not a folder" % (flag, path, folder))
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ValueError("%s %s: cannot write in %s (%s); choose another path"
                         % (flag, path, folder, e.strerror or e))


@contextlib.contextmanager
def ignore_sigint():
    """Within: SIGINT is ignored, so that processes forked or spawned here (the disposition
    survives exec) ignore Ctrl-C from their first instruction; restored after."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def worker_init():
    """A pool's initializer: this worker ignores Ctrl-C (its parent terminates it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def fail(prog, message, status):
    """One line on stderr, ``PROG: message``; returns status."""
    print("%s: %s" % (prog, str(message).replace("\n", " ")), file=sys.stderr, flush=True)
    return status
