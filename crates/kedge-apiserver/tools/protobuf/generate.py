#!/usr/bin/env python3
"""Derives the protobuf field table of the built-in kinds.

Kubernetes clients (kubectl >= 1.31 generator commands) send request bodies
as `application/vnd.kubernetes.protobuf`. Decoding them needs, for every
message, the field number, JSON name and wire type of each field: protocol
facts of the `generated.proto` files. This script reads them from the
`#[prost(...)]` attributes of the k8s-pb crate (crates.io, Apache-2.0) and
takes the JSON names from the OpenAPI definitions of kedge-schema, and writes
`data/protobuf-v1.33.json`:

    {"kinds": {"apps/v1/Deployment": "io.k8s.api.apps.v1.Deployment", ...},
     "messages": {"io.k8s.api.apps.v1.Deployment":
                   {"1": ["metadata", "message", "io.k8s...ObjectMeta"], ...}}}

A field entry is [json name, wire kind, element message or null, flags]
where the wire kind is string, bytes, bool, int32, int64, double, message,
map (string keys; the third member names the value: string, bytes or a
message) and flags holds "r" for repeated fields and "i" for embedded
structs whose fields are inlined into the parent's JSON.

Usage: generate.py K8S_PB_SRC_DIR KEDGE_SCHEMA_TYPES_JSON OUT_JSON
(K8S_PB_SRC_DIR is the `src` folder of an unpacked k8s-pb 0.9 crate.)
"""
import json
import os
import re
import sys

# Groups whose kinds the server serves (everything reachable from them is kept).
GROUPS = {"", "apps", "batch", "autoscaling", "policy", "rbac.authorization.k8s.io",
          "networking.k8s.io", "scheduling.k8s.io", "coordination.k8s.io",
          "storage.k8s.io", "apiextensions.k8s.io", "discovery.k8s.io",
          "events.k8s.io", "node.k8s.io"}

FIELD_RE = re.compile(
    r"#\[prost\(([^\]]*?)\)\]\s*pub (?:r#)?(\w+):\s*(.*?),\s*\n\s*(?=///|#\[|\})", re.S)
STRUCT_RE = re.compile(r"pub struct (\w+) \{(\}|.*?\n\})", re.S)


def module_name(rel):
    parts = rel.split(os.sep)[:-1]  # drop mod.rs
    parts = [p.replace("_apiserver", "-apiserver") for p in parts]
    return "io.k8s." + ".".join(parts)


def resolve(module, ty):
    """The message name of a Rust type path used in `module`."""
    ty = re.sub(r"\s+", "", ty)
    for wrap in ("::core::option::Option<", "::prost::alloc::vec::Vec<",
                 "::prost::alloc::boxed::Box<"):
        if ty.startswith(wrap):
            ty = ty[len(wrap):-1].rstrip(",")
    if ty.startswith("::prost::alloc::collections::BTreeMap<"):
        ty = ty[len("::prost::alloc::collections::BTreeMap<"):-1]
        ty = ty.split(",", 1)[1].rstrip(",")
    segs = ty.split("::")
    mod = module.split(".")
    while segs and segs[0] == "super":
        segs.pop(0)
        mod.pop()
    if len(segs) == 1:
        return ".".join(mod + segs)
    # paths below the crate root start again from io.k8s
    return ".".join(mod + segs).replace("_apiserver", "-apiserver")


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def main():
    src, types_path, out = sys.argv[1:4]
    defs = json.load(open(types_path))["definitions"]
    messages = {}
    unmatched = []
    for root, _, files in os.walk(src):
        for f in files:
            if f != "mod.rs":
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)
            module = module_name(rel)
            text = open(path).read()
            for sm in STRUCT_RE.finditer(text):
                name = module + "." + sm.group(1)
                props = defs.get(name, {}).get("properties", {})
                by_lower = {p.lower(): p for p in props}
                fields = {}
                for fm in FIELD_RE.finditer(sm.group(2).removesuffix("}") + "\n}"):
                    attr, rust, ty = fm.groups()
                    tag = re.search(r'tag = "(\d+)"', attr).group(1)
                    json_name = by_lower.get(rust.replace("_", "").lower(), camel(rust))
                    flags = "r" if "repeated" in attr else ""
                    mm = re.match(r'btree_map = "string, (\w+)"', attr)
                    if mm:
                        value = mm.group(1)
                        if value in ("message", "enumeration"):
                            value = resolve(module, ty)
                        fields[tag] = [json_name, "map", value, ""]
                        continue
                    kind = attr.split(",")[0].strip()
                    if kind.startswith("bytes"):
                        kind = "bytes"
                    if kind == "message":
                        # Go structs embedded with `json:",inline"` have a
                        # proto field but no JSON property of their own.
                        elem = resolve(module, ty)
                        if props and rust.replace("_", "").lower() not in by_lower:
                            unmatched.append((name, tag, elem, set(by_lower)))
                        fields[tag] = [json_name, "message", elem, flags]
                    elif kind in ("string", "bool", "int32", "int64", "double", "bytes"):
                        fields[tag] = [json_name, kind, None, flags]
                    else:
                        raise SystemExit(f"{name}.{rust}: unsupported {attr}")
                messages[name] = fields
    # Go structs embedded with `json:",inline"` have a proto field but no
    # JSON property of their own: their fields are properties of the parent.
    # (Fields newer than the OpenAPI also lack a property; they are not
    # inlined because their message's fields are not the parent's.)
    for name, tag, elem, parent_props in unmatched:
        inner = {f[0].lower() for f in messages.get(elem, {}).values()}
        if inner and len(inner & parent_props) * 2 >= len(inner):
            messages[name][tag][3] += "i"
    kinds = {}
    for name, d in defs.items():
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            if gvk["group"] in GROUPS and name in messages and not name.endswith("List"):
                gv = (gvk["group"] + "/" if gvk["group"] else "") + gvk["version"]
                kinds[gv + "/" + gvk["kind"]] = name
    # keep only what the kinds reach
    keep, todo = set(), list(kinds.values())
    while todo:
        m = todo.pop()
        if m in keep or m not in messages:
            continue
        keep.add(m)
        for f in messages[m].values():
            if f[2] and f[2] in messages:
                todo.append(f[2])
    table = {"source": "crates.io k8s-pb 0.9.0 (Apache-2.0) field tags; JSON names from kedge-schema types-v1.33.json",
             "generator": "tools/protobuf/generate.py",
             "kinds": dict(sorted(kinds.items())),
             "messages": {m: messages[m] for m in sorted(keep)}}
    with open(out, "w") as fh:
        json.dump(table, fh, separators=(",", ":"))
        fh.write("\n")


if __name__ == "__main__":
    main()
