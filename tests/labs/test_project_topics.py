import pytest

import workbench as wb

from ._project import run_project_lab


@pytest.mark.slow
def test_topic_modelling_lab_runs_end_to_end(tmp_path, workspace):
    keys = {"ntm_training_job", "lda_training_job", "documents", "vocabulary_size", "ntm_epochs",
            "ntm_validation_total_loss", "ntm_coherence", "lda_coherence", "sklearn_coherence",
            "ntm_purity", "lda_purity", "sklearn_purity", "lda_test_pwll", "unigram_pwll",
            "ntm_topics", "topic_names", "document_true_topic", "document_predicted_topic",
            "validation_topic_accuracy", "endpoint_topic_weights"}  # fmt: skip
    results = run_project_lab("04_topic_modelling", tmp_path / "run", keys)
    # NTM and SageMaker's LDA find topics as coherent as scikit-learn's LDA does
    assert results["ntm_coherence"] >= results["sklearn_coherence"] - 0.05
    assert results["lda_coherence"] >= results["sklearn_coherence"] - 0.05
    # ... and they are the corpus' six themes: each learned topic is named after a different one
    assert sorted(results["topic_names"]) == sorted(
        ["finance", "food", "health", "sports", "technology", "travel"]
    )
    assert results["ntm_purity"] > 0.85 and results["lda_purity"] > 0.85
    assert results["validation_topic_accuracy"] > 0.8
    assert results["document_predicted_topic"] == results["document_true_topic"]
    # LDA's test:pwll beats word frequencies alone
    assert results["lda_test_pwll"] > results["unigram_pwll"] + 0.5
    # The endpoint answered topic weights for 3 dense and 1 sparse record (same as dense 0)
    weights = results["endpoint_topic_weights"]
    assert len(weights) == 4 and all(len(w) == 6 for w in weights)
    assert all(abs(sum(w) - 1) < 1e-3 for w in weights) and weights[3] == weights[0]
    # Both training jobs are in the caller's workspace
    for key in ("ntm_training_job", "lda_training_job"):
        assert wb.TrainingJob(results[key]).status == "Completed"
        assert workspace.catalog.exists("training-job", results[key])
