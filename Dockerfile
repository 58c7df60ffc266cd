# postbot in a container: slim, runs as a user without privileges, the database and the posts on
# volumes, healthy while /healthz answers. Logs go to stderr (JSON lines): `docker logs`.
#   docker build -t postbot .
#   docker run -d --name postbot --env-file .env \
#     -v "$PWD/config:/app/config:ro" -v "$PWD/posts:/app/posts:ro" -v postbot-var:/app/var postbot
# The config in /app/config/postbot.toml says project_dir = ".." (as the shipped one does), so
# var/ and posts/ are read from /app. compose.yaml runs two workers on PostgreSQL.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Every wheel postbot needs, built or fetched once (the tests run these same steps).
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    POSTBOT_CONFIG=/app/config/postbot.toml \
    POSTBOT_METRICS=0.0.0.0:9750
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin postbot \
    && mkdir -p /app/config /app/posts /app/var \
    && chown postbot:postbot /app/var
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels postbot-scheduler \
    && rm -rf /wheels
WORKDIR /app
USER postbot
VOLUME ["/app/var", "/app/posts"]
EXPOSE 9750
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9750/healthz', timeout=4)"]
ENTRYPOINT ["postbot"]
CMD ["run", "--log-format", "json"]
