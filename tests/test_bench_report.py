from bench import report


def test_rows_are_replaced_by_name_and_others_kept(tmp_path):
    path = tmp_path / "b.json"
    report.update_json([report.row("a", 1, "ms", "make bench"), report.row("b", 2, "ms", "make bench")], path)
    report.update_json([report.row("b", 3, "ms", "make eval"), report.row("c", 4, "%", "make eval")], path)
    rows = {r["name"]: r for r in __import__("json").loads(path.read_text())}
    assert [rows[n]["value"] for n in "abc"] == [1, 3, 4]
    assert set(rows["a"]) == {"name", "value", "unit", "command", "date"}


def test_sections_are_replaced_in_place(tmp_path):
    path = tmp_path / "b.md"
    report.write_section("one", "first", path)
    report.write_section("two", "second", path)
    report.write_section("one", "first again", path)
    text = path.read_text()
    assert text.startswith("# Benchmarks")
    assert "first again" in text and "first\n" not in text.replace("first again", "")
    assert text.index("first again") < text.index("second")
