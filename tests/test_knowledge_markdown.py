"""Markdown answers on staff pages: formatting shown, HTML and unsafe links never run."""
import pytest

from knowledge_base.markdown import render


def test_the_subset_editors_use_is_formatted():
    html = str(render("**营业时间**：\n- 周一至周五 9:00–21:00\n- 周末 10:00–18:00\n\n详见 [官网](https://example.com/stores)"))
    assert "<strong>营业时间</strong>" in html and html.count("<li>") == 2
    assert '<a href="https://example.com/stores" rel="noopener noreferrer nofollow" target="_blank">官网</a>' in html


@pytest.mark.parametrize("text, shown", [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
    ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
    ("**not closed", "**not closed"),
    ("[no target]()x", "no target"),
])
def test_html_unsafe_links_and_invalid_markdown_show_as_text(text, shown):
    html = str(render(text))
    assert shown in html
    assert "<script" not in html and "<img" not in html and "javascript:" not in html.split("[click]")[0]
    assert 'href="javascript' not in html


def test_images_are_not_fetched():
    assert "<img" not in str(render("![logo](https://example.com/logo.png)"))
