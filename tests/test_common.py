"""scikit-learn's estimator checks over both classifiers and their options."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklinear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV

_MINIBATCH_REASON = (
    "minibatches smaller than the data make SGD order-dependent: fitting "
    "repeated rows is not fitting weighted rows, as for sklearn's SGDClassifier"
)


def _configurations():
    """Defaults, plus one configuration per optimizer and per penalty.

    Every configuration runs at the automatic learning rate but one, which
    keeps a float rate to check that path.
    """
    yield MulticlassSVMSGD()
    yield SoftmaxSGD()
    for optimizer in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adamw"):
        yield SoftmaxSGD(optimizer=optimizer)
    yield SoftmaxSGD(learning_rate_init=0.01, average=False)
    yield MulticlassSVMSGD(optimizer="random_search")
    for penalty in ("l1", "elasticnet", None):
        yield MulticlassSVMSGD(penalty=penalty, alpha=1e-3)
    yield MulticlassSVMSGD(
        loss="squared_hinge", multi_class="crammer_singer", max_norm=5.0
    )
    yield MulticlassSVMSGD(loss="smooth_hinge", smoothing=0.5, optimizer="sgd")
    yield SoftmaxSGD(batch_size=8, dropout=0.1, learning_rate="step")
    yield SoftmaxSGD(batch_size=None, optimizer="sgd", learning_rate="invscaling")
    yield MulticlassSVMSGD(batch_size=8, early_stopping=True, validation_fraction=0.3)
    yield SoftmaxSGDCV(alphas=[1e-4, 1e-2], cv=3)
    yield MulticlassSVMSGDCV(alphas=[1e-4], margins=[0.5, 2.0], cv=3)


def _expected_failed_checks(estimator):
    if hasattr(estimator, "cv"):
        return {}
    if estimator.batch_size not in (None, "auto"):
        return {
            "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_REASON,
            "check_sample_weight_equivalence_on_sparse_data": _MINIBATCH_REASON,
        }
    return {}


@parametrize_with_checks(
    list(_configurations()), expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
