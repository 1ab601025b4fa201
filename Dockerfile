# The pipeline image: the official Airflow 3.3 image plus this project's pinned requirements.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt apache-airflow-providers-celery==3.26.0  # the celery profile
ENV PYTHONPATH=/opt/airflow/plugins \
    FSM_PROJECT_ROOT=/opt/airflow
