"""What a run's objects artifact holds: the objects it acted on, not the look-back's re-checks."""

from netsift.analyst.run_summary import ingest_summary, ingest_table


def result(uri, status, rows=0, error=None):
    return {"uri": uri, "status": status, "rows_loaded": rows, "rows_rejected": 0, "error": error}


def test_objects_loaded_by_earlier_runs_are_counted_not_listed():
    results = [result(f"s3://b/E1.2026-12-01-{h:02}.old.gz", "skipped") for h in range(24)]
    results += [
        result("s3://b/E1.2026-12-02-00.new.gz", "loaded", 50),
        result("s3://b/E1.2026-12-02-00.copy.gz", "skipped", error="same content as s3://b/E1.2026-12-02-00.new.gz"),
        result("s3://b/E1.2026-12-02-00.bad.gz", "failed", error="truncated gzip"),
    ]
    table = ingest_table(results)
    assert [row["status"] for row in table] == ["failed", "loaded", "skipped"]
    assert ["bad" in table[0]["object"], "new" in table[1]["object"], "copy" in table[2]["object"]] == [True] * 3
    summary = ingest_summary(results)
    assert (summary["objects"], summary["skipped"], summary["loaded"], summary["failed"]) == (27, 25, 1, 1)


def test_a_run_that_only_re_checks_has_an_empty_table():
    assert ingest_table([result("s3://b/k", "skipped")]) == []
