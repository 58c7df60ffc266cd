"""Running postbot as a service: metrics, health, alerts, `doctor`, backups.

- `settings`: the `[alerts]` table and `[daemon] metrics` (declared for the config schema);
- `metrics`: Prometheus metrics, counters kept in the process (a dispatch observer) and gauges
  read from indexes at each scrape;
- `checks`: the health checks `/readyz` and `postbot doctor` share;
- `health`: the HTTP server for /metrics, /healthz and /readyz (opt-in);
- `incidents`: what a recorded attempt or a failed check means to an operator (pure);
- `alerts`: incidents opened in the database (deduplicated across processes), sent through
  Apprise within a rate, never with a secret;
- `doctor`, `backup`: the commands' work.

Nothing here is imported by `postbot enqueue`; prometheus_client and Apprise are imported only
where they are used.
"""
