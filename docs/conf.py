"""Sphinx configuration for the sklinear documentation.

Build (warnings are errors, no network access)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import re
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import sklinear  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

project = "sklinear"
author = "The sklinear developers"
copyright = "the sklinear developers"
version = release = sklinear.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"
nitpicky = False

# -- autodoc / autosummary / numpydoc -----------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
# numpydoc would list every member, including the ones inherited from
# scikit-learn's mixins, whose docstrings cross-reference scikit-learn's own
# docs; our class template lists the members instead (own ones only).
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False


def _public_path(cls):
    """Where a class is documented: ``sklinear.X`` or ``sklinear.features.X``."""
    import sklinear.features

    for module in (sklinear, sklinear.features):
        if getattr(module, cls.__name__, None) is cls:
            return f"{module.__name__}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__name__}"


def _describe_constants(module_names):
    """One-line descriptions of the public constants, for the data template.

    Constants such as ``sklinear.features.BLOCK_NORMS`` are re-exported by an
    ``__init__`` that has no doc comment for them, and autodoc would show the
    docstring of their type (``tuple``) instead: the template uses these.
    """
    import importlib

    descriptions = {}
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if callable(obj) or name.startswith("__"):
                continue
            if isinstance(obj, dict):
                keys = ", ".join(f"``{key!r}``" for key in obj)
                text = f"Registry: each allowed name mapped to its code ({keys})."
            elif isinstance(obj, tuple) and all(isinstance(v, type) for v in obj):
                classes = ", ".join(f":class:`~{_public_path(v)}`" for v in obj)
                text = f"Value: ({classes})."
            else:
                text = f"Value: ``{obj!r}``."
            descriptions[f"{module_name}.{name}"] = text
    return descriptions


_PUBLIC_MODULES = [
    "sklinear",
    "sklinear.features",
    "sklinear.diagnostics",
    "sklinear.datasets",
    "sklinear.onnx",
]
_SKLEARN_API = "https://scikit-learn.org/stable/modules/generated/"
_METADATA_ROUTING = "https://scikit-learn.org/stable/metadata_routing.html"
_ROLE = re.compile(r":[\w:]+:`~?([^`<]*?)(?: <[^`]*>)?`")


def _is_foreign(obj):
    """Whether a class member is defined outside sklinear (scikit-learn's)."""
    target = obj.fget if isinstance(obj, property) else obj
    return not (getattr(target, "__module__", None) or "").startswith("sklinear")


def _inherited_methods(module_names):
    """Public methods each class inherits from scikit-learn, for its API page.

    The class template lists them with the first paragraph of their
    docstring and a link to scikit-learn's documentation, instead of having
    autodoc render their docstrings, whose cross-references point into
    scikit-learn's documentation (no intersphinx here: no network).

    Returns
    -------
    dict
        ``"module.Class"`` -> list of ``(name, summary, url)``, url possibly
        None.
    """
    import importlib
    import inspect

    methods = {}
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            cls = getattr(module, name)
            if not inspect.isclass(cls) or issubclass(cls, BaseException):
                continue
            rows = []
            for attribute in sorted(dir(cls)):
                member = getattr(cls, attribute)
                if attribute.startswith("_") or not callable(member):
                    continue
                defined_in = getattr(member, "__module__", None)
                if not _is_foreign(member) or defined_in in (None, "builtins"):
                    continue
                doc = inspect.getdoc(member) or ""
                summary = " ".join(doc.split("\n\n")[0].split())
                rows.append(
                    (attribute, _ROLE.sub(r"``\1``", summary), _url(cls, attribute))
                )
            methods[f"{module_name}.{name}"] = rows
    return methods


def _url(cls, attribute):
    """scikit-learn's page of the first public class in `cls`'s MRO with the
    method, or its metadata routing guide for ``set_*_request``."""
    for base in cls.__mro__:
        module = base.__module__
        if (
            module.startswith("sklearn.")
            and not base.__name__.startswith("_")
            and attribute in dir(base)
        ):
            page = f"{module}.{base.__name__}"
            return f"{_SKLEARN_API}{page}.html#{page}.{attribute}"
    if attribute.startswith("set_") and attribute.endswith("_request"):
        return _METADATA_ROUTING
    return None


autosummary_context = {
    "data_descriptions": _describe_constants(_PUBLIC_MODULES),
    "inherited_methods": _inherited_methods(_PUBLIC_MODULES),
}

# -- sphinx-gallery ------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("sklinear",),
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
}

# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklinear {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "benchmarks": []}
html_show_sourcelink = False


def _skip_foreign_member(app, what, name, obj, skip, options):
    """Skip class members defined outside sklinear (scikit-learn's mixins).

    Their docstrings cross-reference scikit-learn's documentation, which is
    not available here (no intersphinx, no network); the class template
    lists them with their summary and a link instead (see
    ``_inherited_methods``).
    """
    if what == "class" and _is_foreign(obj):
        return True
    return None


_SHAPE_UNDERSCORE = re.compile(r"(\w)_(?=[,)])")


def _escape_shape_underscores(app, what, name, obj, options, lines):
    """Escape trailing underscores in shapes such as ``(n_features_in_,)``.

    In reStructuredText ``word_`` is a hyperlink reference; numpydoc copies
    the type of a parameter or attribute verbatim, so ``ndarray of shape
    (n_features_in_,)`` would be an unknown target.
    """
    for i, line in enumerate(lines):
        if "of shape (" in line:
            lines[i] = _SHAPE_UNDERSCORE.sub(r"\1\\_", line)


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_member)
    app.connect("autodoc-process-docstring", _escape_shape_underscores, priority=400)
