"""Evaluation metrics against values computed by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
import pytest

from teamlens.model.metrics import (
    LOWER_IS_BETTER,
    MetricError,
    Metrics,
    Ranking,
    brier,
    effort_at_recall,
    effort_aware_order,
    evaluate_scores,
    f1,
    ifa,
    mcc,
    popt,
    pr_auc,
    recall_at_effort,
    risk_order,
    roc_auc,
)

# Ten changes. E = sum(effort) = 200, D = sum(y) = 4 (changes 1, 3, 5, 8).
#
#   i   y  score  effort  score / max(effort, 1)
#   0   0  0.95    40     0.02375
#   1   1  0.90    10     0.09
#   2   0  0.80     5     0.16
#   3   1  0.70    20     0.035
#   4   0  0.60    30     0.02
#   5   1  0.50     8     0.0625
#   6   0  0.40    50     0.008
#   7   0  0.30    12     0.025
#   8   1  0.20    15     0.01333...
#   9   0  0.10    10     0.01
Y = np.array([0, 1, 0, 1, 0, 1, 0, 0, 1, 0])
SCORE = np.array([0.95, 0.90, 0.80, 0.70, 0.60, 0.50, 0.40, 0.30, 0.20, 0.10])
EFFORT = np.array([40, 10, 5, 20, 30, 8, 50, 12, 15, 10])

# Risk order (score descending, no ties): 0 1 2 3 4 5 6 7 8 9
#
#   pos  i  y  effort  cum effort  cum effort/E  cum defects
#    1   0  0    40        40        0.200          0
#    2   1  1    10        50        0.250          1
#    3   2  0     5        55        0.275          1
#    4   3  1    20        75        0.375          2
#    5   4  0    30       105        0.525          2
#    6   5  1     8       113        0.565          3
#    7   6  0    50       163        0.815          3
#    8   7  0    12       175        0.875          3
#    9   8  1    15       190        0.950          4
#   10   9  0    10       200        1.000          4
RISK_ORDER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

# Effort-aware order (score / max(effort, 1) descending, no ties):
#
#   pos  i  y  effort  cum effort  cum effort/E  cum defects
#    1   2  0     5         5        0.025          0
#    2   1  1    10        15        0.075          1
#    3   5  1     8        23        0.115          2
#    4   3  1    20        43        0.215          3
#    5   7  0    12        55        0.275          3
#    6   0  0    40        95        0.475          3
#    7   4  0    30       125        0.625          3
#    8   8  1    15       140        0.700          4
#    9   9  0    10       150        0.750          4
#   10   6  0    50       200        1.000          4
EFFORT_AWARE_ORDER = [2, 1, 5, 3, 7, 0, 4, 8, 9, 6]

# Optimal order: defective by effort ascending (5:8, 1:10, 8:15, 3:20), then clean by
# effort ascending (2:5, 9:10, 7:12, 4:30, 0:40, 6:50).
# Worst order: clean by effort descending (6:50, 0:40, 4:30, 7:12, 9:10, 2:5), then
# defective by effort descending (3:20, 8:15, 1:10, 5:8).
OPTIMAL_ORDER = [5, 1, 8, 3, 2, 9, 7, 4, 0, 6]
WORST_ORDER = [6, 0, 4, 7, 9, 2, 3, 8, 1, 5]

# Areas by the trapezoid rule, first in units of effort x defects: a change of effort e
# taking cumulative defects from c0 to c1 adds e * (c0 + c1) / 2. Dividing by E * D = 800
# gives the area in the unit square; Popt is a ratio of differences, so units cancel.
#
# Optimal: 8*(0+1)/2 + 10*(1+2)/2 + 15*(2+3)/2 + 20*(3+4)/2 + (5+10+12+30+40+50)*4
#        = 4 + 15 + 37.5 + 70 + 588                             = 714.5  (0.893125)
# Worst:   clean first adds 0; 20*(0+1)/2 + 15*(1+2)/2 + 10*(2+3)/2 + 8*(3+4)/2
#        = 10 + 22.5 + 25 + 28                                  =  85.5  (0.106875)
# Risk:    40*0 + 10*(0+1)/2 + 5*1 + 20*(1+2)/2 + 30*2 + 8*(2+3)/2 + 50*3 + 12*3
#          + 15*(3+4)/2 + 10*4
#        = 0 + 5 + 5 + 30 + 60 + 20 + 150 + 36 + 52.5 + 40      = 398.5  (0.498125)
# Effort-aware: 5*0 + 10*(0+1)/2 + 8*(1+2)/2 + 20*(2+3)/2 + 12*3 + 40*3 + 30*3
#          + 15*(3+4)/2 + 10*4 + 50*4
#        = 0 + 5 + 12 + 50 + 36 + 120 + 90 + 52.5 + 40 + 200    = 605.5  (0.756875)
#
# Popt(risk)         = 1 - (714.5 - 398.5) / (714.5 - 85.5) = 1 - 316/629 = 313/629
# Popt(effort-aware) = 1 - (714.5 - 605.5) / (714.5 - 85.5) = 1 - 109/629 = 520/629
POPT_RISK = 313 / 629  # 0.49761...
POPT_EFFORT_AWARE = 520 / 629  # 0.82670...

# Recall at 20 % effort: budget 0.2 * 200 = 40.
#   risk: only change 0 (cum 40 <= 40); next cum 50 > 40. Defects 0 -> 0/4 = 0.0
#   effort-aware: changes 2, 1, 5 (cum 5, 15, 23); next cum 43 > 40. Defects 2 -> 0.5
# Recall at 30 % effort (risk): budget 60; changes 0, 1, 2 (cum 55); next 75 > 60.
#   Defects 1 -> 0.25
# Effort at 20 % recall: target 0.2 * 4 = 0.8, i.e. the first defect.
#   risk: first defect at position 2, cum effort 50 -> 50/200 = 0.25
#   effort-aware: first defect at position 2, cum effort 15 -> 15/200 = 0.075
# Effort at 50 % recall (risk): target 2 defects, reached at position 4, cum 75 -> 0.375
# IFA: risk: change 0 is clean, change 1 defective -> 1
#      effort-aware: change 2 is clean, change 1 defective -> 1
#
# Threshold 0.5 (score >= 0.5 is positive: changes 0-5, including 5 at exactly 0.5):
#   TP = {1, 3, 5} = 3, FP = {0, 2, 4} = 3, FN = {8} = 1, TN = {6, 7, 9} = 3
#   precision = 3/6 = 0.5, recall = 3/4 = 0.75, F1 = 2 * 0.5 * 0.75 / 1.25 = 0.6
#   MCC = (3*3 - 3*1) / sqrt((3+3) * (3+1) * (3+3) * (3+1)) = 6 / sqrt(576) = 6/24 = 0.25
# Brier: squared errors (score - y)^2
#   0.9025 + 0.01 + 0.64 + 0.09 + 0.36 + 0.25 + 0.16 + 0.09 + 0.64 + 0.01 = 3.1525
#   3.1525 / 10 = 0.31525
# ROC AUC: pairs (defective, clean) where the defective scores higher, of 4 * 6 = 24:
#   0.90 beats 0.80, 0.60, 0.40, 0.30, 0.10 -> 5;  0.70 beats 0.60, 0.40, 0.30, 0.10 -> 4
#   0.50 beats 0.40, 0.30, 0.10 -> 3;              0.20 beats 0.10 -> 1
#   (5 + 4 + 3 + 1) / 24 = 13/24
# PR AUC (average precision): ranked by score, y = 0 1 0 1 0 1 0 0 1 0; precision at
#   each defective: 1/2, 2/4, 3/6, 4/9 -> (1/2 + 1/2 + 1/2 + 4/9) / 4 = 35/72


def _arr(values: list[int]) -> npt.NDArray[np.intp]:
    return np.array(values, dtype=np.intp)


# --- rankings -------------------------------------------------------------------------


def test_toy_orders() -> None:
    assert risk_order(SCORE, EFFORT).tolist() == RISK_ORDER
    assert effort_aware_order(SCORE, EFFORT).tolist() == EFFORT_AWARE_ORDER


def test_risk_order_ties_by_smaller_effort_then_position() -> None:
    score = [0.5, 0.5, 0.5, 0.9, 0.5]
    effort = [10, 5, 5, 1, 0]
    # 3 has the top score; among the 0.5s: effort 0 (4), effort 5 (1 before 2), effort 10 (0)
    assert risk_order(score, effort).tolist() == [3, 4, 1, 2, 0]


def test_risk_order_all_tied_keeps_positions() -> None:
    assert risk_order([0.3, 0.3, 0.3], [7, 7, 7]).tolist() == [0, 1, 2]


def test_effort_aware_order_ties_by_smaller_effort_then_position() -> None:
    # densities: 0.25/8 = 1/32, 0.5/16 = 1/32, 0.125/max(0, 1) = 0.125, 0.75/24 = 1/32,
    # 0.25/8 = 1/32 (all exact in binary floating point)
    score = [0.25, 0.5, 0.125, 0.75, 0.25]
    effort = [8, 16, 0, 24, 8]
    assert effort_aware_order(score, effort).tolist() == [2, 0, 4, 1, 3]


def test_effort_aware_order_clamps_effort_below_one() -> None:
    # 0.2 / max(0.1, 1) = 0.2 < 0.5 / 1 = 0.5; without the clamp 0.2 / 0.1 = 2 would lead
    assert effort_aware_order([0.2, 0.5], [0.1, 1.0]).tolist() == [1, 0]
    # equal densities 0.3 / 1: the smaller actual effort goes first
    assert effort_aware_order([0.3, 0.3], [0.5, 0.0]).tolist() == [1, 0]


# --- effort-aware metrics on the toy --------------------------------------------------


def test_toy_recall_at_effort() -> None:
    assert recall_at_effort(Y, EFFORT, _arr(RISK_ORDER)) == pytest.approx(0.0)
    assert recall_at_effort(Y, EFFORT, _arr(RISK_ORDER), share=0.3) == pytest.approx(0.25)
    assert recall_at_effort(Y, EFFORT, _arr(EFFORT_AWARE_ORDER)) == pytest.approx(0.5)


def test_toy_effort_at_recall() -> None:
    assert effort_at_recall(Y, EFFORT, _arr(RISK_ORDER)) == pytest.approx(0.25)
    assert effort_at_recall(Y, EFFORT, _arr(RISK_ORDER), share=0.5) == pytest.approx(0.375)
    assert effort_at_recall(Y, EFFORT, _arr(EFFORT_AWARE_ORDER)) == pytest.approx(0.075)


def test_toy_popt() -> None:
    assert popt(Y, EFFORT, _arr(RISK_ORDER)) == pytest.approx(POPT_RISK)
    assert popt(Y, EFFORT, _arr(EFFORT_AWARE_ORDER)) == pytest.approx(POPT_EFFORT_AWARE)
    assert popt(Y, EFFORT, _arr(OPTIMAL_ORDER)) == pytest.approx(1.0)
    assert popt(Y, EFFORT, _arr(WORST_ORDER)) == pytest.approx(0.0)


def test_toy_ifa() -> None:
    assert ifa(Y, _arr(RISK_ORDER)) == 1
    assert ifa(Y, _arr(EFFORT_AWARE_ORDER)) == 1
    assert ifa(Y, _arr(OPTIMAL_ORDER)) == 0
    # worst order: six clean changes before change 3
    assert ifa(Y, _arr(WORST_ORDER)) == 6


def test_recall_at_effort_includes_a_change_that_meets_the_budget_exactly() -> None:
    # E = 5, budget 0.2 * 5 = 1: change 0 (cum 1) is inspected, change 1 (cum 5) is not
    assert recall_at_effort([1, 1], [1, 4], _arr([0, 1])) == pytest.approx(0.5)
    # 0.29 * 100 is 28.999999999999996 in floating point; the budget is still 29
    assert recall_at_effort([1, 1], [29, 71], _arr([0, 1]), share=0.29) == pytest.approx(0.5)


def test_zero_total_effort_counts_each_change_as_one() -> None:
    y = [0, 1, 0, 1]
    effort = [0, 0, 0, 0]
    order = _arr([0, 1, 2, 3])
    # efforts 1, 1, 1, 1; E = 4, cum 1, 2, 3, 4; cum defects 0, 1, 1, 2
    # share 0.5: budget 2 -> changes 0, 1 -> 1 of 2 defects
    assert recall_at_effort(y, effort, order, share=0.5) == pytest.approx(0.5)
    # share 0.2: budget 0.8 -> nothing inspected
    assert recall_at_effort(y, effort, order) == pytest.approx(0.0)
    # share 0.5: 1 defect reached at position 2, cum 2 -> 2/4
    assert effort_at_recall(y, effort, order, share=0.5) == pytest.approx(0.5)
    # areas in units (E * D = 8): optimal 1*(0+1)/2 + 1*(1+2)/2 + 2*2 = 6;
    # worst 0 + 0 + 0.5 + 1.5 = 2; model 0 + 0.5 + 1 + 1.5 = 3 -> 1 - (6-3)/(6-2) = 0.25
    assert popt(y, effort, order) == pytest.approx(0.25)


def test_zero_effort_change_does_not_reopen_the_budget() -> None:
    # E = 20, budget 4: change 1 (cum 10) exceeds it, so change 0 after it is not reached
    assert recall_at_effort([1, 0, 1], [0, 10, 10], _arr([1, 0, 2])) == pytest.approx(0.0)
    assert recall_at_effort([1, 0, 1], [0, 10, 10], _arr([0, 1, 2])) == pytest.approx(0.5)


# --- undefined values -----------------------------------------------------------------


@pytest.mark.parametrize("y", [[0, 0, 0], [1, 1, 1]])
def test_aucs_are_nan_with_one_class(y: list[int]) -> None:
    assert math.isnan(roc_auc(y, [0.1, 0.5, 0.9]))
    assert math.isnan(pr_auc(y, [0.1, 0.5, 0.9]))


def test_effort_metrics_are_nan_without_defects() -> None:
    y = [0, 0, 0]
    effort = [1, 2, 3]
    order = _arr([0, 1, 2])
    assert math.isnan(recall_at_effort(y, effort, order))
    assert math.isnan(effort_at_recall(y, effort, order))
    assert math.isnan(popt(y, effort, order))
    # no defect: every change is a false alarm
    assert ifa(y, order) == 3


def test_popt_is_nan_when_all_defective() -> None:
    assert math.isnan(popt([1, 1, 1], [1, 2, 3], _arr([0, 1, 2])))


def test_popt_is_nan_when_optimal_and_worst_areas_coincide() -> None:
    # The clean change has zero effort. Optimal (1 then 0): (0,0) -> (1,1) -> (1,1), area
    # 0.5; worst (0 then 1): (0,0) -> (0,0) -> (1,1), area 0.5.
    assert math.isnan(popt([1, 0], [5, 0], _arr([0, 1])))


def test_mcc_and_f1_are_zero_where_undefined() -> None:
    # nothing predicted positive: precision undefined, MCC denominator zero
    assert f1([0, 1, 1], [0.1, 0.2, 0.3]) == 0.0
    assert mcc([0, 1, 1], [0.1, 0.2, 0.3]) == 0.0
    # one class only in y
    assert mcc([1, 1, 1], [0.1, 0.6, 0.9]) == 0.0
    # one class in y and in the predictions: 0.0, and no warning from scikit-learn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mcc([1, 1], [0.9, 0.8]) == 0.0
        assert f1([0, 0], [0.1, 0.2]) == 0.0


# --- threshold-independent and threshold metrics --------------------------------------


def test_auc_on_four_rows() -> None:
    y = [0, 0, 1, 1]
    score = [0.1, 0.4, 0.35, 0.8]
    # ROC: 0.35 beats 0.1 only (1), 0.8 beats both (2) -> 3 of 4 pairs = 0.75
    assert roc_auc(y, score) == pytest.approx(0.75)
    # ranked: 0.8 (1), 0.4 (0), 0.35 (1), 0.1 (0); precision at defects 1/1, 2/3
    # -> (1 + 2/3) / 2 = 5/6
    assert pr_auc(y, score) == pytest.approx(5 / 6)


def test_auc_counts_a_tie_as_half() -> None:
    # pairs: (0.5 vs 0.5) tie = 0.5, (0.5 vs 0.2) = 1 -> 1.5 / 2 = 0.75
    assert roc_auc([1, 0, 0], [0.5, 0.5, 0.2]) == pytest.approx(0.75)


def test_toy_threshold_independent() -> None:
    assert roc_auc(Y, SCORE) == pytest.approx(13 / 24)
    assert pr_auc(Y, SCORE) == pytest.approx(35 / 72)
    assert brier(Y, SCORE) == pytest.approx(0.31525)


def test_toy_threshold_metrics() -> None:
    assert f1(Y, SCORE, 0.5) == pytest.approx(0.6)
    assert mcc(Y, SCORE, 0.5) == pytest.approx(0.25)


def test_threshold_moves_predictions() -> None:
    # t = 0.65: positives 0-3; TP = {1, 3} = 2, FP = {0, 2} = 2, FN = {5, 8} = 2, TN = 4
    # precision 0.5, recall 0.5, F1 0.5; MCC = (2*4 - 2*2) / sqrt(4 * 4 * 6 * 6) = 4/24
    assert f1(Y, SCORE, 0.65) == pytest.approx(0.5)
    assert mcc(Y, SCORE, 0.65) == pytest.approx(1 / 6)


def test_brier_small() -> None:
    # (0.2 - 0)^2 + (0.6 - 1)^2 = 0.04 + 0.16 = 0.2; / 2 = 0.1
    assert brier([0, 1], [0.2, 0.6]) == pytest.approx(0.1)


# --- evaluate_scores and Metrics ------------------------------------------------------


def test_evaluate_scores_risk() -> None:
    metrics = evaluate_scores(Y, SCORE, EFFORT)
    assert metrics.roc_auc == pytest.approx(13 / 24)
    assert metrics.pr_auc == pytest.approx(35 / 72)
    assert metrics.f1 == pytest.approx(0.6)
    assert metrics.mcc == pytest.approx(0.25)
    assert metrics.brier == pytest.approx(0.31525)
    assert metrics.recall_at_20_effort == pytest.approx(0.0)
    assert metrics.effort_at_20_recall == pytest.approx(0.25)
    assert metrics.popt == pytest.approx(POPT_RISK)
    assert metrics.ifa == 1.0


def test_evaluate_scores_effort_aware() -> None:
    metrics = evaluate_scores(Y, SCORE, EFFORT, ranking=Ranking.EFFORT_AWARE)
    assert metrics.recall_at_20_effort == pytest.approx(0.5)
    assert metrics.effort_at_20_recall == pytest.approx(0.075)
    assert metrics.popt == pytest.approx(POPT_EFFORT_AWARE)
    assert metrics.ifa == 1.0
    # the ranking does not touch the threshold-independent metrics
    assert metrics.roc_auc == pytest.approx(13 / 24)
    assert evaluate_scores(Y, SCORE, EFFORT, ranking="effort-aware") == metrics


def test_as_dict_turns_nan_into_none() -> None:
    metrics = evaluate_scores([0, 0, 0], [0.1, 0.2, 0.7], [1, 2, 3])
    d = metrics.as_dict()
    assert d["roc_auc"] is None
    assert d["pr_auc"] is None
    assert d["popt"] is None
    assert d["recall_at_20_effort"] is None
    assert d["ifa"] == 3.0
    # (0.01 + 0.04 + 0.49) / 3 = 0.18
    assert d["brier"] == pytest.approx(0.18)
    assert list(d) == [
        "roc_auc",
        "pr_auc",
        "f1",
        "mcc",
        "brier",
        "recall_at_20_effort",
        "effort_at_20_recall",
        "popt",
        "ifa",
    ]


def test_lower_is_better_names_metrics() -> None:
    assert {"brier", "effort_at_20_recall", "ifa"} == LOWER_IS_BETTER
    assert Metrics.LOWER_IS_BETTER == LOWER_IS_BETTER
    assert set(evaluate_scores(Y, SCORE, EFFORT).as_dict()) >= LOWER_IS_BETTER


def test_metrics_is_frozen() -> None:
    metrics = evaluate_scores(Y, SCORE, EFFORT)
    with pytest.raises(AttributeError):
        metrics.popt = 1.0  # type: ignore[misc]


# --- bad input ------------------------------------------------------------------------


def test_metric_error_is_a_value_error() -> None:
    assert issubclass(MetricError, ValueError)


@pytest.mark.parametrize(
    ("y", "score", "effort"),
    [
        ([0, 1, 1], [0.1, 0.2], [1, 1, 1]),  # score too short
        ([0, 1, 1], [0.1, 0.2, 0.3], [1, 1]),  # effort too short
        ([], [], []),  # empty
        ([0, 2, 1], [0.1, 0.2, 0.3], [1, 1, 1]),  # label 2
        ([0, -1, 1], [0.1, 0.2, 0.3], [1, 1, 1]),  # label -1
        ([0, 0.5, 1], [0.1, 0.2, 0.3], [1, 1, 1]),  # label 0.5
        (["0", "1"], [0.1, 0.2], [1, 1]),  # labels as text
        ([0, 1, 1], [0.1, 0.2, 0.3], [1, -1, 1]),  # negative effort
        ([0, 1, 1], [0.1, 0.2, 0.3], [1, math.nan, 1]),  # NaN effort
        ([0, 1, 1], [0.1, math.nan, 0.3], [1, 1, 1]),  # NaN score
        ([0, 1, 1], [0.1, 1.2, 0.3], [1, 1, 1]),  # score not a probability
        ([[0, 1]], [[0.1, 0.2]], [[1, 1]]),  # two-dimensional
    ],
)
def test_evaluate_scores_rejects_bad_input(
    y: list[object], score: list[object], effort: list[object]
) -> None:
    with pytest.raises(MetricError):
        evaluate_scores(y, score, effort)  # type: ignore[arg-type]


def test_unknown_ranking_is_rejected() -> None:
    with pytest.raises(MetricError, match="unknown ranking"):
        evaluate_scores(Y, SCORE, EFFORT, ranking="random")


@pytest.mark.parametrize(
    "order",
    [
        [0, 1, 2],  # too short
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 8],  # repeated index
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],  # out of range
    ],
)
def test_order_must_be_a_permutation(order: list[int]) -> None:
    with pytest.raises(MetricError, match="order"):
        popt(Y, EFFORT, _arr(order))
    with pytest.raises(MetricError, match="order"):
        ifa(Y, _arr(order))


def test_order_must_be_integers() -> None:
    with pytest.raises(MetricError, match="integer"):
        recall_at_effort(Y, EFFORT, np.arange(10, dtype=np.float64))


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5, math.nan])
def test_share_must_lie_in_unit_interval(share: float) -> None:
    with pytest.raises(MetricError, match="share"):
        recall_at_effort(Y, EFFORT, _arr(RISK_ORDER), share=share)
    with pytest.raises(MetricError, match="share"):
        effort_at_recall(Y, EFFORT, _arr(RISK_ORDER), share=share)


def test_rankings_reject_bad_input() -> None:
    with pytest.raises(MetricError, match="effort"):
        risk_order([0.1, 0.2], [1, -1])
    with pytest.raises(MetricError, match="effort"):
        effort_aware_order([0.1, 0.2], [1])
    with pytest.raises(MetricError, match="score"):
        risk_order([0.1, math.inf], [1, 1])


def test_threshold_must_be_finite() -> None:
    with pytest.raises(MetricError, match="threshold"):
        f1(Y, SCORE, math.nan)
