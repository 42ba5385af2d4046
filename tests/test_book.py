"""tools/book.py: the check CI runs on the stored book must catch each kind of problem it names, and pass a good book."""
import importlib.util, json, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def book(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("book", ROOT / "tools" / "book.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    (tmp_path / "nbs").mkdir()
    (tmp_path / "README.md").write_text("See [the book](nbs/index.ipynb).\n")
    monkeypatch.setattr(mod, "ROOT", tmp_path); monkeypatch.setattr(mod, "NBS", tmp_path / "nbs")
    monkeypatch.setattr(mod, "LOCK", tmp_path / "nbs" / "outputs.lock.json")
    monkeypatch.setattr(mod, "METHOD", ["00_method"])
    return mod


def write_nb(path: Path, cells: list[dict]):
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def code(cid, source, outputs=()):
    return {"cell_type": "code", "id": cid, "metadata": {}, "source": source, "outputs": list(outputs), "execution_count": None}


def md(cid, source):
    return {"cell_type": "markdown", "id": cid, "metadata": {}, "source": source}


PICTURE = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}, "metadata": {}}
TEXT = {"output_type": "stream", "name": "stdout", "text": "42\n"}
EXERCISE = ("## Exercise\n\nDo it.\n\n<details><summary>Hint</summary>\n\nLook.\n</details>\n\n"
            "<details><summary>Solution</summary>\n\nDone.\n</details>")


def good_book(book):
    nbs = book.NBS
    write_nb(nbs / "index.ipynb", [md("a", "Start with [00_method](00_method.ipynb)."), code("b", "print(42)", [TEXT])])
    write_nb(nbs / "00_method.ipynb", [md("c", "# M\nBack to [the index](index.ipynb)."), code("d", "x = 1"),
                                       code("e", "plot(x)", [PICTURE]), md("x", EXERCISE)])
    lock = {}
    for p in nbs.glob("*.ipynb"):
        nb = json.loads(p.read_text())
        book.record(p.stem, nb, {c["id"] for c in nb["cells"] if c["cell_type"] == "code"}, lock)
    book.write_lock(lock)


def test_good_book_passes(book):
    good_book(book)
    assert book.check() == []
    assert book.main(["check"]) == 0


def test_stale_cell_is_caught_and_markdown_is_not(book):
    good_book(book)
    p = book.NBS / "00_method.ipynb"
    nb = json.loads(p.read_text())
    nb["cells"][0]["source"] += "\nMore prose."                 # prose may change freely
    write_nb(p, nb["cells"]); assert book.check() == []
    nb["cells"][1]["source"] = "x = 2"                           # a definition changed after the picture was made
    write_nb(p, nb["cells"])
    assert [q for q in book.check() if "changed after" in q] and "cells [1]" in book.check()[0]
    assert book.main(["check"]) == 1


def test_new_cell_and_skipped_cell(book):
    good_book(book)
    p = book.NBS / "00_method.ipynb"
    nb = json.loads(p.read_text())
    write_nb(p, nb["cells"] + [code("f", "y = 3")])             # a cell the last run never saw
    assert any("cells [4]" in q for q in book.check())
    lock = book.read_lock()                                      # a run that skipped cell e (a slow cell): its old hash stays valid
    book.record("00_method", json.loads(p.read_text()), {"d", "f"}, lock); book.write_lock(lock)
    assert book.check() == []
    nb = json.loads(p.read_text()); nb["cells"][2]["source"] = "plot(x, y)"; write_nb(p, nb["cells"])
    lock = book.read_lock(); book.record("00_method", nb, {"d", "f"}, lock); book.write_lock(lock)   # changed but skipped again
    assert any("cells [2]" in q for q in book.check())


def test_missing_outputs_pictures_links_and_size(book, monkeypatch):
    good_book(book)
    write_nb(book.NBS / "00_method.ipynb", [md("c", "As chapter 00 says, see [x](nowhere.ipynb)."), code("d", "x = 1"),
                                            code("e", "plot(x)", [TEXT])])
    found = book.check()
    assert any("without a picture" in q for q in found)
    assert any("nowhere.ipynb" in q and "does not exist" in q for q in found)
    assert any("'chapter 00' is not a link" in q for q in found)
    write_nb(book.NBS / "00_method.ipynb", [md("c", "# M"), code("d", "x = 1")])
    assert any("no stored output" in q for q in book.check())
    write_nb(book.NBS / "02_new.ipynb", [code("z", "1", [TEXT])])
    assert any("02_new: not in outputs.lock.json" in q for q in book.check())
    monkeypatch.setattr(book, "MAX_MB", 1e-6)
    assert any("over the" in q for q in book.check())


def test_too_many_chapters_without_a_picture_are_caught(book, monkeypatch):
    good_book(book)
    lock = book.read_lock()
    for n in range(3):                                   # three appendices: one with a picture in its prose, two bare
        nb = {"cells": [md(f"m{n}", "![a figure](fig.png)" if n == 0 else "Text only."), code(f"c{n}", "1", [TEXT])]}
        write_nb(book.NBS / f"1{n}_appendix.ipynb", nb["cells"]); book.record(f"1{n}_appendix", nb, {f"c{n}"}, lock)
    (book.NBS / "fig.png").write_bytes(b"png")
    book.write_lock(lock)
    monkeypatch.setattr(book, "MAX_WITHOUT_PICTURE", 2)   # bare: index, 11_appendix, 12_appendix
    assert any("3 chapters without any picture" in q and "12_appendix" in q for q in book.check())
    monkeypatch.setattr(book, "MAX_WITHOUT_PICTURE", 3)
    assert book.check() == []
    assert book.check([book.NBS / "11_appendix.ipynb"]) == []   # a check of some chapters does not count the book


def test_the_real_book_is_checked_by_ci():
    assert "python tools/book.py check" in (ROOT / ".ci" / "run").read_text()


def test_gpu_cells_without_output_are_exempt_slow_cells_are_not(book):
    good_book(book)
    p = book.NBS / "00_method.ipynb"
    nb = json.loads(p.read_text())
    write_nb(p, nb["cells"] + [code("g", "#| gpu\nassert torch.cuda.is_available()"), code("s", "#| slow\nlong_run()")])
    found = book.check()
    assert len(found) == 1 and "cells [5]" in found[0]            # the slow cell was never run: stale; the gpu cell is exempt


def test_eval_false_cells_are_exempt(book):
    "An exported `#| eval: false` cell (a module's imports of names its notebook defines) is never run, so never stale."
    good_book(book)
    p = book.NBS / "00_method.ipynb"
    nb = json.loads(p.read_text())
    write_nb(p, nb["cells"] + [code("i", "#| export cli_use\n#| eval: false\nfrom x import y"), code("n", "z = 2")])
    found = book.check()
    assert len(found) == 1 and "cells [5]" in found[0]            # only the new cell that runs is stale


def test_an_exercise_without_hint_or_solution_is_caught(book):
    good_book(book)
    p = book.NBS / "00_method.ipynb"
    nb = json.loads(p.read_text())
    nb["cells"][3]["source"] = "## Exercise\n\nDo it. **Expect** a number."    # no folded hint and solution
    write_nb(p, nb["cells"])
    assert any("collapsed hint and solution" in q for q in book.check())


@pytest.mark.parametrize("output, kind", [
    ({"output_type": "stream", "name": "stdout", "text": "saved to /tmp/tmpab12cd/run\n"}, "an absolute path"),
    ({"output_type": "stream", "name": "stdout", "text": "wrote /root/.cache/x.png\n"}, "an absolute path"),
    ({"output_type": "stream", "name": "stderr", "text": "/usr/lib/python3/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress\n"}, "a warning"),
    ({"output_type": "stream", "name": "stderr", "text": "DSR: 100%|##########| 350/350 [01:42<00:00,  3.41it/s]\n"}, "a progress bar"),
    ({"output_type": "execute_result", "data": {"text/plain": "'/home/ada/data'"}, "metadata": {}, "execution_count": 1}, "an absolute path"),
])
def test_machine_noise_in_outputs_is_caught(book, output, kind):
    good_book(book)
    p = book.NBS / "index.ipynb"
    nb = json.loads(p.read_text())
    nb["cells"][1]["outputs"] = [output]
    write_nb(p, nb["cells"])
    assert any(kind in q and "cell 1" in q for q in book.check()), book.check()


def test_the_checkouts_own_path_is_caught(book):
    good_book(book)
    p = book.NBS / "index.ipynb"
    nb = json.loads(p.read_text())
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": f"model in {book.ROOT}/dsr_nb/weights\n"}]
    write_nb(p, nb["cells"])
    assert any("an absolute path" in q for q in book.check())


def test_portable_paths_are_not_noise(book):
    good_book(book)
    p = book.NBS / "index.ipynb"
    nb = json.loads(p.read_text())
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "saved to $TMPDIR/tmpab12cd/run and ~/.cache/x\n"},
                                 {"output_type": "stream", "name": "stdout", "text": "progress 10%|##| 1/10 on stdout is a printed line\n"}]
    write_nb(p, nb["cells"])
    assert book.check() == []
