"""Ways to run netsift's flows as deployments (see prefect.yaml for work pools)."""
