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

Needs the ``onnx`` extra (``pip install "sklinear[onnx]"``: skl2onnx, and
onnxruntime to run the models).
"""

import numpy as np

try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
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
from .features import HOG, ColorHistogram
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
        )
    return classes


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

    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64).ravel()
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
            cls, f"Sklinear{cls.__name__}", _feature_output_shape, converters[cls]
        )


register_converters()
_register_transformers()
