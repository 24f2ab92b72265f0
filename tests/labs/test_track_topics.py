import pytest

import workbench as wb

from ._project import run_track

THEMES = ["finance", "food", "health", "sports", "technology", "travel"]


@pytest.mark.slow
def test_topics_track_runs_day2_then_day3(tmp_path, workspace):
    model, production = run_track("topics", tmp_path / "run")
    # NTM and SageMaker's LDA find topics as coherent as scikit-learn's LDA does
    assert model["ntm_training_job"].startswith("topics-ntm-")
    assert model["lda_training_job"].startswith("topics-lda-")
    assert model["ntm_coherence"] >= model["sklearn_coherence"] - 0.05
    assert model["lda_coherence"] >= model["sklearn_coherence"] - 0.05
    # ... and they are the corpus' six themes: each learned topic is named after a different one
    assert sorted(model["topic_names"]) == THEMES
    assert model["ntm_purity"] > 0.85 and model["lda_purity"] > 0.85
    assert model["validation_topic_accuracy"] > 0.8
    assert model["document_predicted_topic"] == model["document_true_topic"]
    # LDA's test:pwll beats word frequencies alone; a small alpha0 gives peaked mixtures
    assert model["lda_test_pwll"] > model["unigram_pwll"] + 0.5
    assert model["lda_peak_weight_alpha0_0.3"] > model["lda_peak_weight_alpha0_5"]
    assert wb.TrainingJob(model["lda_training_job"]).status == "Completed"
    # Day 3: the same model judged on new labelled articles, far above one topic for everything
    assert production["ntm_coherence"] == pytest.approx(model["ntm_coherence"], abs=1e-4)
    assert sorted(production["topic_names"]) == THEMES
    assert production["ntm_purity_new_articles"] > 0.8 > production["baseline_purity"]
    # the endpoint answered topic weights for 3 dense and 1 sparse record (same as dense 0)
    weights = production["endpoint_topic_weights"]
    assert len(weights) == 4 and all(len(w) == 6 for w in weights)
    assert all(abs(sum(w) - 1) < 1e-3 for w in weights) and weights[3] == weights[0]
    assert 0 < production["latency_p50_ms"] <= production["latency_p95_ms"]
    # topic-mix drift: quiet on normal news, the tournament week above the noise threshold
    assert production["normal_tvd"] < production["noise_threshold"] < production["tournament_tvd"]
    assert production["batch_documents"] == 200
