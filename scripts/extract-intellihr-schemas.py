#!/usr/bin/env python3
"""Copies the request schemas hrport's intelliHR bodies must satisfy out of the
vendor's OpenAPI file, with every $ref resolved, into
tests/fixtures/intellihr/schemas.json (committed; not run in CI).

Source: konfig-sdks/intelli-hr-java-sdk, api/openapi.yaml, commit
a30f06c5615682f46952c6e40a89043ab7459bec (2024-03-26), a re-publication of the
spec at https://developers.intellihr.io/docs/v1/ (see vendor-apis.md §2.1).
    python3 -m venv /tmp/v && /tmp/v/bin/pip install pyyaml
    /tmp/v/bin/python scripts/extract-intellihr-schemas.py ../shared/reference/specs/intellihr-v1-openapi.yaml
"""
import json, sys, yaml

spec = yaml.safe_load(open(sys.argv[1]))
schemas = spec["components"]["schemas"]

def resolve(node, seen=()):
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return {}
            return resolve(schemas[name], seen + (name,))
        return {k: resolve(v, seen) for k, v in node.items() if not k.startswith("x-konfig")}
    if isinstance(node, list):
        return [resolve(v, seen) for v in node]
    return node

users = resolve(schemas["users_create"])
people = resolve(schemas["people_create_request"])

# Konfig emptied these ("oneOf schemas are emptied in places"); their shapes
# come from the vendor's TypeScript SDK models (konfig-sdks/intelli-hr-
# typescript-sdk @ e9572cb36c1c0a45c11b79d3430de373be32f786), as recorded in
# vendor-apis.md §2.3-2.4: people-create-request-user-account-one-of.ts and
# people-create-request-user-account-one-of-permission-groups.ts.
uuid_list = {"oneOf": [{"type": "array", "items": {"type": "string", "minLength": 36, "maxLength": 36}}, {"type": "null"}]}
users["properties"]["permissionGroups"] = uuid_list
people["properties"]["userAccount"] = {"oneOf": [{"type": "null"}, {
    "type": "object",
    "required": ["username"],
    "properties": {
        "username": {"type": "string"},
        "isEnabled": {"type": "boolean"},
        "sendWelcomeEmail": {"type": "boolean"},
        "permissionGroups": uuid_list,
    },
}]}
for f in ("dateOfBirth", "firstName", "middleName", "preferredName", "title", "employeeNumber", "primaryEmailAddress", "primaryPhoneNumber"):
    if people["properties"].get(f) in ({}, None):
        people["properties"][f] = {"type": "string"}

out = {
    "source": "konfig-sdks/intelli-hr-java-sdk api/openapi.yaml @ a30f06c5615682f46952c6e40a89043ab7459bec, components.schemas, $refs resolved; emptied parts filled from the vendor's TypeScript SDK models (see scripts/extract-intellihr-schemas.py)",
    "users_create": users,
    "people_create_request": people,
}
json.dump(out, open("tests/fixtures/intellihr/schemas.json", "w"), indent=1, sort_keys=True)
print("wrote tests/fixtures/intellihr/schemas.json")
