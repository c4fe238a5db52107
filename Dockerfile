# One image for web, workers and beat. GPU machines: build with a CUDA build of torch 2.13.0, e.g.
#   docker build --build-arg TORCH_SPEC="torch==2.13.0" --build-arg PIP_EXTRA_INDEX_URL=<your CUDA wheel index> .
FROM python:3.11-slim

ARG TORCH_SPEC="torch==2.13.0"
ARG PIP_EXTRA_INDEX_URL=""
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_EXTRA_INDEX_URL=${PIP_EXTRA_INDEX_URL}

WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
# every package of [tool.setuptools.packages.find] (tests/test_dockerfile.py keeps the two lists equal)
COPY core core
COPY audit audit
COPY access access
COPY ecommarketing ecommarketing
COPY catalog catalog
COPY customers customers
COPY recommendations recommendations
COPY campaigns campaigns
COPY inference inference
COPY jobs jobs
COPY ingest ingest
COPY assistant assistant
COPY privacy privacy
COPY demo demo
COPY dashboard dashboard
COPY manage.py ./
RUN pip install "${TORCH_SPEC}" && pip install .
RUN useradd --create-home app && mkdir -p /app/var && chown app /app/var
USER app
ENV ECOM_VAR_DIR=/app/var
EXPOSE 8000
CMD ["gunicorn", "ecommarketing.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
