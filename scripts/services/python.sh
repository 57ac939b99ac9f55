# Python peers the tests compare against or talk to: DuckDB (query results, checked by an
# independent engine) and aiosmtpd (an SMTP sink for alert e-mail). Sourced by scripts/test.sh;
# exports TRAWL_PYTHON. Tests whose variable is unset say they skipped.
ensure_pip duckdb aiosmtpd || echo "python.sh: no venv: tests that need DuckDB or aiosmtpd will say they skipped" >&2
