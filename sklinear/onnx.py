"""Export sklinear's classifiers and image features to ONNX with skl2onnx.

Importing this module registers, with `skl2onnx
<https://onnx.ai/sklearn-onnx/>`_, a converter for each class of
:data:`CLASSIFIERS` and :data:`TRANSFORMERS`, so that ``skl2onnx.to_onnx``
converts them, alone or in a pipeline. The exported graph computes what the
estimator computes.

For the classifiers, the outputs are

- the label: ``predict``, the class of the highest score (the first one on
  ties);
- the probabilities: ``predict_proba``, the softmax of the scores divided by
  ``temperature_`` (1 for :class:`~sklinear.SoftmaxSGD`); with two classes,
  ``sigmoid(decision_function / temperature_)`` for ``classes_[1]``, where
  skl2onnx's own linear converter would compute
  ``sigmoid(2 * decision_function)``.

The usual options of skl2onnx classifiers apply: ``zipmap`` (True, False or
``"columns"``), ``nocl``, ``output_class_labels`` and ``raw_scores`` (the
second output then holds the scores of ``decision_function``; with two
classes the columns ``-s`` and ``s``, as skl2onnx's linear classifiers).

:class:`~sklinear.features.ColorHistogram` and
:class:`~sklinear.features.HOG` convert to standard ONNX operators (opset 16
or later) that repeat the float operations of :mod:`sklinear.features`, so
that onnxruntime's features are equal to ``transform``'s, not merely close:
near a bin edge, a rounding difference would move a whole pixel to another
bin. HOG converts with ``color_mode="max_gradient"`` (scikit-image's HOG) and
``transform_sqrt=False``; the other settings raise an error, since their
float rounding cannot be reproduced, and so does
:class:`~sklinear.features.BagOfVisualWords`, which has no converter: compute
those features before the exported model.

What converts, and the errors of what does not:

- a fitted model (``NotFittedError`` otherwise; a ``*CV`` model fitted with
  ``refit=False`` has no model to export: fit it with ``refit=True``);
- class labels that ONNX holds: strings, booleans, or integers from
  ``-2**63`` to ``2**63 - 1`` (int64; integral floats too). Others, such as
  uint64 labels of ``2**63`` or more, raise a ``ValueError``: encode them
  (``y.astype(str)``, ``LabelEncoder``) and fit again;
- one input, a 2-D tensor of ``n_features_in_`` columns: give
  ``skl2onnx.to_onnx`` a NumPy array (float32 or float64) or
  ``initial_types=[("X", FloatTensorType([None, n_features]))]``. A pandas
  DataFrame would make one input per column, which raises a ``ValueError``:
  pass ``df.to_numpy(dtype=np.float32)``;
- not :class:`sklinear.dask.DaskSGD` (a ``TypeError``): export the plain
  estimator it trained, ``model.estimator_``.

Needs the ``onnx`` extra (``pip install "sklinear[onnx]"``: skl2onnx, and
onnxruntime to run the models).
"""

import sys

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
    from skl2onnx._parse import (
        _parse_sklearn_classifier,
        _parse_sklearn_simple_model,
    )
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sklinear.onnx needs skl2onnx (and onnxruntime to run the exported "
        'models): pip install "sklinear[onnx]", or pip install skl2onnx '
        "onnxruntime."
    ) from error

from . import _onnx_features
from ._namespace import to_numpy
from .features import HOG, BagOfVisualWords, ColorHistogram
from .linear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV

__all__ = ["CLASSIFIERS", "TRANSFORMERS", "register_converters"]

#: The classifiers whose converter importing :mod:`sklinear.onnx` registers.
#: Any classifier with the fitted attributes ``classes_``, ``coef_``,
#: ``intercept_`` (and ``temperature_``, if its probabilities are scaled)
#: converts the same way: add it here, or pass it to
#: :func:`register_converters`.
CLASSIFIERS = (MulticlassSVMSGD, SoftmaxSGD, MulticlassSVMSGDCV, SoftmaxSGDCV)

#: The feature transformers whose converter importing :mod:`sklinear.onnx`
#: registers.
TRANSFORMERS = (ColorHistogram, HOG)

_FEATURES_OPSET = 16

_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
    "raw_scores": [True, False],
}


def register_converters(*classes):
    """Register the ONNX converter of linear classifiers with skl2onnx.

    Importing :mod:`sklinear.onnx` already registers :data:`CLASSIFIERS`;
    call this for other classes with the same fitted attributes (a
    subclass needs its own registration: skl2onnx looks converters up by
    exact type). Registering a class again replaces its converter.

    Parameters
    ----------
    *classes : type
        Classifier classes; none means :data:`CLASSIFIERS`.

    Returns
    -------
    tuple of type
        The classes registered.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skl2onnx import to_onnx
    >>> from sklinear import SoftmaxSGD
    >>> from sklinear.onnx import register_converters
    >>> class MySoftmax(SoftmaxSGD):
    ...     pass
    >>> register_converters(MySoftmax)
    (<class 'sklinear.onnx.MySoftmax'>,)
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    >>> model = MySoftmax(max_iter=20, tol=None, random_state=0)
    >>> model = model.fit(X, ["a", "b", "b", "c"])
    >>> onx = to_onnx(model, X, options={"zipmap": False})
    >>> session = onnxruntime.InferenceSession(onx.SerializeToString())
    >>> labels, proba = session.run(None, {"X": X})
    >>> (labels == model.predict(X)).all()
    np.True_
    >>> np.abs(proba - model.predict_proba(X)).max() < 1e-5
    np.True_
    """
    classes = classes or CLASSIFIERS
    for cls in classes:
        update_registered_converter(
            cls,
            f"Sklinear{cls.__name__}",
            calculate_linear_classifier_output_shapes,
            _convert_linear_classifier,
            options=_CLASSIFIER_OPTIONS,
            parser=_parse_classifier,
        )
    return classes


# ------------------------------------------------------------------ checks
# The parsers run first in skl2onnx's conversion: they check the model and
# its input, so that what cannot be exported fails with a message that says
# what can, instead of an error from skl2onnx's internals.

_INT64 = np.iinfo(np.int64)


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser, after :func:`_check_exportable`."""
    _check_exportable(model, inputs)
    _check_labels(model)
    return _parse_sklearn_classifier(
        scope, model, inputs, custom_parsers=custom_parsers
    )


def _parse_transformer(scope, model, inputs, custom_parsers=None):
    """skl2onnx's parser of a transformer, after :func:`_check_exportable`."""
    _check_exportable(model, inputs)
    return _parse_sklearn_simple_model(
        scope, model, inputs, custom_parsers=custom_parsers
    )


def _check_exportable(model, inputs):
    """A fitted model, and one input tensor (not one per DataFrame column)."""
    name = type(model).__name__
    try:
        check_is_fitted(
            model,
            msg="This %(name)s instance is not fitted yet: call 'fit' before "
            "exporting it to ONNX.",
        )
    except NotFittedError as error:
        if getattr(model, "refit", None) is False and hasattr(model, "cv_results_"):
            raise NotFittedError(
                f"This {name} was fitted with refit=False: it holds the search "
                "results (cv_results_, best_params_) but no model to export to "
                "ONNX. Set refit=True and fit it again, or fit the plain "
                "estimator with best_params_, then export that."
            ) from error
        raise
    if len(inputs) != 1:
        names = [variable.onnx_name for variable in inputs]
        shown = names if len(names) <= 5 else [*names[:5], "..."]
        n_features = getattr(model, "n_features_in_", "n_features")
        raise ValueError(
            f"{name} converts from one input, a 2-D tensor of {n_features} "
            f"columns; it got {len(inputs)} inputs {shown}. A pandas DataFrame "
            "gives one input per column: pass a NumPy array instead, "
            "to_onnx(model, X.to_numpy(dtype=numpy.float32)), or "
            f'initial_types=[("X", FloatTensorType([None, {n_features}]))] '
            "(DoubleTensorType to compute in float64)."
        )


def _check_labels(model):
    """Class labels that the graph can hold: strings, booleans or int64 values."""
    classes = np.asarray(model.classes_)
    kind = classes.dtype.kind
    if kind in "OUSbi":
        return
    if kind == "u":
        fits = classes.max() <= _INT64.max
    elif kind == "f":
        fits = bool(
            np.isfinite(classes).all()
            and (classes == np.round(classes)).all()
            and (classes >= _INT64.min).all()
            and (classes < 2.0**63).all()
        )
    else:
        fits = False
    if not fits:
        raise ValueError(
            f"{type(model).__name__} has class labels of dtype {classes.dtype} "
            f"(up to {classes.max()}) that ONNX cannot hold: the exported "
            "graph stores numeric labels as int64. Supported labels are "
            "strings, booleans and integers from -2**63 to 2**63 - 1. Encode "
            "the labels (y.astype(str), or sklearn's LabelEncoder) and fit "
            "again."
        )


def _refusing_parser(message):
    """A parser that raises ``TypeError(message)``: a class with no converter."""

    def refuse(scope, model, inputs, custom_parsers=None):
        raise TypeError(message)

    return refuse


def _refuse(cls, message):
    """Make skl2onnx raise ``TypeError(message)`` for ``cls``."""

    # The parser raises first: these never run.
    def shape(operator):  # pragma: no cover
        raise TypeError(message)

    def convert(scope, operator, container):  # pragma: no cover
        raise TypeError(message)

    update_registered_converter(
        cls, f"Sklinear{cls.__name__}", shape, convert, parser=_refusing_parser(message)
    )


def _register_refusals():
    _refuse(
        BagOfVisualWords,
        "BagOfVisualWords does not convert to ONNX (no converter: its patch "
        "encoding is not written in ONNX operators). Compute its features "
        "with transform before the exported model, and export the "
        "classifier alone, trained on those features: to_onnx(classifier, "
        "features[:1]); for a pipeline, export the steps after it "
        "(pipeline[i + 1:]).",
    )
    if "sklinear.dask" in sys.modules:
        register_dask_refusal()


def register_dask_refusal():
    """Refuse DaskSGD; called here or by sklinear.dask, whichever is imported last.

    (Importing sklinear.dask here would import dask for every export.)
    """
    from .dask import DaskSGD

    _refuse(
        DaskSGD,
        "DaskSGD does not convert to ONNX itself: export the plain estimator "
        "it trained, to_onnx(model.estimator_, X_sample) with a NumPy sample "
        "(X_sample = X[:1].compute() for a dask array); it predicts as the "
        "DaskSGD does. Fit the DaskSGD first if it is not fitted.",
    )


class _Graph:
    """Adds uniquely named constants and nodes to a skl2onnx container."""

    def __init__(self, scope, container):
        self.scope = scope
        self.container = container

    def const(self, value, dtype, name="const"):
        array = np.asarray(value)
        name = self.scope.get_unique_variable_name(name)
        if dtype is str:
            content = [str(v).encode("utf-8") for v in array.ravel()]
            tensor_type = TensorProto.STRING
        else:
            content = array.astype(dtype).ravel()
            tensor_type = _TENSOR_TYPES[np.dtype(dtype)]
        self.container.add_initializer(name, tensor_type, list(array.shape), content)
        return name

    def op(self, op_type, *inputs, output=None, outputs=1, **attributes):
        """Add a node; return its output name, or a list of `outputs` names."""
        names = [output] if output else []
        names += [
            self.scope.get_unique_variable_name(op_type.lower())
            for _ in range(outputs - len(names))
        ]
        self.container.add_node(
            op_type,
            list(inputs),
            names,
            name=self.scope.get_unique_operator_name(op_type),
            **attributes,
        )
        return names[0] if outputs == 1 else names


_TENSOR_TYPES = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int64): TensorProto.INT64,
}


def _float_input(graph, variable):
    """The input as a float tensor, and its numpy dtype (float64 for double)."""
    if isinstance(variable.type, DoubleTensorType):
        return variable.full_name, np.float64
    if isinstance(variable.type, FloatTensorType):
        return variable.full_name, np.float32
    return graph.op("Cast", variable.full_name, to=TensorProto.FLOAT), np.float32


def _label_constant(graph, classes):
    """The class labels as a string or int64 constant, as skl2onnx types them.

    Float labels are integers (scikit-learn classifiers refuse others).
    """
    classes = np.asarray(classes)
    if classes.dtype.kind in "OUS":
        return graph.const(classes, str, "classes")
    return graph.const(classes, np.int64, "classes")


def _convert_linear_classifier(scope, operator, container):
    """Scores ``X @ coef_.T + intercept_``, their argmax and their softmax."""
    model = operator.raw_operator
    graph = _Graph(scope, container)
    options = container.get_options(model, {"raw_scores": False})
    X, dtype = _float_input(graph, operator.inputs[0])

    # A model trained on a device is exported from a NumPy copy.
    coef = np.asarray(to_numpy(model.coef_), dtype=np.float64)
    intercept = np.asarray(to_numpy(model.intercept_), dtype=np.float64).ravel()
    temperature = float(getattr(model, "temperature_", 1.0))
    if coef.shape[0] == 1:
        # Two classes: the scores -s and s, whose softmax at temperature 2T
        # is (1 - sigmoid(s / T), sigmoid(s / T)), the model's probabilities.
        coef = np.vstack([-coef, coef])
        intercept = np.concatenate([-intercept, intercept])
        temperature *= 2.0
    scores = graph.op(
        "Add",
        graph.op("MatMul", X, graph.const(coef.T, dtype, "coef")),
        graph.const(intercept, dtype, "intercept"),
        output=operator.outputs[1].full_name if options["raw_scores"] else None,
    )
    best = graph.op("ArgMax", scores, axis=1, keepdims=0)
    graph.op(
        "Gather",
        _label_constant(graph, get_label_classes(scope, model)),
        best,
        axis=0,
        output=operator.outputs[0].full_name,
    )
    if not options["raw_scores"]:
        graph.op(
            "Softmax",
            graph.op("Div", scores, graph.const(temperature, dtype, "temperature")),
            axis=1,
            output=operator.outputs[1].full_name,
        )


def _feature_output_shape(operator):
    model = operator.raw_operator
    n_rows = operator.inputs[0].get_first_dimension()
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    tensor_type = DoubleTensorType if double else FloatTensorType
    operator.outputs[0].type = tensor_type([n_rows, model.n_features_out_])


def _feature_converter(build, *, keep_float32=False):
    """A converter computing ``build(graph, x, model)`` on the input cast to
    float64 (or kept in float32, if so), cast to float32 at the end unless
    the input is float64."""

    def convert(scope, operator, container):
        if container.target_opset < _FEATURES_OPSET:
            raise ValueError(
                f"{type(operator.raw_operator).__name__} converts with ONNX opset "
                f"{_FEATURES_OPSET} or later (ScatterElements with reduction), not "
                f"target_opset={container.target_opset}."
            )
        graph = _Graph(scope, container)
        input_type = operator.inputs[0].type
        float32 = keep_float32 and isinstance(input_type, FloatTensorType)
        x = graph.op(
            "Cast",
            operator.inputs[0].full_name,
            to=TensorProto.FLOAT if float32 else TensorProto.DOUBLE,
        )
        features = build(graph, x, operator.raw_operator)
        double = isinstance(input_type, DoubleTensorType)
        graph.op(
            "Cast",
            features,
            to=TensorProto.DOUBLE if double else TensorProto.FLOAT,
            output=operator.outputs[0].full_name,
        )

    return convert


def _register_transformers():
    converters = {
        ColorHistogram: _feature_converter(_onnx_features.color_histogram),
        HOG: _feature_converter(_onnx_features.hog, keep_float32=True),
    }
    for cls in TRANSFORMERS:
        update_registered_converter(
            cls,
            f"Sklinear{cls.__name__}",
            _feature_output_shape,
            converters[cls],
            parser=_parse_transformer,
        )


register_converters()
_register_transformers()
_register_refusals()
