"""Plots of fitted models: loss curves, weight templates, tuning heatmaps.

Displays in scikit-learn's visualization API: build one from a fitted
estimator (``from_estimator``) or from search results
(``from_cv_results``), or from the data directly; ``plot(ax=None)`` draws it
and stores the matplotlib objects in attributes ending in ``_`` (``ax_``,
or ``axes_`` for the grid of :class:`WeightTemplatesDisplay`, ``figure_``,
``line_``, ...). matplotlib is imported only when something is drawn, so
this module imports without it.
"""

from ._loss_curve import LossCurveDisplay
from ._tuning_heatmap import TuningHeatmapDisplay
from ._weight_templates import WeightTemplatesDisplay

__all__ = ["LossCurveDisplay", "TuningHeatmapDisplay", "WeightTemplatesDisplay"]
