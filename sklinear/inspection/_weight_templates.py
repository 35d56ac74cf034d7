"""The weights of a linear classifier on pixels, as one image per class."""

import math
import warnings

import numpy as np
from scipy import sparse
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

from .._namespace import to_numpy
from ..features import infer_image_shape
from ..features._image_input import ImageTransformerMixin
from ._utils import (
    check_matplotlib_support,
    find_fitted_attribute,
    fitted_inner_estimator,
    style_kwargs,
)

_RESCALINGS = ("template", "shared", "symmetric")

# Pipeline steps that keep each pixel in its place (they may shift and scale
# it): weights after them are still one weight per pixel.
_PIXELWISE_STEPS = (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)


class WeightTemplatesDisplay:
    """The weights of each class reshaped to an image: the class templates.

    A linear classifier scores an image by the dot product of its pixels
    with one weight vector per class, a template the image is matched
    against (CS231n, linear classification). Trained on raw pixels, the
    templates show what each class looks like to the model.

    Each template is drawn with values rescaled to [0, 1] (see ``rescale``
    in :meth:`plot`). Color templates, of shape ``(height, width, 3)``, are
    drawn as RGB images; grayscale ones with a colormap.

    It is recommended to create one with :meth:`from_estimator`. All
    parameters are stored as attributes.

    Parameters
    ----------
    templates : array-like of shape (n_templates, height, width) or \
            (n_templates, height, width, channels)
        Weights of each template, channels last, 1 or 3 channels.
    display_labels : array-like of shape (n_templates,), default=None
        Title of each template. None: ``0`` to ``n_templates - 1``.

    Attributes
    ----------
    images_ : ndarray of matplotlib AxesImage, shape (n_templates,)
        The images drawn.
    axes_ : ndarray of matplotlib Axes
        One axes per template: shape ``(n_rows, n_cols)`` when the display
        divided a bounding axes (None in the cells after the last
        template), the shape of ``ax`` when axes were given.
    bounding_ax_ : matplotlib Axes or None
        The axes divided into the grid of templates (hidden); None when
        ``plot`` was given one axes per template.
    figure_ : matplotlib Figure
        Figure holding the axes.

    See Also
    --------
    LossCurveDisplay : Training objective and validation score per epoch.
    TuningHeatmapDisplay : Validation score over a hyperparameter grid.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklinear import MulticlassSVMSGD
    >>> from sklinear.inspection import WeightTemplatesDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MulticlassSVMSGD(max_iter=5, tol=None, random_state=0).fit(X / 16, y)
    >>> display = WeightTemplatesDisplay.from_estimator(clf, image_shape=(8, 8))
    >>> display.images_.shape
    (10,)
    >>> display.images_[3].get_array().shape
    (8, 8)
    >>> display.images_[3].axes.get_title()
    '3'
    """

    def __init__(self, templates, *, display_labels=None):
        self.templates = templates
        self.display_labels = display_labels

    def plot(
        self, ax=None, *, rescale="template", cmap=None, n_cols=None, imshow_kw=None
    ):
        """Draw one image per template.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            None: a new figure. One axes: divided into a grid of
            ``n_cols`` columns, one cell per template. An array-like of
            axes: one per template, in order.
        rescale : {"template", "shared", "symmetric"}, default="template"
            How weights map to [0, 1]. ``"template"``: each template from
            its own minimum to its own maximum (CS231n), which shows every
            template's pattern at full contrast. ``"shared"``: one minimum
            and maximum for all, which keeps their magnitudes comparable.
            ``"symmetric"``: ``w / (2 * max|w|) + 0.5`` over all, so that a
            zero weight is 0.5, for a diverging colormap. A constant
            template is drawn as 0.5.
        cmap : str or matplotlib Colormap, default=None
            Colormap of grayscale templates (ignored for RGB ones). None:
            ``"RdBu_r"`` with ``rescale="symmetric"``, else ``"gray"``.
        n_cols : int, default=None
            Columns of the grid when the display divides one axes. None:
            all templates on one row, up to 10 per row.
        imshow_kw : dict, default=None
            Keyword arguments of ``Axes.imshow``.

        Returns
        -------
        display : WeightTemplatesDisplay
            This display, with the attributes of the drawing set.

        Examples
        --------
        >>> import numpy as np
        >>> from sklinear.inspection import WeightTemplatesDisplay
        >>> templates = np.array([[[0.0, 1.0], [2.0, 4.0]],
        ...                       [[-1.0, 0.0], [0.0, 1.0]]])
        >>> display = WeightTemplatesDisplay(templates, display_labels=["a", "b"])
        >>> display = display.plot(rescale="template")
        >>> display.images_[0].get_array().tolist()
        [[0.0, 0.25], [0.5, 1.0]]
        >>> display = display.plot(rescale="symmetric")
        >>> display.images_[1].get_array().tolist()
        [[0.375, 0.5], [0.5, 0.625]]
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.image import AxesImage

        templates = _as_templates(self.templates)
        n_templates = templates.shape[0]
        labels = _display_labels(self.display_labels, n_templates)
        if rescale not in _RESCALINGS:
            raise ValueError(f"rescale must be one of {_RESCALINGS}; got {rescale!r}.")
        images = _rescale(templates, rescale)
        if cmap is None:
            cmap = "RdBu_r" if rescale == "symmetric" else "gray"
        if n_cols is None:
            n_cols = min(n_templates, 10)
        elif not isinstance(n_cols, int | np.integer) or n_cols < 1:
            raise ValueError(f"n_cols must be a positive integer; got {n_cols!r}.")
        n_cols = min(n_cols, n_templates)
        n_rows = math.ceil(n_templates / n_cols)

        if ax is None:
            _, ax = plt.subplots(figsize=(1.2 * n_cols + 0.4, 1.4 * n_rows + 0.3))
        if isinstance(ax, plt.Axes):
            self.axes_ = _divide(ax, n_rows, n_cols, n_templates)
            self.bounding_ax_ = ax
            cells = self.axes_.ravel()[:n_templates]
        else:
            self.axes_ = np.asarray(ax, dtype=object)
            if self.axes_.size != n_templates:
                raise ValueError(
                    f"ax must hold one axes per template: expected "
                    f"{n_templates}, got {self.axes_.size}."
                )
            self.bounding_ax_ = None
            cells = self.axes_.ravel()

        defaults = {"cmap": cmap, "vmin": 0.0, "vmax": 1.0}
        kwargs = style_kwargs(defaults, imshow_kw, AxesImage)
        self.images_ = np.empty(n_templates, dtype=object)
        for k, (cell, image, label) in enumerate(
            zip(cells, images, labels, strict=True)
        ):
            self.images_[k] = cell.imshow(image, **kwargs)
            cell.set_xticks([])
            cell.set_yticks([])
            cell.set_title(str(label), fontsize="small")
        self.figure_ = cells[0].figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        image_shape=None,
        display_labels=None,
        ax=None,
        rescale="template",
        cmap=None,
        n_cols=None,
        imshow_kw=None,
    ):
        """Plot the templates of a linear classifier fitted on pixels.

        The rows of ``coef_`` (one per class) are reshaped to
        ``image_shape``. With two classes ``coef_`` has a single row, the
        weights of ``classes_[1]`` minus those of ``classes_[0]``: one
        template is drawn, titled ``"<classes_[1]> vs <classes_[0]>"``
        (bright where a pixel's value favors ``classes_[1]``).

        The weights must be in pixel space: a pipeline's steps before the
        classifier may scale each pixel (``StandardScaler``, ...), but
        features such as :class:`~sklinear.features.HOG` have no image
        layout and raise an error, whatever ``image_shape`` (even when
        their number is a square, such as 324 HOG features); so do other
        steps that change the number of values (``PCA(n_components=49)``
        on 64 pixels, ...). Steps that keep the number of values
        (``PCA()``, ...) warn: their output may not be pixels.

        Parameters
        ----------
        estimator : estimator
            A fitted linear classifier with ``coef_`` of shape
            ``(n_classes, n_features)`` or ``(1, n_features)``, a pipeline
            whose last step is one, a fitted search over them, or a fitted
            wrapper whose ``estimator_`` is one (such as
            :class:`sklinear.dask.DaskSGD`).
        image_shape : tuple of int, default=None
            ``(height, width)`` or ``(height, width, channels)``, channels
            last (the layout of ``images.reshape(n_images, -1)``). None:
            inferred for square images (see
            :func:`~sklinear.features.infer_image_shape`).
        display_labels : array-like, default=None
            Title of each template, one per row of ``coef_`` (or one per
            class with two classes). None: ``classes_``.
        ax : matplotlib Axes or array-like of Axes, default=None
            See :meth:`plot`.
        rescale : {"template", "shared", "symmetric"}, default="template"
            See :meth:`plot`.
        cmap : str or matplotlib Colormap, default=None
            See :meth:`plot`.
        n_cols : int, default=None
            See :meth:`plot`.
        imshow_kw : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : WeightTemplatesDisplay
            The display, drawn.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If it has no ``coef_``, ``coef_`` does not hold
            ``prod(image_shape)`` weights per class, or the pipeline steps
            before the classifier make features that are not pixels (HOG,
            a change in the number of values): pass as ``estimator`` a
            classifier fitted on pixels.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from sklinear import SoftmaxSGD
        >>> from sklinear.inspection import WeightTemplatesDisplay
        >>> X, y = load_digits(n_class=2, return_X_y=True)
        >>> pipe = make_pipeline(StandardScaler(),
        ...                      SoftmaxSGD(max_iter=5, tol=None,
        ...                                 random_state=0)).fit(X, y)
        >>> display = WeightTemplatesDisplay.from_estimator(pipe)
        >>> display.images_[0].axes.get_title()
        '1 vs 0'
        """
        fitted = find_fitted_attribute(
            estimator, "coef_", f"{cls.__name__}.from_estimator"
        )
        coef = fitted.coef_
        coef = coef.toarray() if sparse.issparse(coef) else np.asarray(to_numpy(coef))
        if coef.ndim == 1:
            coef = coef[None, :]
        if coef.ndim != 2:
            raise ValueError(
                f"coef_ of {type(fitted).__name__} has shape {coef.shape}; "
                "expected (n_classes, n_features)."
            )
        steps = _preceding_steps(estimator, fitted)
        n_inputs = _n_inputs(estimator, steps)
        n_features = coef.shape[1]
        if image_shape is None:  # features first: no shape to infer from them
            _refuse_features(steps, n_features, n_inputs, fitted)
            image_shape = _check_image_shape(None, n_features, fitted, steps)
        else:  # a shape that does not match says so first
            image_shape = _check_image_shape(image_shape, n_features, fitted, steps)
            _refuse_features(steps, n_features, n_inputs, fitted)
        _warn_if_not_pixels(steps)
        classes = getattr(fitted, "classes_", None)
        labels = _template_labels(display_labels, classes, coef.shape[0])
        display = cls(coef.reshape(coef.shape[0], *image_shape), display_labels=labels)
        return display.plot(
            ax=ax, rescale=rescale, cmap=cmap, n_cols=n_cols, imshow_kw=imshow_kw
        )


def _as_templates(templates):
    templates = np.asarray(templates, dtype=float)
    if templates.ndim == 4 and templates.shape[-1] == 1:
        templates = templates[..., 0]
    if not (templates.ndim == 3 or (templates.ndim == 4 and templates.shape[-1] == 3)):
        raise ValueError(
            "templates must have shape (n_templates, height, width) or "
            "(n_templates, height, width, channels) with 1 or 3 channels, "
            f"channels last; got shape {templates.shape}."
        )
    if templates.shape[0] == 0:
        raise ValueError("templates is empty: there is nothing to draw.")
    return templates


def _display_labels(display_labels, n_templates):
    if display_labels is None:
        return [str(k) for k in range(n_templates)]
    labels = list(display_labels)
    if len(labels) != n_templates:
        raise ValueError(
            f"display_labels has {len(labels)} labels for {n_templates} "
            "templates; give one per template."
        )
    return labels


def _rescale(templates, rescale):
    """Templates mapped to [0, 1], as described in ``plot``."""
    axes = tuple(range(1, templates.ndim))
    if rescale == "template":
        low = templates.min(axis=axes, keepdims=True)
        span = templates.max(axis=axes, keepdims=True) - low
    elif rescale == "shared":
        low = templates.min()
        span = templates.max() - low
    else:
        span = 2 * np.abs(templates).max()
        low = -span / 2
    span = np.asarray(span, dtype=float)
    constant = span == 0
    images = (templates - low) / np.where(constant, 1.0, span)
    return np.where(constant, 0.5, images)


def _divide(ax, n_rows, n_cols, n_templates):
    """Axes for a grid of templates in the place of ``ax``, which is hidden."""
    from matplotlib.gridspec import GridSpecFromSubplotSpec

    if not ax.axison:
        raise ValueError(
            "ax is already hidden, probably divided by an earlier plot; pass "
            "display.axes_ (one axes per template) to draw on the same grid."
        )
    spec = ax.get_subplotspec()
    if spec is None:
        raise ValueError(
            "ax must be a subplot (made by plt.subplots or fig.add_subplot) to "
            "be divided into one axes per template; or pass one axes per "
            "template."
        )
    ax.set_axis_off()
    grid = GridSpecFromSubplotSpec(n_rows, n_cols, subplot_spec=spec)
    axes = np.empty((n_rows, n_cols), dtype=object)
    for k in range(n_templates):
        axes.flat[k] = ax.figure.add_subplot(grid[k])
    return axes


def _preceding_steps(estimator, fitted):
    """The steps of pipelines applied before ``fitted``, outermost first."""
    steps = []
    current = estimator
    while current is not fitted:
        if isinstance(current, Pipeline):
            steps.extend(current.steps[:-1])
            current = current[-1]
        elif getattr(current, "best_estimator_", None) is not None:
            current = current.best_estimator_
        else:
            current = fitted_inner_estimator(current)
    return [(name, step) for name, step in steps if step not in (None, "passthrough")]


def _n_inputs(estimator, steps):
    """Values per sample entering the pipeline steps; None if unknown."""
    if not steps:
        return None
    try:
        return getattr(estimator, "n_features_in_", None)
    except AttributeError:  # a pipeline whose first step does not record it
        return None


def _refuse_features(steps, n_features, n_inputs, fitted):
    """Raise if the steps before the classifier make features, not pixels.

    sklinear's image features (HOG, ...) never output pixels; other steps
    that are not per-pixel scalers do not when they change the number of
    values. Their weights have no image layout, even when their number is
    a square that ``image_shape`` could be inferred from.
    """
    features = [n for n, step in steps if isinstance(step, ImageTransformerMixin)]
    moved = [n for n, step in steps if not isinstance(step, _PIXELWISE_STEPS)]
    changed = n_inputs is not None and n_inputs != n_features
    if not features and not (moved and changed):
        return
    names = ", ".join(features or moved)
    made = f"from {n_inputs} input values " if n_inputs is not None else ""
    raise ValueError(
        f"coef_ of {type(fitted).__name__} has {n_features} weights per class, "
        f"one per feature made by the pipeline steps before it ({names}) "
        f"{made}and not one per pixel: they have no image layout, whatever "
        "image_shape. Templates need a classifier trained on pixels: pass as "
        "estimator a classifier fitted on the pixels, or a pipeline whose "
        "steps before it only scale each pixel (StandardScaler, MinMaxScaler, "
        "...)."
    )


def _check_image_shape(image_shape, n_features, fitted, steps):
    if steps:
        names = ", ".join(name for name, _ in steps)
        context = (
            f" They are the weights of the output of the pipeline steps before "
            f"it ({names}), which must keep one value per pixel: templates "
            "need a classifier trained on pixels (scaled or not), not on "
            "features such as HOG."
        )
    else:
        context = ""
    source = f"coef_ of {type(fitted).__name__} has {n_features} weights per class."
    if image_shape is None:
        try:
            return infer_image_shape(n_features)
        except ValueError as exc:
            raise ValueError(
                f"{source}{context} Cannot infer image_shape: {n_features} is "
                "neither s*s nor 3*s*s; pass image_shape=(height, width) or "
                "(height, width, channels)."
            ) from exc
    shape = tuple(image_shape)
    if not (
        len(shape) in (2, 3)
        and all(isinstance(size, int | np.integer) and size > 0 for size in shape)
        and (len(shape) == 2 or shape[2] in (1, 3))
    ):
        raise ValueError(
            "image_shape must be (height, width) or (height, width, channels) "
            f"with positive integers and 1 or 3 channels, channels last; got "
            f"{image_shape!r}."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={shape} holds {math.prod(shape)} values, but "
            f"{source}{context}"
        )
    return shape


def _warn_if_not_pixels(steps):
    moved = [name for name, step in steps if not isinstance(step, _PIXELWISE_STEPS)]
    if moved:
        warnings.warn(
            f"The pipeline steps {moved} before the classifier may not keep "
            "each pixel in place (only per-pixel scalers such as "
            "StandardScaler do): the weights match image_shape in size, but "
            "the templates are images only if those steps output pixels.",
            UserWarning,
            stacklevel=3,
        )


def _template_labels(display_labels, classes, n_templates):
    """Titles: one per row of coef_; ``"c1 vs c0"`` for a binary coef_."""
    if display_labels is None:
        display_labels = classes
    if display_labels is None:
        return None
    labels = list(display_labels)
    if n_templates == 1 and len(labels) == 2:
        return [f"{labels[1]} vs {labels[0]}"]
    if len(labels) != n_templates:
        raise ValueError(
            f"display_labels has {len(labels)} labels but coef_ has "
            f"{n_templates} rows; give one per row of coef_ (or one per class "
            "with two classes)."
        )
    return labels
