"""The API pages: methods inherited from scikit-learn, and sklinear.onnx."""

import runpy
from pathlib import Path

import pytest
from test_docs import API_RST, autosummary_entries, public_names

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def inherited():
    pytest.importorskip("skl2onnx")  # conf.py documents sklinear.onnx too
    return runpy.run_path(str(DOCS / "conf.py"))["autosummary_context"][
        "inherited_methods"
    ]


@pytest.mark.parametrize(
    "cls, expected",
    [
        ("sklinear.MulticlassSVMSGD", {"score", "get_params", "set_params"}),
        ("sklinear.SoftmaxSGD", {"score", "set_fit_request", "get_metadata_routing"}),
        ("sklinear.features.HOG", {"fit_transform", "set_output", "get_params"}),
        ("sklinear.features.BagOfVisualWords", {"fit_transform", "set_output"}),
    ],
)
def test_class_pages_list_the_methods_inherited_from_scikit_learn(
    inherited, cls, expected
):
    rows = {name: (summary, url) for name, summary, url in inherited[cls]}
    assert expected <= set(rows)
    # sklinear's own methods are documented in full, not listed here.
    assert not {"fit", "predict", "transform", "partial_fit"} & set(rows)
    for name, (summary, url) in rows.items():
        assert summary and "`" not in summary.replace("``", ""), (name, summary)
        assert url.startswith("https://scikit-learn.org/stable/"), (name, url)
    summary, url = rows.get("get_params", rows.get("fit_transform"))
    assert url.endswith(".get_params") or url.endswith(".fit_transform")


def test_class_template_renders_the_inherited_methods():
    template = (DOCS / "_templates" / "autosummary" / "class.rst").read_text()
    assert "inherited_methods.get(fullname" in template


def test_onnx_module_has_api_pages():
    pytest.importorskip("skl2onnx")
    documented = autosummary_entries(API_RST.read_text(encoding="utf-8"))
    for name in public_names("sklinear.onnx"):
        assert f"sklinear.onnx.{name}" in documented
