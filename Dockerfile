# syntax=docker/dockerfile:1
# One image for every service; the Deployment picks one with `mailroom <service>`.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/mailroom
WORKDIR /src
# Only what the wheel is built from, so local virtualenvs and caches stay out.
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN /opt/mailroom/bin/pip install .

FROM python:3.11-slim
RUN groupadd --system --gid 10001 mailroom \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin mailroom
COPY --from=build /opt/mailroom /opt/mailroom
ENV PATH=/opt/mailroom/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
EXPOSE 8000 9101 9102 9103 9104
ENTRYPOINT ["mailroom"]
CMD ["--help"]
