# The pipeline image: the official Airflow 3.3 slim image (core only, so our pinned requirements meet no
# preinstalled providers' pins) plus requirements.txt (the runtime set only: no test or dev tool, those are
# in requirements-dev.txt; the Celery provider for the `celery` profile is pinned there too).
ARG AIRFLOW_IMAGE=apache/airflow:slim-3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

COPY --chown=airflow:root requirements.txt /requirements.txt
# apache-airflow is pinned again so pip can never move the image's own Airflow.
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /requirements.txt

# The code is baked in too (a self-contained image); docker-compose mounts the working copy over it.
# Only the runtime: the dev tooling (dev/fsm_dev: synthetic source, benchmark, local runner) and the
# tests are not copied, and .dockerignore keeps them out of the build context.
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root include/ /opt/airflow/include/
COPY --chown=airflow:root expectations/ /opt/airflow/expectations/
COPY --chown=airflow:root resources/ /opt/airflow/resources/

# run_log records which code made a month's figures: `docker build --build-arg CODE_VERSION=$(git describe --always)`.
ARG CODE_VERSION=unknown
ENV PYTHONPATH=/opt/airflow/plugins \
    FSM_CODE_VERSION=${CODE_VERSION} \
    FSM_PROJECT_ROOT=/opt/airflow
