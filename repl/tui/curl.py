"""A cell as a curl command in the form of the service's NodeLTS tutorial.

The Authorization header is ``"$AUTH_HEADER"``: the token never appears.
"""

from __future__ import annotations

import json
from urllib.parse import quote

TUTORIAL_API_VERSION = "2024-10-02-preview"


def _sq(text: str) -> str:
    """Text for the inside of a single-quoted shell string."""
    return text.replace("'", "'\\''")


def curl_command(endpoint: str, identifier: str, code: str) -> str:
    url = (
        f"{endpoint.rstrip('/')}/code/execute?api-version={TUTORIAL_API_VERSION}"
        f"&identifier={quote(identifier, safe='')}"
    )
    body = (
        "{\n"
        '    "properties": {\n'
        '        "codeInputType": "inline",\n'
        '        "executionType": "synchronous",\n'
        f'        "code": {json.dumps(code, ensure_ascii=False)}\n'
        "    }\n"
        "}"
    )
    return (
        f"curl -v -X 'POST' -H \"$AUTH_HEADER\" '{_sq(url)}' "
        f"-H 'Content-Type: application/json' -d '\n{_sq(body)}'"
    )
