"""Repository tooling, outside the runtime package: the secret scan, the PII scan of the data dir, the
infrastructure policies Terraform reads, the dependency audit's verdict and the Helm chart rendering the
tests check. Used by ``scripts/`` and the tests; ``ccr_pipelines`` never imports it (a test checks)."""
