"""tools/bundle_model.py: every bundled model's card is the one the tool writes from the model's metadata and its
notes file (so re-bundling loses nothing), and the check catches a card edited by hand."""
import importlib.util, shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("bundle_model", ROOT / "tools" / "bundle_model.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def test_bundled_cards_are_current(tool, capsys):
    assert tool.check() == 0, capsys.readouterr().out


def test_hand_edit_is_caught_and_notes_are_kept(tool, tmp_path, monkeypatch, capsys):
    models, notes = tmp_path / "models", tmp_path / "notes"
    shutil.copytree(tool.MODELS / "elpv-poly", models / "elpv-poly"); notes.mkdir()
    monkeypatch.setattr(tool, "MODELS", models); monkeypatch.setattr(tool, "NOTES", notes)
    card = models / "elpv-poly" / "README.md"
    card.write_text(tool.card("elpv-poly", tool.bundled("elpv-poly"), models / "elpv-poly"))
    assert tool.check() == 0 and "> **Still below" not in card.read_text()
    card.write_text(card.read_text() + "\nA sentence added by hand.\n")            # lost at the next re-bundle: caught
    assert tool.check() == 1 and "--card elpv-poly" in capsys.readouterr().out
    (notes / "elpv-poly.md").write_text("A note.\n<!-- diagnostics -->\nUNUSED-TEXT: this run has diagnostics\n")
    text = tool.card("elpv-poly", tool.bundled("elpv-poly"), models / "elpv-poly")
    assert text.startswith("# dsr_nb bundled model: `elpv-poly`\n\nA note.\n\nA `tiny`-preset")   # the note goes under the title
    flat = " ".join(text.split())                                                   # bullets are wrapped
    assert "UNUSED-TEXT" not in flat
    assert "image space (`--anomalies image`)" in flat and "Not the `tiny` preset's default" not in flat   # it is the default


def test_bundling_onto_itself_is_refused(tool):
    with pytest.raises(SystemExit, match="--card elpv-mono"):
        tool.main(str(tool.MODELS / "elpv-mono"), "elpv-mono")


def test_diagnostics_marker_never_reaches_the_card(tool, tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "NOTES", tmp_path)
    for text in ("Top.\n<!-- diagnostics -->", "Top.\n<!-- diagnostics --> \nStand-in.", "Top.\n<!-- diagnostics -->\n"):
        (tmp_path / "m.md").write_text(text)                    # the marker last, without a newline; trailing blanks
        top, diag = tool.read_notes("m")
        assert top == "Top.\n\n" and "<!--" not in top + diag, (text, top, diag)
    assert tool.read_notes("m")[1] == "" and tool.read_notes("absent") == ("", "")
