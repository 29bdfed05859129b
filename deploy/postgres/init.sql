-- Run by the postgres image on its first start (empty data volume) from
-- /docker-entrypoint-initdb.d/, mounted by docker-compose.yaml.
-- One database per service.
CREATE DATABASE user_manager;
CREATE DATABASE credit_manager;
