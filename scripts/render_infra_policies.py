"""Write the S3 lifecycle, bucket policy and IAM documents that Terraform reads.

    .venv/bin/python scripts/render_infra_policies.py

They derive from the code's zones and retention bounds (ccr_tools/infra_policies.py);
test_infra.py fails when the committed files are stale.
"""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # ccr_tools: repository tooling, not an installed package

from ccr_tools.infra_policies import all_documents  # noqa: E402

OUT = REPO / "infra" / "terraform" / "policies"


def render() -> dict[str, str]:
    return {name: json.dumps(doc, indent=2, sort_keys=True) + "\n" for name, doc in all_documents().items()}


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
        print(OUT / name)
    sys.exit(0)
