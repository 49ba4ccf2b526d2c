-- Prefect's own database beside netsift's, on the same PostgreSQL.
CREATE DATABASE prefect;
