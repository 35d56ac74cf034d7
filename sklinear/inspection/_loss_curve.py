"""Training objective and validation score per epoch."""

import numpy as np

from ._utils import check_matplotlib_support, find_fitted_attribute, style_kwargs

# Label of the twin axes holding the validation scores, so that a second
# ``plot`` on the same axes draws on the same twin instead of stacking twins.
_VALIDATION_AXES_LABEL = "sklinear validation scores"


class LossCurveDisplay:
    """Loss curve: the training objective per epoch, with validation scores.

    The objective (data loss plus penalty, averaged over each epoch's
    minibatches) is drawn against the epoch on the left axis; the validation
    accuracy of each epoch, recorded with early stopping, on a twin axis to
    the right, with a marker at the best epoch (the one whose weights early
    stopping keeps: the last of the best on ties).

    It is recommended to create one with :meth:`from_estimator`. All
    parameters are stored as attributes.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Objective of each epoch.
    validation_scores : array-like of shape (n_epochs,), default=None
        Validation score of each epoch, if any.
    estimator_name : str, default=None
        Name used in the legend. None: no name.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The objective curve.
    validation_line_ : matplotlib Line2D or None
        The validation curve; None without validation scores.
    best_marker_ : matplotlib Line2D or None
        The marker at the best validation score; None without validation
        scores or with ``mark_best=False``.
    ax_ : matplotlib Axes
        Axes of the objective.
    validation_ax_ : matplotlib Axes or None
        Twin axes of the validation scores; None without them.
    figure_ : matplotlib Figure
        Figure holding the axes.

    See Also
    --------
    WeightTemplatesDisplay : The weights of each class as images.
    TuningHeatmapDisplay : Validation score over a hyperparameter grid.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklinear import SoftmaxSGD
    >>> from sklinear.inspection import LossCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SoftmaxSGD(early_stopping=True, max_iter=5, tol=None,
    ...                  random_state=0).fit(X / 16, y)
    >>> display = LossCurveDisplay.from_estimator(clf)
    >>> display.line_.get_ydata().tolist() == clf.loss_curve_
    True
    >>> display.validation_ax_.get_ylabel()
    'Validation accuracy'

    From recorded values, without an estimator:

    >>> display = LossCurveDisplay(loss_curve=[2.3, 1.1, 0.8]).plot()
    >>> display.line_.get_xdata().tolist()
    [1, 2, 3]
    """

    def __init__(self, *, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    def plot(
        self,
        ax=None,
        *,
        name=None,
        mark_best=True,
        line_kw=None,
        validation_line_kw=None,
    ):
        """Draw the curves.

        Calling ``plot`` again with the same ``ax`` (and a different
        ``name``) adds curves to it, on the same twin axes for the
        validation scores: that is how to compare estimators. A legend is
        drawn when the axes hold more than one named curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None: a new figure and axes.
        name : str, default=None
            Name used in the legend; defaults to ``estimator_name``.
        mark_best : bool, default=True
            Mark the epoch with the best validation score.
        line_kw : dict, default=None
            Keyword arguments of ``Axes.plot`` for the objective curve.
        validation_line_kw : dict, default=None
            Keyword arguments of ``Axes.plot`` for the validation curve
            (default: the color of the objective curve, dashed).

        Returns
        -------
        display : LossCurveDisplay
            This display, with the attributes of the drawing set.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklinear.inspection import LossCurveDisplay
        >>> fig, ax = plt.subplots()
        >>> display = LossCurveDisplay(loss_curve=[2.3, 1.1, 0.8],
        ...                            validation_scores=[0.7, 0.9, 0.85])
        >>> display = display.plot(ax=ax, name="softmax")
        >>> display.ax_ is ax
        True
        >>> display.best_marker_.get_xdata().tolist()
        [2]
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.ticker import MaxNLocator

        loss = _as_curve(self.loss_curve, "loss_curve")
        scores = None
        if self.validation_scores is not None:
            scores = _as_curve(self.validation_scores, "validation_scores")
        name = self.estimator_name if name is None else name

        if ax is None:
            _, ax = plt.subplots()
        prefix = "" if name is None else f"{name}: "
        self.line_ = ax.plot(
            np.arange(1, loss.size + 1),
            loss,
            **style_kwargs({"label": f"{prefix}objective"}, line_kw, Line2D),
        )[0]
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Training objective")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))

        self.validation_ax_ = None
        self.validation_line_ = None
        self.best_marker_ = None
        if scores is not None:
            self.validation_ax_ = _validation_axes(ax)
            epochs = np.arange(1, scores.size + 1)
            defaults = {
                "color": self.line_.get_color(),
                "linestyle": "--",
                "label": f"{prefix}validation accuracy",
            }
            self.validation_line_ = self.validation_ax_.plot(
                epochs,
                scores,
                **style_kwargs(defaults, validation_line_kw, Line2D),
            )[0]
            self.validation_ax_.set_ylabel("Validation accuracy")
            if mark_best:
                # The last of the best epochs: early stopping keeps that one.
                best = scores.size - 1 - int(np.argmax(scores[::-1]))
                self.best_marker_ = self.validation_ax_.plot(
                    [epochs[best]],
                    [scores[best]],
                    marker="o",
                    linestyle="none",
                    color=self.validation_line_.get_color(),
                    label="_best epoch",
                )[0]

        _update_legend(ax)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        ax=None,
        name=None,
        mark_best=True,
        line_kw=None,
        validation_line_kw=None,
    ):
        """Plot the loss curve of a fitted estimator.

        Reads ``loss_curve_`` and, if present and not None,
        ``validation_scores_`` (recorded by :class:`~sklinear.SoftmaxSGD`
        and :class:`~sklinear.MulticlassSVMSGD` with ``early_stopping=True``;
        scikit-learn's ``MLPClassifier`` has the same attributes).

        Parameters
        ----------
        estimator : estimator
            A fitted estimator with ``loss_curve_``, a pipeline whose last
            step is one, a fitted search whose ``best_estimator_`` is one,
            or a fitted wrapper whose ``estimator_`` is one (such as
            :class:`sklinear.dask.DaskSGD`).
        ax : matplotlib Axes, default=None
            Axes to draw on. None: a new figure and axes.
        name : str, default=None
            Name used in the legend. None: the class name of the estimator
            holding the curve.
        mark_best : bool, default=True
            Mark the epoch with the best validation score.
        line_kw : dict, default=None
            Keyword arguments of ``Axes.plot`` for the objective curve.
        validation_line_kw : dict, default=None
            Keyword arguments of ``Axes.plot`` for the validation curve.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If it has no ``loss_curve_``.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from sklinear import MulticlassSVMSGD
        >>> from sklinear.inspection import LossCurveDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> pipe = make_pipeline(StandardScaler(),
        ...                      MulticlassSVMSGD(max_iter=5, tol=None,
        ...                                       random_state=0)).fit(X, y)
        >>> display = LossCurveDisplay.from_estimator(pipe)
        >>> len(display.line_.get_ydata())
        5
        >>> display.validation_line_ is None
        True
        """
        fitted = find_fitted_attribute(
            estimator, "loss_curve_", f"{cls.__name__}.from_estimator"
        )
        display = cls(
            loss_curve=fitted.loss_curve_,
            validation_scores=getattr(fitted, "validation_scores_", None),
            estimator_name=type(fitted).__name__ if name is None else name,
        )
        return display.plot(
            ax=ax,
            mark_best=mark_best,
            line_kw=line_kw,
            validation_line_kw=validation_line_kw,
        )


def _as_curve(values, parameter):
    curve = np.asarray(values, dtype=float)
    if curve.ndim != 1 or curve.size == 0:
        raise ValueError(
            f"{parameter} must be a non-empty 1-d sequence of one value per "
            f"epoch; got an array of shape {curve.shape}."
        )
    return curve


def _validation_axes(ax):
    """The twin axes of the validation scores: the existing one, or a new one."""
    for other in ax.figure.axes:
        if (
            other is not ax
            and other.get_label() == _VALIDATION_AXES_LABEL
            and other.get_shared_x_axes().joined(other, ax)
        ):
            return other
    twin = ax.twinx()
    twin.set_label(_VALIDATION_AXES_LABEL)
    return twin


def _update_legend(ax):
    """One legend for the curves of ``ax`` and its validation twin, if several."""
    axes = [ax]
    for other in ax.figure.axes:
        if other.get_label() == _VALIDATION_AXES_LABEL and (
            other.get_shared_x_axes().joined(other, ax)
        ):
            axes.append(other)
    handles = [
        line
        for each in axes
        for line in each.get_lines()
        if not line.get_label().startswith("_")
    ]
    if len(handles) < 2:
        return
    for each in axes:
        if each.get_legend() is not None:
            each.get_legend().remove()
    # On the topmost axes, so that the other's curves don't hide it.
    axes[-1].legend(handles=handles, labels=[line.get_label() for line in handles])
