"""The library's import graph: acyclic, and every import goes down the layers that CONTRIBUTING.md draws.

The graph counts every import of one dsr_nb module by another, at the top of a file or inside a function (a lazy
import is still a dependency). `dsr_nb/__init__.py` (the package's front door) and `_modidx.py` (nbdev's index)
are left out.
"""
import ast, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "dsr_nb"


def import_graph() -> dict[str, set[str]]:
    "Module name → the dsr_nb modules it imports."
    mods = {p.stem for p in PKG.glob("*.py") if p.stem not in ("__init__", "_modidx")}
    graph = {}
    for m in mods:
        deps = set()
        for node in ast.walk(ast.parse((PKG / f"{m}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                name = node.module or ""
                if node.level == 1: deps.add(name.split(".")[0] if name else "")
                elif name.startswith("dsr_nb."): deps.add(name.split(".")[1])
                elif name == "dsr_nb": deps |= {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith("dsr_nb.")}
        graph[m] = {d for d in deps if d in mods and d != m}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    "One import cycle as a list of modules (first == last), or None."
    state, stack = {}, []
    def visit(m):
        state[m] = "open"; stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == "open": return stack[stack.index(d):] + [d]
            if d not in state and (c := visit(d)): return c
        state[m] = "done"; stack.pop()
    for m in sorted(graph):
        if m not in state and (c := visit(m)): return c
    return None


def drawn_layers() -> dict[str, int]:
    "Module → layer number, read from CONTRIBUTING.md's table of layers (`| N | mod, mod, ... |`)."
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = {}
    for n, mods in re.findall(r"^\| (\d+) \| ([^|]+) \|", section, re.M):
        for m in re.findall(r"`(\w+)`", mods): layers[m] = int(n)
    return layers


def test_the_graph_finds_a_cycle_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_imports_are_acyclic():
    assert find_cycle(import_graph()) is None, f"import cycle: {' -> '.join(find_cycle(import_graph()))}"


def test_imports_go_down_the_drawn_layers():
    graph, layers = import_graph(), drawn_layers()
    assert set(layers) == set(graph), f"CONTRIBUTING.md's layers miss {sorted(set(graph) - set(layers))} or name unknown {sorted(set(layers) - set(graph))}"
    up = [f"{m} (layer {layers[m]}) imports {d} (layer {layers[d]})" for m, ds in graph.items() for d in ds if layers[d] >= layers[m]]
    assert not up, "imports that do not go down a layer:\n" + "\n".join(sorted(up))


def test_nothing_imports_the_cli_or_the_authors_weights_from_below():
    graph = import_graph()
    assert not [m for m, ds in graph.items() if "cli" in ds], "the `dsr-nb` command is the leaf"
    assert {m for m, ds in graph.items() if "official" in ds} <= {"cli_train", "serving", "demo"}
