#!/usr/bin/env python3
"""Validate Airbyte protocol messages, one JSON object a line.

usage: validate_airbyte.py PROTOCOL_YAML FILE...

Each line must be an AirbyteMessage valid against the protocol's JSON
Schema (airbyte_protocol.yaml, draft-07), and must carry the field that
its type names (a RECORD has "record", a STATE of type STREAM has
"stream", a TRACE of type ERROR has "error", ...), which the schema alone
does not require. Prints one line per problem ("FILE:LINE: why") and exits
1 if there was any, 0 otherwise; exits 3 when jsonschema or yaml cannot be
imported (the caller skips).
"""
import json
import sys

try:
    import jsonschema
    import yaml
except ImportError as exc:  # the test skips
    print("missing module: %s" % exc, file=sys.stderr)
    sys.exit(3)

# message type -> the member it must carry
MEMBER = {
    "RECORD": "record",
    "STATE": "state",
    "LOG": "log",
    "SPEC": "spec",
    "CONNECTION_STATUS": "connectionStatus",
    "CATALOG": "catalog",
    "TRACE": "trace",
    "CONTROL": "control",
    "DESTINATION_CATALOG": "destination_catalog",
}
# nested type fields -> the member they require
STATE_MEMBER = {"STREAM": "stream", "GLOBAL": "global", "LEGACY": "data"}
TRACE_MEMBER = {
    "ERROR": "error",
    "ESTIMATE": "estimate",
    "STREAM_STATUS": "stream_status",
    "ANALYTICS": "analytics",
}
CONTROL_MEMBER = {"CONNECTOR_CONFIG": "connectorConfig"}


def matching_members(msg):
    """Problems with the type-names-its-member rule."""
    out = []
    t = msg.get("type")
    member = MEMBER.get(t)
    if member and member not in msg:
        return ["type %s without its %r member" % (t, member)]
    inner = msg.get(member) if member else None
    table = {"STATE": STATE_MEMBER, "TRACE": TRACE_MEMBER,
             "CONTROL": CONTROL_MEMBER}.get(t)
    if table and isinstance(inner, dict):
        sub = inner.get("type")
        if t == "STATE" and sub is None:
            sub = "LEGACY"
        want = table.get(sub)
        if want and want not in inner:
            out.append("%s of type %s without its %r member" % (t, sub, want))
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        protocol = yaml.safe_load(f)
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": protocol["definitions"],
        "$ref": "#/definitions/AirbyteMessage",
    }
    validator = jsonschema.Draft7Validator(schema)
    problems = 0
    lines = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                lines += 1
                where = "%s:%d" % (path, n)
                if not line.endswith("\n"):
                    print("%s: line does not end with a newline" % where)
                    problems += 1
                try:
                    msg = json.loads(line)
                except ValueError as exc:
                    print("%s: not JSON: %s" % (where, exc))
                    problems += 1
                    continue
                if not isinstance(msg, dict):
                    print("%s: not a JSON object" % where)
                    problems += 1
                    continue
                for err in validator.iter_errors(msg):
                    loc = "/".join(str(p) for p in err.absolute_path)
                    print("%s: %s: %s" % (where, loc or "(message)",
                                          err.message))
                    problems += 1
                for why in matching_members(msg):
                    print("%s: %s" % (where, why))
                    problems += 1
    print("%d lines, %d problems" % (lines, problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
