#!/usr/bin/env python3
"""Derive kedge-schema's committed data from the published Kubernetes schema.

The source is the PyPI package `kubernetes-validate` (Apache-2.0), whose wheel
carries the Kubernetes OpenAPI definitions converted to JSON Schema, one
folder per release, with every `x-kubernetes-*` extension kept:
`kubernetes_validate/kubernetes-json-schema/v1.33.0-local/_definitions.json`.

Two files are written (minified JSON, stable key order):

* `types-v1.33.json`: every definition as a compact OpenAPI-v3-like node
  (`type`, `format`, `properties`, `required`, `items`, `additionalProperties`,
  `oneOf`, `$ref` shortened to the definition name, `x-kubernetes-*`), without
  descriptions. It drives the merge type model and the served OpenAPI.
* `descriptions-v1.33.json`: `{definition: [description, {field: description}]}`,
  loaded only to build OpenAPI documents (`kubectl explain`).

The `null` member of JSON-Schema type unions and the single-value `enum`s the
converter adds to `apiVersion`/`kind` are dropped: they are not in the
Kubernetes OpenAPI itself.

Usage:
  python3 tools/schema/generate.py                 # download (cached) and regenerate
  python3 tools/schema/generate.py --wheel W.whl   # use a given wheel
  python3 tools/schema/generate.py --out DIR       # write elsewhere (for checks)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "kubernetes-validate"
PACKAGE_VERSION = "1.37.0"
WHEEL_NAME = "kubernetes_validate-1.37.0-py3-none-any.whl"
KUBE_VERSION = "v1.33.0"
SERIES = "v1.33"
MEMBER = f"kubernetes_validate/kubernetes-json-schema/{KUBE_VERSION}-local/_definitions.json"

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(ROOT, "crates", "kedge-schema", "data")


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kedge", "schema")


def fetch_wheel():
    """Returns the cached wheel, downloading it with pip on first use."""
    directory = cache_dir()
    path = os.path.join(directory, WHEEL_NAME)
    if os.path.exists(path):
        return path
    os.makedirs(directory, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
         "-d", directory, f"{PACKAGE}=={PACKAGE_VERSION}"],
        check=True,
    )
    return path


def strip_type(t):
    if isinstance(t, list):
        t = [x for x in t if x != "null"]
        if len(t) == 1:
            return t[0]
        return t or None
    return t


def compact(node, descriptions, field=None):
    """A description-free copy of one schema node."""
    out = {}
    t = strip_type(node.get("type"))
    if t:
        out["type"] = t
    if "$ref" in node:
        out["$ref"] = node["$ref"].rsplit("/", 1)[-1]
    if "format" in node:
        out["format"] = node["format"]
    if "enum" in node and field not in ("apiVersion", "kind"):
        out["enum"] = node["enum"]
    if "oneOf" in node:
        out["oneOf"] = [compact(x, None) for x in node["oneOf"]]
    if "properties" in node:
        props = {}
        field_docs = {}
        for name, prop in node["properties"].items():
            props[name] = compact(prop, None, name)
            if prop.get("description"):
                field_docs[name] = prop["description"]
        out["properties"] = props
        if descriptions is not None:
            descriptions["fields"] = field_docs
    if node.get("required"):
        out["required"] = node["required"]
    if "items" in node:
        out["items"] = compact(node["items"], None)
    if "additionalProperties" in node:
        ap = node["additionalProperties"]
        out["additionalProperties"] = ap if isinstance(ap, bool) else compact(ap, None)
    for key in sorted(node):
        if key.startswith("x-kubernetes-") and key != "x-kubernetes-unions":
            out[key] = node[key]
    return out


def generate(wheel, out_dir):
    with zipfile.ZipFile(wheel) as zf:
        source = json.loads(zf.read(MEMBER))
    defs = source["$defs"]
    types = {}
    docs = {}
    for name in sorted(defs):
        node = defs[name]
        d = {}
        types[name] = compact(node, d)
        entry = [node.get("description", ""), d.get("fields", {})]
        if entry[0] or entry[1]:
            docs[name] = entry
    os.makedirs(out_dir, exist_ok=True)
    header = {
        "source": f"PyPI {PACKAGE} {PACKAGE_VERSION} (Apache-2.0), {MEMBER}",
        "generator": "tools/schema/generate.py",
        "kubernetes": KUBE_VERSION,
    }
    write(os.path.join(out_dir, f"types-{SERIES}.json"), dict(header, definitions=types))
    write(os.path.join(out_dir, f"descriptions-{SERIES}.json"), dict(header, descriptions=docs))


def write(path, value):
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", help="path of the kubernetes-validate wheel (default: cached download)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args()
    wheel = args.wheel or fetch_wheel()
    generate(wheel, args.out)


if __name__ == "__main__":
    main()
