"""Models of any depth drive every selector; every kind of bad model keeps the old one."""

from __future__ import annotations

import json
import shutil

import pytest

from explorer.core.sources import ModelSource
from tests.conftest import save_random_bert
from tests.gui.conftest import TIMEOUT_MS, wait_for_result


@pytest.mark.parametrize("layers", [4, 12, 24])
def test_any_depth_drives_selectors_overview_norms_and_anatomy(qtbot, window, tmp_path, layers):
    folder = save_random_bert(
        tmp_path / f"l{layers}", num_hidden_layers=layers, num_attention_heads=2, hidden_size=16
    )
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        window.load_model(ModelSource.parse(str(folder)))
    window.input_bar.set_inputs("a short sentence")
    window.run_now()
    result = wait_for_result(qtbot, window, "a short sentence")
    assert result.num_layers == layers
    panel = window.attention_panel
    assert panel.layer_combo.count() == layers
    assert panel.head_combo.count() == 3
    tile = window.state.views.mosaic_tile
    assert panel.overview_image.image.shape == (layers * tile, 2 * tile)
    assert window.norms_panel.image.image.shape[0] == layers + 1
    window.state.set_layer(layers - 1)
    assert panel.layer_combo.currentText() == f"Layer {layers}"
    anatomy = window.docks["anatomy"].widget()
    assert f"{16 * layers + 7} named parameters" in anatomy.totals.text()


def broken_folders(root, good):
    """Each bad model kind from issue 6, as a folder, with the message it must give."""
    cases = {}

    def copy(name):
        folder = root / name
        shutil.copytree(good, folder)
        return folder

    cases["no config"] = (copy("no-config"), "no config.json")
    (root / "no-config" / "config.json").unlink()
    folder = copy("no-vocab")
    (folder / "vocab.txt").unlink()
    (folder / "tokenizer.json").unlink()
    cases["no vocabulary"] = (folder, "vocabulary")
    folder = copy("corrupt")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    cases["truncated safetensors"] = (folder, "weights")
    for family in ("bart", "t5"):
        folder = root / family
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"model_type": family}))
        cases[family] = (folder, f"'{family}' model")
    folder = copy("layers")
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 7
    (folder / "config.json").write_text(json.dumps(config))
    cases["layer mismatch"] = (folder, "does not match its config")
    folder = copy("custom")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_x.X"}
    (folder / "config.json").write_text(json.dumps(config))
    cases["custom code"] = (folder, "trust_remote_code")
    return cases


def test_every_bad_model_keeps_the_previous_one(qtbot, window, tmp_path, tiny_model_dir):
    old = window.state.model_info
    cases = broken_folders(tmp_path, tiny_model_dir)
    cases["offline hub id"] = ("bert-base-uncased", "HF_HUB_OFFLINE")
    for name, (source, expected) in cases.items():
        with qtbot.waitSignal(window.controller.load_failed, timeout=TIMEOUT_MS):
            window.load_model(ModelSource.parse(str(source)))
        message = window.message_bar.text()
        assert expected in message, f"{name}: {message}"
        assert "Still using" in message, name
        assert window.state.model_info == old, name
    window.input_bar.set_inputs("still usable")
    window.run_now()
    assert wait_for_result(qtbot, window, "still usable").model == old
