# One image for every motcua service; the command picks the service.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir 'setuptools<82' -r requirements.txt
COPY kit kit
COPY services services
COPY deploy deploy
ENV PYTHONPATH=/app/kit:/app/services/intake:/app/services/routing:/app/services/notification:/app/services/reporting PSYCOPG_WAIT_FUNC=wait_select
CMD ["python", "-m", "motcua_kit.run", "--config", "services/intake/config.yml", "intake.service"]
