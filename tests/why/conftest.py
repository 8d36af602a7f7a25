"""Tiny random checkpoints with a head, for the targets that follow a head."""

from __future__ import annotations

import pytest

from explorer.core.loading import LoadedModel, load_model
from explorer.core.sources import ModelSource
from tests.conftest import save_random_bert

LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def _load_head(factory: pytest.TempPathFactory, architecture: str, **config: object) -> LoadedModel:
    folder = save_random_bert(factory.mktemp(architecture), architecture=architecture, **config)
    return load_model(ModelSource.parse(str(folder)))


@pytest.fixture(scope="session")
def cls_model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """A tiny sequence classifier with three named labels."""
    labels = {"id2label": LABELS, "label2id": {v: k for k, v in LABELS.items()}}
    return _load_head(tmp_path_factory, "BertForSequenceClassification", **labels)


@pytest.fixture(scope="session")
def mlm_model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """A tiny masked-LM checkpoint."""
    return _load_head(tmp_path_factory, "BertForMaskedLM")


@pytest.fixture(scope="session")
def qa_model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """A tiny question-answering checkpoint."""
    return _load_head(tmp_path_factory, "BertForQuestionAnswering")
