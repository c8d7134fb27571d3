"""The house keeps its shape: the core imports nothing from outside itself but the array backend
and the argument checks; no module imports one in a room above its own; no import circle.

Every import is read from the source (``ast``), those inside functions too, so a lazy import
counts like any other."""
import ast
import pathlib
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "tinywgan"

#: The rooms from the ground up: a module may import from its own room and the rooms below it.
ROOMS = [("ground", ["backend", "validate", "strict", "oneline", "threads"]),
         ("core", ["core"]),
         ("fast", ["fast"]),
         ("measure", ["measure"]),
         ("job", ["job"]),
         ("lessons, bug zoo", ["lesson", "bugzoo"]),
         ("exercises", ["exercises"]),
         ("front door", ["cli", "__main__", "__init__"])]
FLOOR = {head: floor for floor, (_, heads) in enumerate(ROOMS) for head in heads}


def modules():
    """{dotted name under tinywgan: path} for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[:2] == ("exercises", "workbook"):
            continue                              # the students' files, not the library
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name, path):
    """The tinywgan modules and the outside packages that module ``name`` imports."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                base = ".".join(["tinywgan"] + base + ([node.module] if node.module else []))
            else:
                base = node.module
            targets = [(base, [a.name for a in node.names])]
        else:
            continue
        for module, names in targets:
            if module == "tinywgan" or module.startswith("tinywgan."):
                inner = module[len("tinywgan."):] if module != "tinywgan" else ""
                known = modules()
                for n in names or [None]:       # `from . import mlp` imports a module
                    sub = "%s.%s" % (inner, n) if inner else (n or "")
                    inside.add(sub if n and sub in known else inner or "__init__")
            else:
                outside.add(module.split(".")[0])
    inside.discard(name)
    return inside, outside


def test_the_core_imports_nothing_but_itself_the_backend_and_the_checks():
    allowed_outside = set(sys.stdlib_module_names) | {"numpy"}
    bad = []
    for name, path in modules().items():
        if name.split(".")[0] != "core":
            continue
        inside, outside = imports(name, path)
        bad += ["%s imports %s" % (name, m) for m in sorted(inside)
                if m.split(".")[0] != "core" and m not in ("backend", "validate")]
        bad += ["%s imports the outside package %s" % (name, m)
                for m in sorted(outside - allowed_outside)]
    assert not bad, "the core must stay closed: " + "; ".join(bad)


def test_no_import_runs_up_the_house():
    bad = []
    for name, path in modules().items():
        here = FLOOR[name.split(".")[0]]
        for m in imports(name, path)[0]:
            if FLOOR[m.split(".")[0]] > here:
                bad.append("%s (%s) imports %s (%s)" % (name, ROOMS[here][0], m,
                                                        ROOMS[FLOOR[m.split(".")[0]]][0]))
    assert not bad, "imports that run up the house: " + "; ".join(sorted(bad))


def test_no_import_circle():
    graph = {name: imports(name, path)[0] for name, path in modules().items()}
    done, stack = set(), []

    def visit(n):
        if n in stack:
            raise AssertionError("import circle: " + " -> ".join(stack[stack.index(n):] + [n]))
        if n in done:
            return
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            visit(m)
        stack.pop()
        done.add(n)
    for n in sorted(graph):
        visit(n)


@pytest.mark.parametrize("planted", ["from ..job import config", "from .. import fast",
                                     "import scipy"])
def test_the_closed_core_check_catches_a_planted_import(tmp_path, monkeypatch, planted):
    """The check above can fail: a core module that imports the job, the fused steps or SciPy."""
    fake = tmp_path / "tinywgan"
    (fake / "core").mkdir(parents=True)
    (fake / "core" / "planted.py").write_text(planted + "\n")
    (fake / "backend.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="the core must stay closed: core.planted imports"):
        test_the_core_imports_nothing_but_itself_the_backend_and_the_checks()
