#!/usr/bin/python3
"""Validate vgpuctl --json output against docs/vgpuctl.schema.json.

  validate-json.py SCHEMA FILE...       every document must be valid
  validate-json.py --invalid SCHEMA FILE...  every document must be refused

A file holds one document, or one document per line (monitor --json).
Beyond the schema, ids must refer to something the same document lists:
a type's parent is among its "parents" when it has them, an instance's
(parent, type) among its "types" when the instance is active (unless its
parent is in "errors"), a region's, interrupt's or migration entry's device
among its "devices"; a parent in "errors" is not among its "parents".
Exit 0 when all is as expected, 1 otherwise, 77 without python3-jsonschema.
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed: skip")
    sys.exit(77)


def documents(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def references(doc):
    """the cross-references the schema cannot express"""
    errors = []
    parents = {p["id"] for p in doc.get("parents", [])}
    types = {(t["parent"], t["id"]) for t in doc.get("types", [])}
    # a parent that did not answer is left out, with what it has
    missing = {e["parent"] for e in doc.get("errors", [])}
    devices = {d["id"] for d in doc.get("devices", [])}
    errors += ["parent %s is listed and in errors" % p for p in parents & missing]
    if "parents" in doc:
        errors += ["type %s names parent %s, which is not listed" % (t["id"], t["parent"])
                   for t in doc.get("types", []) if t["parent"] not in parents]
    if "types" in doc and "parents" in doc:
        errors += ["active instance %s has type %s/%s, which is not listed"
                   % (i["uuid"], i["parent"], i["type"])
                   for i in doc.get("instances", [])
                   if i["active"] and i["parent"] not in missing
                   and (i["parent"], i["type"]) not in types]
    for member in ("regions", "irqs", "migration", "frames"):
        errors += ["%s of device %s, which is not listed" % (member, o["device"])
                   for o in doc.get(member, [])
                   if "devices" in doc and o["device"] not in devices]
    return errors


def main():
    args = sys.argv[1:]
    invalid = args[:1] == ["--invalid"]
    if invalid:
        args = args[1:]
    with open(args[0], encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    failed = 0
    for path in args[1:]:
        for n, doc in enumerate(documents(path)):
            errors = [e.message for e in validator.iter_errors(doc)]
            if not errors:
                errors = references(doc)
            where = "%s#%d" % (path, n)
            if invalid and not errors:
                print("%s: accepted, but it is malformed" % where)
                failed += 1
            elif not invalid and errors:
                print("%s: %s" % (where, "; ".join(errors[:3])))
                failed += 1
            else:
                print("%s: %s" % (where, "refused as it must be" if invalid else "valid"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
