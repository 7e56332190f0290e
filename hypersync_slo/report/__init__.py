"""The reporter: Prometheus queries, KPI math and report writers."""
