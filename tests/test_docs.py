"""Checks of the documentation that run with the test suite (no Sphinx).

* every public name has an entry in an ``autosummary`` of ``docs/api.rst``
  (the API reference coverage check);
* the ``>>>`` examples of every page of ``docs/`` run and print what the page
  says (the user guide is executable);
* every gallery script is a sphinx-gallery example with a title.

The Sphinx build itself (``python -m sphinx -W --keep-going -b html docs
docs/_build/html``) runs in ``.ci/run``, not here.
"""

import ast
import doctest
import importlib
import re
from pathlib import Path

import pytest

import sklinear

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
API_RST = DOCS / "api.rst"
PUBLIC_MODULES = [
    "sklinear",
    "sklinear.features",
    "sklinear.diagnostics",
    "sklinear.inspection",
    "sklinear.losses",
    "sklinear.datasets",
    "sklinear.onnx",
    "sklinear.dask",
]
# Generated or build output, never hand-written pages.
SKIPPED_DIRS = {"_build", "generated", "auto_examples", "_templates"}


def public_names(module_name):
    """``module.__all__``, or else the public names the module defines."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_")
            and getattr(obj, "__module__", None) == module_name
        ]
    # __version__ and other dunders are metadata, not API to document.
    return sorted(name for name in names if not name.startswith("__"))


def autosummary_entries(rst_text):
    """Fully qualified names listed in the autosummary directives of a page."""
    entries = set()
    module = None
    in_autosummary = False
    for line in rst_text.splitlines():
        stripped = line.strip()
        current = re.match(r"\.\.\s+(?:current)?module::\s+(\S+)", stripped)
        if current:
            module = current.group(1)
            in_autosummary = False
            continue
        if re.match(r"\.\.\s+autosummary::", stripped):
            in_autosummary = True
            continue
        if not in_autosummary:
            continue
        if stripped and not line[0].isspace():
            in_autosummary = False  # dedent: the directive ended
            continue
        if not stripped or stripped.startswith(":") or stripped.startswith(".."):
            continue
        name = stripped.lstrip("~")
        entries.add(name if module is None or "." in name else f"{module}.{name}")
    return entries


def test_autosummary_parser():
    text = (
        ".. currentmodule:: pkg\n\n.. autosummary::\n   :toctree: generated/\n\n"
        "   A\n   b\n\nText\n\n   C\n"
    )
    assert autosummary_entries(text) == {"pkg.A", "pkg.b"}


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_an_api_page(module_name):
    documented = autosummary_entries(API_RST.read_text(encoding="utf-8"))
    missing = [
        f"{module_name}.{name}"
        for name in public_names(module_name)
        if f"{module_name}.{name}" not in documented
    ]
    assert not missing, (
        f"Public names without an API page: add them to an autosummary in "
        f"{API_RST.relative_to(ROOT)}: {missing}"
    )


# Public classes and functions whose docstring has no Examples section yet;
# strict xfail, so the entry must go when the docstring is fixed.
MISSING_EXAMPLES = {}


def public_callables():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            obj = getattr(module, name)
            if callable(obj):
                qualified = f"{module_name}.{name}"
                marks = []
                if qualified in MISSING_EXAMPLES:
                    marks = pytest.mark.xfail(
                        reason=MISSING_EXAMPLES[qualified], strict=True
                    )
                yield pytest.param(qualified, obj, id=qualified, marks=marks)


@pytest.mark.parametrize("qualified, obj", public_callables())
def test_public_docstring_has_examples(qualified, obj):
    docstring = obj.__doc__ or ""
    assert re.search(r"^\s*Examples\n\s*-{8}", docstring, flags=re.M), (
        f"{qualified}: the docstring needs a numpydoc Examples section"
    )
    assert ">>> " in docstring, f"{qualified}: the Examples need >>> lines"


def test_api_reference_lists_only_existing_names():
    for qualified in sorted(autosummary_entries(API_RST.read_text(encoding="utf-8"))):
        module_name, _, name = qualified.rpartition(".")
        module = importlib.import_module(module_name)
        assert hasattr(module, name), f"{qualified} is in api.rst but does not exist"


def doc_pages():
    return sorted(
        path
        for path in DOCS.rglob("*.rst")
        if not SKIPPED_DIRS & set(path.relative_to(DOCS).parts)
        and "sg_execution_times" not in path.name
    )


@pytest.mark.parametrize(
    "page", doc_pages(), ids=lambda path: str(path.relative_to(DOCS))
)
def test_doc_page_examples_run(page, monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SKLINEAR_CIFAR10", raising=False)
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
        report=True,
    )
    assert result.failed == 0, f"{result.failed} failing example(s) in {page.name}"


def test_doc_pages_found():
    names = {path.name for path in doc_pages()}
    assert {"index.rst", "api.rst", "getting_started.rst"} <= names


@pytest.mark.parametrize(
    "script", sorted(EXAMPLES.glob("*.py")), ids=lambda path: path.name
)
def test_gallery_script_has_a_title(script):
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert docstring, f"{script.name} needs a module docstring (the gallery text)"
    lines = docstring.strip().splitlines()
    if set(lines[0]) == {"="}:  # an overline
        lines = lines[1:]
    assert len(lines) > 1 and lines[0].strip() and set(lines[1]) == {"="}, (
        f"{script.name}: the docstring must start with a title underlined by '='"
    )
    assert script.name.startswith("plot_"), "only plot_*.py scripts are executed"


def test_version_is_documented_in_conf():
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert "sklinear.__version__" in conf
    assert sklinear.__version__
