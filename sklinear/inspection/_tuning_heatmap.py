"""Validation score over a grid of two hyperparameters, as a heatmap."""

import math
from numbers import Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._utils import check_matplotlib_support, fitted_inner_estimator, style_kwargs

# Last component (after any ``step__``) of the parameter names detected by
# default: the learning rate on the x axis, the regularization strength on
# the y axis. ``learning_rate`` counts only when its values are numbers (in
# sklinear it names the schedule).
_LEARNING_RATE_NAMES = ("learning_rate_init", "learning_rate", "eta0", "lr")
_REGULARIZATION_NAMES = ("alpha", "C", "reg", "weight_decay")


class TuningHeatmapDisplay:
    """Validation score over a grid of two hyperparameters (CS231n's tuning plot).

    One cell per pair of values, colored by the score, optionally annotated
    with it; the best cell is outlined. CS231n tunes the learning rate and
    the regularization strength this way, and :meth:`from_cv_results`
    detects those two parameters by default.

    It is recommended to create one with :meth:`from_cv_results` or
    :meth:`from_estimator`. All parameters are stored as attributes.

    Parameters
    ----------
    scores : array-like of shape (n_y_values, n_x_values)
        Score of each cell, NaN where none was computed.
    x_values : array-like of shape (n_x_values,)
        Values of the parameter on the x axis (columns).
    y_values : array-like of shape (n_y_values,)
        Values of the parameter on the y axis (rows, from the bottom).
    x_name : str, default=None
        Label of the x axis.
    y_name : str, default=None
        Label of the y axis.
    score_name : str, default=None
        Label of the colorbar.

    Attributes
    ----------
    im_ : matplotlib AxesImage
        The heatmap.
    text_ : ndarray of matplotlib Text, shape (n_y_values, n_x_values), or None
        The annotations (None where a cell has no score); None with
        ``annotate=False``.
    best_marker_ : matplotlib Rectangle or None
        The outline of the best cell; None with ``mark_best=False``.
    colorbar_ : matplotlib Colorbar or None
        The colorbar; None with ``colorbar=False``.
    ax_ : matplotlib Axes
        Axes of the heatmap.
    figure_ : matplotlib Figure
        Figure holding the axes.

    See Also
    --------
    LossCurveDisplay : Training objective and validation score per epoch.
    WeightTemplatesDisplay : The weights of each class as images.

    Examples
    --------
    >>> from sklinear.inspection import TuningHeatmapDisplay
    >>> display = TuningHeatmapDisplay(
    ...     [[0.80, 0.90], [0.70, 0.85]], x_values=[1e-3, 1e-2],
    ...     y_values=[1e-4, 1e-1], x_name="learning rate", y_name="alpha",
    ... ).plot()
    >>> [label.get_text() for label in display.ax_.get_xticklabels()]
    ['$10^{-3}$', '$10^{-2}$']
    >>> display.best_marker_.get_xy()
    (0.5, -0.5)
    """

    def __init__(
        self, scores, *, x_values, y_values, x_name=None, y_name=None, score_name=None
    ):
        self.scores = scores
        self.x_values = x_values
        self.y_values = y_values
        self.x_name = x_name
        self.y_name = y_name
        self.score_name = score_name

    def plot(
        self,
        ax=None,
        *,
        annotate=True,
        values_format=".2f",
        cmap="viridis",
        colorbar=True,
        mark_best=True,
        imshow_kw=None,
        text_kw=None,
    ):
        """Draw the heatmap.

        Numeric parameter values label the ticks compactly, as powers of
        ten (:math:`10^{-3}`) when they all are: a grid made with
        ``np.logspace`` is drawn on a log scale, one cell per value.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None: a new figure and axes.
        annotate : bool, default=True
            Write the score in each cell.
        values_format : str, default=".2f"
            Format specification of the annotations.
        cmap : str or matplotlib Colormap, default="viridis"
            Colormap of the scores.
        colorbar : bool, default=True
            Add a colorbar.
        mark_best : bool, default=True
            Outline the cell with the highest score.
        imshow_kw : dict, default=None
            Keyword arguments of ``Axes.imshow``.
        text_kw : dict, default=None
            Keyword arguments of ``Axes.text`` for the annotations.

        Returns
        -------
        display : TuningHeatmapDisplay
            This display, with the attributes of the drawing set.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklinear.inspection import TuningHeatmapDisplay
        >>> fig, ax = plt.subplots()
        >>> display = TuningHeatmapDisplay(
        ...     [[0.5, 0.75]], x_values=["sgd", "adam"], y_values=[0.1],
        ... ).plot(ax=ax, values_format=".1%", colorbar=False)
        >>> display.text_[0, 1].get_text()
        '75.0%'
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.image import AxesImage
        from matplotlib.patches import Rectangle
        from matplotlib.text import Text

        scores = np.asarray(self.scores, dtype=float)
        x_values, y_values = list(self.x_values), list(self.y_values)
        if scores.shape != (len(y_values), len(x_values)):
            raise ValueError(
                f"scores has shape {scores.shape}, but there are "
                f"{len(y_values)} y_values and {len(x_values)} x_values; "
                "expected (n_y_values, n_x_values)."
            )
        if not np.isfinite(scores).any():
            raise ValueError("scores has no finite value: there is nothing to draw.")

        if ax is None:
            _, ax = plt.subplots()
        defaults = {"cmap": cmap, "origin": "lower", "interpolation": "nearest"}
        self.im_ = ax.imshow(scores, **style_kwargs(defaults, imshow_kw, AxesImage))
        ax.set_xticks(range(len(x_values)), _tick_labels(x_values))
        ax.set_yticks(range(len(y_values)), _tick_labels(y_values))
        if self.x_name is not None:
            ax.set_xlabel(self.x_name)
        if self.y_name is not None:
            ax.set_ylabel(self.y_name)

        self.text_ = None
        if annotate:
            self.text_ = np.full(scores.shape, None, dtype=object)
            dark, light = self.im_.cmap(0.0), self.im_.cmap(1.0)
            for (i, j), score in np.ndenumerate(scores):
                if np.isnan(score):
                    continue
                # Text in the color of the other end of the colormap: light on
                # the lower half of the color scale, dark on the upper half.
                color = light if self.im_.norm(score) < 0.5 else dark
                defaults = {"ha": "center", "va": "center", "color": color}
                self.text_[i, j] = ax.text(
                    j,
                    i,
                    format(score, values_format),
                    **style_kwargs(defaults, text_kw, Text),
                )

        self.best_marker_ = None
        if mark_best:
            i, j = (
                int(k) for k in np.unravel_index(np.nanargmax(scores), scores.shape)
            )
            self.best_marker_ = ax.add_patch(
                Rectangle(
                    (j - 0.5, i - 0.5),
                    1,
                    1,
                    fill=False,
                    edgecolor="red",
                    linewidth=2,
                    clip_on=False,
                    label="best",
                )
            )

        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = ax.figure.colorbar(self.im_, ax=ax)
            if self.score_name is not None:
                self.colorbar_.set_label(self.score_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_cv_results(
        cls,
        cv_results,
        *,
        x=None,
        y=None,
        score="mean_test_score",
        score_name=None,
        ax=None,
        annotate=True,
        values_format=".2f",
        cmap="viridis",
        colorbar=True,
        mark_best=True,
        imshow_kw=None,
        text_kw=None,
    ):
        """Plot the scores of a hyperparameter search over two of its parameters.

        Each candidate of the search falls in the cell of its values of
        ``x`` and ``y``. When other parameters vary too, a cell holds
        several candidates and shows the **best** of their scores (the
        other parameters set at their best for that pair of values).
        Candidates without a value for ``x`` or ``y`` (from another grid of
        a list of grids) are left out; cells with no candidate are blank.

        Parameters
        ----------
        cv_results : dict of arrays
            The ``cv_results_`` of a search such as scikit-learn's
            ``GridSearchCV``: columns ``param_<name>`` (masked arrays or
            sequences) and score columns (or a pandas DataFrame of it).
        x : str, default=None
            Parameter on the x axis, with or without the ``param_`` prefix
            (``"learning_rate_init"``, ``"param_clf__learning_rate_init"``).
            None: the one parameter named like a learning rate
            (``learning_rate_init``, numeric ``learning_rate``, ``eta0`` or
            ``lr``, after any ``step__`` prefix).
        y : str, default=None
            Parameter on the y axis. None: the one named like a
            regularization strength (``alpha``, ``C``, ``reg`` or
            ``weight_decay``, after any ``step__`` prefix).
        score : str, default="mean_test_score"
            Column of the scores (higher is better, as in scikit-learn's
            searches), e.g. ``"mean_test_accuracy"`` with several metrics.
        score_name : str, default=None
            Label of the colorbar. None: ``score`` in words.
        ax : matplotlib Axes, default=None
            Axes to draw on. None: a new figure and axes.
        annotate, values_format, cmap, colorbar, mark_best, imshow_kw, text_kw
            See :meth:`plot`.

        Returns
        -------
        display : TuningHeatmapDisplay
            The display, drawn.

        Raises
        ------
        ValueError
            If a column is missing, the columns differ in length, or ``x``
            or ``y`` is None and no single parameter has a matching name.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn.model_selection import GridSearchCV
        >>> from sklinear import SoftmaxSGD
        >>> from sklinear.inspection import TuningHeatmapDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> grid = {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-2, 1.0]}
        >>> search = GridSearchCV(SoftmaxSGD(max_iter=3, tol=None, random_state=0),
        ...                       grid, cv=2).fit(X[:300] / 16, y[:300])
        >>> display = TuningHeatmapDisplay.from_cv_results(search.cv_results_)
        >>> display.im_.get_array().shape
        (3, 2)
        >>> display.ax_.get_xlabel(), display.ax_.get_ylabel()
        ('learning_rate_init', 'alpha')
        """
        keys = [key for key in cv_results if key.startswith("param_")]
        x_key = _parameter_key(cv_results, keys, x, "x", _LEARNING_RATE_NAMES)
        y_key = _parameter_key(cv_results, keys, y, "y", _REGULARIZATION_NAMES)
        if x_key == y_key:
            raise ValueError(f"x and y are the same parameter {x_key!r}.")
        if score not in cv_results:
            available = [key for key in cv_results if "_test_" in key]
            raise ValueError(
                f"cv_results has no column {score!r}; score columns: {available}."
            )
        x_column, x_present = _column(cv_results[x_key])
        y_column, y_present = _column(cv_results[y_key])
        scores = np.asarray(cv_results[score], dtype=float)
        lengths = {x_key: len(x_column), y_key: len(y_column)}
        lengths[score] = len(scores) if scores.ndim == 1 else scores.shape
        if len(set(lengths.values())) > 1:
            raise ValueError(
                "The columns of cv_results must hold one value per candidate, "
                f"but they have different lengths: {lengths}. Pass the "
                "cv_results_ of a single search, or a table whose columns "
                "have one row per candidate."
            )
        rows = np.flatnonzero(x_present & y_present)
        if rows.size == 0:
            raise ValueError(
                f"No candidate of the search has values of both {x_key!r} and "
                f"{y_key!r}."
            )
        x_values = _unique(x_column[rows])
        y_values = _unique(y_column[rows])
        grid = np.full((len(y_values), len(x_values)), np.nan)
        x_index = {value: k for k, value in enumerate(x_values)}
        y_index = {value: k for k, value in enumerate(y_values)}
        for row in rows:
            i, j = y_index[y_column[row]], x_index[x_column[row]]
            grid[i, j] = np.fmax(grid[i, j], scores[row])  # fmax skips NaN
        if score_name is None:
            score_name = score.replace("_", " ").capitalize()
        display = cls(
            grid,
            x_values=x_values,
            y_values=y_values,
            x_name=x_key.removeprefix("param_"),
            y_name=y_key.removeprefix("param_"),
            score_name=score_name,
        )
        return display.plot(
            ax=ax,
            annotate=annotate,
            values_format=values_format,
            cmap=cmap,
            colorbar=colorbar,
            mark_best=mark_best,
            imshow_kw=imshow_kw,
            text_kw=text_kw,
        )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        x=None,
        y=None,
        score=None,
        score_name=None,
        ax=None,
        annotate=True,
        values_format=".2f",
        cmap="viridis",
        colorbar=True,
        mark_best=True,
        imshow_kw=None,
        text_kw=None,
    ):
        """Plot the scores of a fitted hyperparameter search.

        Reads the search's ``cv_results_``: see :meth:`from_cv_results`.

        Parameters
        ----------
        estimator : estimator
            A fitted search with ``cv_results_``, such as scikit-learn's
            ``GridSearchCV`` or :class:`~sklinear.SoftmaxSGDCV`, or a
            fitted wrapper whose ``estimator_`` is one.
        x : str, default=None
            See :meth:`from_cv_results`.
        y : str, default=None
            See :meth:`from_cv_results`.
        score : str, default=None
            Column of the scores. None: ``"mean_test_<refit>"`` when the
            search refits on one of several metrics, else
            ``"mean_test_score"``.
        score_name, ax, annotate, values_format, cmap, colorbar, mark_best, \
imshow_kw, text_kw
            See :meth:`from_cv_results`.

        Returns
        -------
        display : TuningHeatmapDisplay
            The display, drawn.

        Raises
        ------
        NotFittedError
            If the search is not fitted.
        ValueError
            If the estimator has no ``cv_results_`` (nor its fitted
            ``estimator_``: :class:`sklinear.dask.DaskSGD` trains one model,
            not a search).

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn.model_selection import GridSearchCV
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from sklinear import MulticlassSVMSGD
        >>> from sklinear.inspection import TuningHeatmapDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> pipe = make_pipeline(StandardScaler(),
        ...                      MulticlassSVMSGD(max_iter=3, tol=None,
        ...                                       random_state=0))
        >>> grid = {"multiclasssvmsgd__learning_rate_init": [1e-3, 1e-2],
        ...         "multiclasssvmsgd__alpha": [1e-4, 1e-2]}
        >>> search = GridSearchCV(pipe, grid, cv=2).fit(X[:300], y[:300])
        >>> display = TuningHeatmapDisplay.from_estimator(search, annotate=False)
        >>> display.ax_.get_ylabel()
        'multiclasssvmsgd__alpha'
        """
        search = estimator
        while not hasattr(search, "cv_results_"):
            inner = fitted_inner_estimator(search)
            if inner is None:
                break
            search = inner
        if not hasattr(search, "cv_results_"):
            check_is_fitted(estimator)
            what = f"{type(estimator).__name__} has none"
            if search is not estimator:
                what += (
                    f", nor has its estimator_ ({type(search).__name__}): it "
                    "trained one model, not a search"
                )
            raise ValueError(
                f"{cls.__name__}.from_estimator needs a fitted hyperparameter "
                f"search with cv_results_ (GridSearchCV, SoftmaxSGDCV, ...); "
                f"{what}. For a table of results, use from_cv_results."
            )
        estimator = search
        if score is None:
            refit = getattr(estimator, "refit", None)
            score = f"mean_test_{refit}" if isinstance(refit, str) else None
            if score not in estimator.cv_results_:
                score = "mean_test_score"
        return cls.from_cv_results(
            estimator.cv_results_,
            x=x,
            y=y,
            score=score,
            score_name=score_name,
            ax=ax,
            annotate=annotate,
            values_format=values_format,
            cmap=cmap,
            colorbar=colorbar,
            mark_best=mark_best,
            imshow_kw=imshow_kw,
            text_kw=text_kw,
        )


def _column(values):
    """Values as an object array, and where they are present (not masked/None)."""
    if isinstance(values, np.ma.MaskedArray):
        present = ~np.ma.getmaskarray(values)
        data = np.asarray(values.data, dtype=object)
    else:  # a list, or a pandas Series (whose dtype numpy may not know)
        data = np.asarray(list(values), dtype=object)
        present = np.ones(data.shape, dtype=bool)
    if data.ndim != 1:
        raise ValueError(f"A cv_results column has shape {data.shape}; expected 1-d.")
    for k, value in enumerate(data):
        # pandas turns masked values into None or NaN.
        if value is None or (isinstance(value, float) and math.isnan(value)):
            present[k] = False
    return data, present


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def _unique(values):
    """Distinct values: sorted if all are numbers, else in order of appearance."""
    distinct = list(dict.fromkeys(values))
    if all(_is_number(value) for value in distinct):
        distinct.sort()
    return distinct


def _parameter_key(cv_results, keys, name, axis, default_names):
    """The ``param_`` column of an axis: given by name or detected."""
    if name is not None:
        key = name if name.startswith("param_") else f"param_{name}"
        if key not in cv_results:
            raise ValueError(
                f"{axis}={name!r}: cv_results has no column {key!r}; parameter "
                f"columns: {keys}."
            )
        return key
    candidates = []
    for key in keys:
        if key.rsplit("__", 1)[-1].removeprefix("param_") not in default_names:
            continue
        values, present = _column(cv_results[key])
        if present.any() and all(_is_number(value) for value in values[present]):
            candidates.append((key, len(_unique(values[present]))))
    if len(candidates) > 1:
        # Prefer the parameters that vary; a fixed one is a single row or column.
        varying = [(key, n) for key, n in candidates if n > 1]
        candidates = varying or candidates
    if len(candidates) != 1:
        found = "several" if candidates else "no"
        raise ValueError(
            f"{axis}=None: found {found} numeric parameter named like "
            f"{' or '.join(default_names)} in cv_results "
            f"({[key for key, _ in candidates]}); pass {axis}= one of {keys}."
        )
    return candidates[0][0]


def _tick_labels(values):
    """Compact labels; powers of ten as ``$10^{k}$`` when every value is one."""
    if not values or not all(_is_number(value) for value in values):
        return [str(value) for value in values]
    if all(value > 0 for value in values):
        exponents = [math.log10(value) for value in values]
        if all(abs(e - round(e)) < 1e-9 for e in exponents):
            return [f"$10^{{{round(e)}}}$" for e in exponents]
    return [_compact(value) for value in values]


def _compact(value):
    """``1e-05`` as ``1e-5``, ``0.0316`` as it is: 3 significant digits."""
    text = f"{value:.3g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text
