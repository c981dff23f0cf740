"""The verdicts of notebook 07's readings and of its "what this series found" table follow their data: each is
given data for one answer, then the same data with the sign of the decisive difference flipped."""

import numpy as np
import pandas as pd
import pytest

from memviz.evaluation import findings
from memviz.evaluation.findings import CANNOT_TELL, NOT_REPRODUCED, REPRODUCED
from memviz.evaluation.stats import Interval


def est(value, half=0.01):
    return findings.scalar(value, value - half, value + half)


def curve(values, half=0.01):
    values = np.asarray(values, float)
    return Interval(values, values - half, values + half)


NAMES = ("Nested LSTM", "LSTM", "GRU")


def by_model(*values, half=0.01):
    return {name: est(v, half) for name, v in zip(NAMES, values)}


def test_long_term_use_cannot_tell_without_measurable_long_term_use():
    effective = dict.fromkeys(NAMES, 2)
    found = findings.long_term_use(by_model(0.02, 0.11, 0.13), by_model(0.0, 0.0, 0.0), effective)
    assert found.verdict == CANNOT_TELL
    assert "No model uses context more than 2 words back" in found.evidence
    assert "the GRU loses clearly the most" in found.evidence
    overlapping = findings.long_term_use(by_model(0.02, 0.125, 0.13), by_model(0.0, 0.0, 0.0), effective)
    assert "the GRU does not lose clearly more than every other model" in overlapping.evidence


@pytest.mark.parametrize(
    ("gru_recall", "lstm_recall", "verdict"),
    [(0.08, 0.02, REPRODUCED), (0.02, 0.08, NOT_REPRODUCED), (0.05, 0.05, CANNOT_TELL)],
)
def test_long_term_use_follows_recall_when_measurable(gru_recall, lstm_recall, verdict):
    recall = {"Nested LSTM": est(0.0), "LSTM": est(lstm_recall), "GRU": est(gru_recall)}
    found = findings.long_term_use(by_model(0.02, 0.11, 0.13), recall, dict.fromkeys(NAMES, 2))
    assert found.verdict == verdict


def test_a_long_effective_context_makes_long_term_use_measurable():
    effective = {"Nested LSTM": 1, "LSTM": 2, "GRU": 4}
    found = findings.long_term_use(by_model(0.02, 0.11, 0.13), by_model(0.0, 0.0, 0.0), effective)
    assert found.verdict == CANNOT_TELL and "measurable for GRU" in found.evidence


@pytest.mark.parametrize(("sign", "verdict"), [(-1, REPRODUCED), (+1, NOT_REPRODUCED), (0, CANNOT_TELL)])
def test_crossover_follows_the_sign_of_gru_minus_lstm_from_5_characters(sign, verdict):
    diff = np.r_[np.full(5, 0.02), np.full(8, sign * 0.03)]
    found = findings.short_term_crossover(curve(diff), range(13))
    assert found.verdict == verdict
    assert found.evidence.startswith("Top-1 accuracy, GRU minus LSTM, by characters typed: GRU ahead at 0–")


def test_crossover_ignores_an_lstm_lead_before_5_characters():
    diff = np.r_[np.full(5, -0.03), np.full(8, 0.0)]
    assert findings.short_term_crossover(curve(diff), range(13)).verdict == CANNOT_TELL


@pytest.mark.parametrize(("nested", "verdict"), [(0.02, REPRODUCED), (0.20, NOT_REPRODUCED), (0.11, CANNOT_TELL)])
def test_barely_uses_past_follows_the_nested_lstms_cut_loss(nested, verdict):
    assert findings.barely_uses_past(by_model(nested, 0.11, 0.13)).verdict == verdict


def test_barely_uses_past_needs_the_difference_at_matched_accuracy_too():
    cut = by_model(0.02, 0.11, 0.13)
    assert findings.barely_uses_past(cut, matched={"GRU, matched": est(0.07)}).verdict == REPRODUCED
    found = findings.barely_uses_past(cut, matched={"GRU, matched": est(0.025)})
    assert found.verdict == CANNOT_TELL and "lower accuracy could explain it" in found.evidence


def test_memorization_not_understanding_follows_reach_and_use_beyond_two_words():
    reach = by_model(0.0002, 0.005, 0.013, half=0.0001)  # the Nested LSTM's 0.02 % is below the floor: no reach
    unused = by_model(0.0, 0.0, 0.0)  # cutting those words costs nothing clear
    found = findings.memorization_not_understanding(reach, unused)
    assert found.verdict == REPRODUCED and "The LSTM and the GRU reach there" in found.evidence
    used = by_model(0.0, 0.03, 0.05)  # every model that reaches there loses clearly when it is cut
    assert findings.memorization_not_understanding(reach, used).verdict == NOT_REPRODUCED
    nowhere = by_model(0.0, 0.0, 0.001, half=0.0005)
    assert findings.memorization_not_understanding(nowhere, unused).verdict == CANNOT_TELL


@pytest.mark.parametrize(("late", "verdict"), [(0.02, REPRODUCED), (0.30, NOT_REPRODUCED), (0.15, CANNOT_TELL)])
def test_word_start_follows_the_cut_loss_at_0_against_3_characters(late, verdict):
    data = {name: (est(0.15), est(late)) for name in NAMES}
    assert findings.word_start(data).verdict == verdict


def test_table_and_counts():
    found = [
        findings.barely_uses_past(by_model(0.02, 0.11, 0.13)),
        findings.barely_uses_past(by_model(0.11, 0.11, 0.13)),
    ]
    text = findings.table(found)
    assert text.count("\n") == 3 and "**reproduced**" in text and "**cannot tell**" in text
    assert findings.counts(found) == "1 reproduced, 0 not reproduced, 1 cannot tell"


def test_context_summary_orders_models_by_clear_differences():
    text = findings.context_summary(dict.fromkeys(NAMES, 2), by_model(0.02, 0.11, 0.115))
    assert "at most 2 words" in text and "Nested LSTM < LSTM; LSTM ≈ GRU" in text
    assert "beyond the longest cut" in findings.context_summary({"GRU": "more than 8"}, {"GRU": est(0.1)})


def test_position_power_depends_on_how_much_a_cut_removes():
    assert "little power" in findings.position_power(0.013, {"GRU": -0.03})
    assert "does not follow use" in findings.position_power(0.4, {"GRU": -0.03})
    assert "follows use for GRU" in findings.position_power(0.4, {"GRU": 0.5})


def test_agreement_and_randomisation_readings_follow_their_numbers():
    rank = {"GRU": {"gradient × input": 0.8, "occlusion": 0.4}, "LSTM": {"gradient × input": 0.9, "occlusion": 0.7}}
    text = findings.agreement_summary(rank, ["integrated gradients"])
    assert text.startswith("gradient × input rank characters") and "occlusion not for every model" in text
    high = findings.randomisation({"GRU": est(0.87)}, {"GRU": (0.81, 0.69)}, {"GRU": 0.85})
    assert "there before training" in high and "GRU +12" in high
    low = findings.randomisation({"GRU": est(0.2)}, {"GRU": (0.81, 0.69)}, {"GRU": 0.85})
    assert "training changes the rows' shape" in low


def test_training_diagnosis_from_a_history():
    steps = np.arange(1, 6)
    slow = pd.DataFrame({"dataset": "train", "step": steps, "loss": [8.0, 7.0, 6.0, 4.9, 4.5]})
    assert findings.first_step_below(slow, 5.0) == 4 and findings.first_jump(slow) is None
    diverged = slow.assign(loss=[8.0, 3.0, 6.0, 4.9, 4.5])
    assert findings.first_jump(diverged) == (3, 6.0)
    assert findings.first_step_below(slow, 1.0) is None


def test_training_diagnosis_names_the_jump_or_its_absence():
    steps = np.arange(1, 6)
    good = pd.DataFrame({"dataset": "train", "step": steps, "loss": [8.3, 6.0, 4.5, 3.0, 2.5]})
    jumped = good.assign(loss=[8.3, 7.0, 10.8, 6.0, 4.9])
    text = findings.training_diagnosis(jumped, good, uniform=8.32, reference="shipped GRU")
    assert "first fell below 5 at step 5 (the shipped GRU: step 3)" in text
    assert (
        "At step 3 it jumped to 10.8, above the 8.32 of a uniform guess, a jump the shipped GRU does not make" in text
    )
    slow = good.assign(loss=[8.3, 7.5, 6.9, 6.0, 4.9])
    assert "It never jumped" in findings.training_diagnosis(slow, good, uniform=8.32, reference="shipped GRU")
