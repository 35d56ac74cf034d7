"""Helpers shared by the displays."""

from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted


def check_matplotlib_support(caller_name):
    """Raise an ImportError naming the caller when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib: pip install matplotlib "
            "(or pip install 'sklinear[plot]')."
        ) from exc


def style_kwargs(defaults, user_kwargs, artist_class):
    """``defaults`` updated by ``user_kwargs``, matplotlib aliases resolved.

    Aliases are normalized first, so that a user's ``c="k"`` replaces the
    default ``color`` instead of clashing with it.
    """
    from matplotlib.cbook import normalize_kwargs

    return {
        **normalize_kwargs(defaults, artist_class),
        **normalize_kwargs(user_kwargs, artist_class),
    }


def fitted_inner_estimator(estimator):
    """The fitted ``estimator_`` of a wrapper (DaskSGD, ...), or None.

    An unfitted ``estimator_`` (the template of a bagging ensemble, ...) is
    not one: it holds no fitted attributes.
    """
    inner = getattr(estimator, "estimator_", None)
    if inner is None or not hasattr(inner, "fit"):
        return None
    try:
        check_is_fitted(inner)
    except (NotFittedError, TypeError):
        return None
    return inner


def find_fitted_attribute(estimator, attribute, caller_name):
    """The estimator holding the fitted ``attribute``.

    That is ``estimator`` itself, else the last step of a pipeline, else the
    ``best_estimator_`` of a fitted search, else the fitted ``estimator_`` of
    a wrapper such as :class:`sklinear.dask.DaskSGD`, looked for in that
    order and recursively (a search over a pipeline works).

    Raises
    ------
    NotFittedError
        If the estimator that should hold the attribute is not fitted.
    ValueError
        If it is fitted but has no such attribute.
    """
    current = estimator
    while not hasattr(current, attribute):
        if isinstance(current, Pipeline):
            current = current[-1]
        elif getattr(current, "best_estimator_", None) is not None:
            current = current.best_estimator_
        elif fitted_inner_estimator(current) is not None:
            current = current.estimator_
        else:
            break
    else:
        return current
    if hasattr(current, "fit"):
        check_is_fitted(current)
    raise ValueError(
        f"{caller_name} needs an estimator with a fitted `{attribute}` "
        f"attribute (sklinear's MulticlassSVMSGD or SoftmaxSGD, a pipeline "
        f"ending in one, a fitted search over them, or a DaskSGD that "
        f"trained one); {type(current).__name__} has none."
    )
