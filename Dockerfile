# flowd daemon image: `docker build -t flowd .` then
# `docker run --init -p 127.0.0.1:8080:8080 -e FLOWD_API_TOKEN=$(openssl rand -hex 16) flowd`
# (it listens on 0.0.0.0 inside the container, so it refuses to start without FLOWD_API_TOKEN)
# (or `docker compose up`, see docker-compose.yml). Run with an init (--init / `init: true`) so that
# processes orphaned by script tasks are reaped: flowd is otherwise PID 1.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install the project from a throw-away copy of the source tree (see .dockerignore for what is left out).
WORKDIR /tmp/flowd-src
COPY . .
RUN pip install '.[duckdb,uv]' \
    && mkdir -p /usr/local/share/flowd \
    && cp -r flows-repo-template schema /usr/local/share/flowd/ \
    && cd / \
    && rm -rf /tmp/flowd-src

# A fixed, unprivileged uid/gid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 flowd \
    && useradd --system --uid 10001 --gid flowd --home-dir /var/lib/flowd --shell /usr/sbin/nologin flowd \
    && mkdir -p /var/lib/flowd \
    && chown flowd:flowd /var/lib/flowd

ENV FLOWD_HOME=/var/lib/flowd \
    FLOWD_TEMPLATE_DIR=/usr/local/share/flowd/flows-repo-template \
    FLOWD_LISTEN=0.0.0.0:8080
WORKDIR /var/lib/flowd
VOLUME ["/var/lib/flowd"]
USER flowd:flowd
EXPOSE 8080

ENTRYPOINT ["flowd"]
CMD ["run"]
