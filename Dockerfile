# The project on the official Airflow image: pinned requirements, DAGs, plugins and include/.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /opt/credly-sync/requirements.txt
RUN pip install --no-cache-dir --no-deps -r /opt/credly-sync/requirements.txt
COPY dags /opt/airflow/dags
COPY plugins /opt/airflow/plugins
COPY include /opt/airflow/include
ENV PYTHONPATH=/opt/airflow:/opt/airflow/plugins
