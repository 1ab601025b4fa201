"""The dev tooling stays apart from the runtime: not imported by it, not in the image, its requirements separate, no import circle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"pytest", "iniconfig", "ruff", "playwright", "openpyxl", "et-xmlfile", "py-spy", "pypdf"}


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r "):
            name, sep, version = line.partition("==")
            assert sep and version, f"{path.name}: {line!r} is not pinned"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_the_runtime_never_imports_the_dev_package():
    runtime = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "dags").rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in runtime if any(m.split(".")[0] == "fsm_dev" for m in _imports(p))]
    assert not offenders
    top = {p.name for p in (ROOT / "plugins" / "fsm").iterdir()}
    assert not top & {"synth", "bench.py", "bench_noop.py", "run.py"}, "dev tooling back in the runtime package"


def test_requirements_split_runtime_and_dev():
    runtime, dev = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements-dev.txt")
    assert not DEV_ONLY & set(runtime), "a test or dev tool in the runtime requirements"
    assert set(dev) == DEV_ONLY and not set(dev) & set(runtime)
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert runtime["apache-airflow"] == "3.3.2"


def test_the_image_gets_only_the_runtime():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    copies = [line.split()[-2] for line in instructions if line.startswith("COPY")]
    assert "requirements.txt" in copies and not any(c.startswith(("dev", "tests", "requirements-dev", ".")) for c in copies)
    assert "requirements-dev" not in "\n".join(instructions)
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {"dev", "tests", "requirements-dev.txt"} <= ignored


def test_no_import_circle_in_the_dev_package():
    """Module -> the fsm_dev modules it imports; a depth-first walk finds no way back."""
    base = ROOT / "dev"
    graph = {}
    for path in (base / "fsm_dev").rglob("*.py"):
        mod = ".".join(path.relative_to(base).with_suffix("").parts).removesuffix(".__init__")
        graph[mod] = path
    # a module's own parent packages are already (partly) imported when it runs: no edge
    edges = {m: {i for i in _imports(p) if i in graph and i != m and not m.startswith(i + ".")} for m, p in graph.items()}
    for pkg in [m for m in graph if (base / m.replace(".", "/") / "__init__.py").exists()]:
        for m in edges:  # importing a package's module runs the package's __init__ first
            if any(i.startswith(pkg + ".") for i in edges[m]) and not m.startswith(pkg):
                edges[m].add(pkg)
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(edges[m]):
            assert state.get(n) != 1, f"import circle: {' -> '.join([*path, n])}"
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert "fsm_dev.synth.fsm1" not in edges["fsm_dev.synth.fsm2"] and "fsm_dev.synth.fsm2" not in edges["fsm_dev.synth.fsm1"]
