# mqlite in a container: the same `mqlite serve`, data on a volume, every port published.
# Untested on the machines mqlite is developed on (they have no Docker engine); the
# installed wheel itself is proven by scripts/check-installed.sh. See docs/docker.md.
FROM python:3.11-slim

# Only what the wheel is built from; pip builds and installs it, then the sources go.
COPY pyproject.toml README.md LICENSE /tmp/mqlite-src/
COPY src /tmp/mqlite-src/src
RUN pip install --no-cache-dir /tmp/mqlite-src && rm -rf /tmp/mqlite-src

# Not root: a system user owning the data directory.
RUN useradd --system --uid 10001 --no-create-home mqlite \
    && mkdir /data && chown mqlite:mqlite /data
USER mqlite
WORKDIR /data

# HTTP (AWS APIs, /_mqlite/health), Kafka, AMQP 0-9-1, Redis RESP, STOMP.
EXPOSE 4566 9092 5672 6379 61613
VOLUME /data

# The slim image has no curl: Python's urllib asks the health endpoint (503 or no
# answer -> unhealthy).
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4566/_mqlite/health', timeout=4)"]

CMD ["mqlite", "serve", "--host", "0.0.0.0", "--data-dir", "/data", "--insecure"]
