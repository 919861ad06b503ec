#!/usr/bin/env python3
"""Writes crates/sim/src/server/protobuf/schema.txt: the protobuf layout of every type the
simulated API server serves, for its protobuf <-> JSON transcoder.

The field numbers, wire types and message types come from the k8s-pb crate (prost code
generated from Kubernetes' .proto files); prost renames fields to snake_case, so the exact
JSON names come from k8s-openapi's deserialisers, joined per type on the name with case
and punctuation ignored. Both crates are read from the local cargo registry:

    python3 crates/sim/gen/protobuf_schema.py K8S_PB_SRC K8S_OPENAPI_SRC > crates/sim/src/server/protobuf/schema.txt

e.g. K8S_PB_SRC=~/.cargo/registry/src/*/k8s-pb-0.9.0/src,
K8S_OPENAPI_SRC=~/.cargo/registry/src/*/k8s-openapi-0.29.0/src/v1_37 (the newest).
"""
import os
import re
import sys

PB, OPENAPI = sys.argv[1], sys.argv[2]

# Modules (k8s-pb paths) whose types the simulated cluster serves; their closure is written.
ROOTS = [
    "api.core.v1", "api.apps.v1", "api.autoscaling.v1", "api.autoscaling.v2",
    "api.policy.v1", "api.coordination.v1", "api.rbac.v1", "api.admissionregistration.v1",
    "apiextensions_apiserver.pkg.apis.apiextensions.v1", "apimachinery.pkg.apis.meta.v1",
    "metrics.pkg.apis.metrics.v1beta1", "apimachinery.pkg.runtime",
]

STRUCT = re.compile(r"^pub struct (\w+) \{(\})?$")
FIELD = re.compile(r'^\s+#\[prost\((\w+)(?: = "([^"]*)")?(?:, (optional|repeated|required))?(?:, packed = "\w+")?(?:, boxed)?, tag = "(\d+)"\)\]$')
DECL = re.compile(r"^\s+pub (?:r#)?(\w+): (.*),$")
RESOURCE = re.compile(r"^impl crate::Resource for (\w+) \{$")
CONST = re.compile(r'^\s+const (API_VERSION|KIND): &\'static str = "([^"]*)";$')


def module_of(path):
    rel = os.path.relpath(os.path.dirname(path), PB)
    return rel.replace(os.sep, ".")


def resolve(module, rust_type):
    """`::core::option::Option<super::super::x::Y>` in `module` -> `a.b.x.Y`."""
    inner = re.sub(r"\s+", "", rust_type).replace(",>", ">")
    while True:
        m = re.match(r"^[\w:]*<(.*)>$", inner)
        if not m:
            break
        inner = m.group(1)
    inner = inner.split(",")[-1].strip()
    parts = inner.split("::")
    base = module.split(".")
    while parts and parts[0] == "super":
        parts.pop(0)
        base.pop()
    if parts and parts[0] == "crate":
        parts.pop(0)
        base = []
    return ".".join(base + parts)


def joined_lines(path):
    """The file's lines, a field declaration that rustfmt broke over several joined into one."""
    held = None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if held is not None:
            held += " " + line.strip()
            if held.endswith(",") and held.count("<") == held.count(">"):
                yield held
                held = None
            continue
        if re.match(r"^\s+pub (?:r#)?\w+:", line) and not line.endswith(","):
            held = line
            continue
        yield line


messages = {}  # name -> [(tag, rust_name, label, type, msg)]
resources = []  # (apiVersion, kind, message)
for root, _, files in os.walk(PB):
    for f in files:
        if f != "mod.rs":
            continue
        path = os.path.join(root, f)
        module = module_of(path)
        current, pending, res, consts = None, None, None, {}
        for line in joined_lines(path):
            if m := STRUCT.match(line):
                current = f"{module}.{m.group(1)}"
                messages[current] = []
                if m.group(2):
                    current = None
                continue
            if line == "}":
                current = None
            if m := RESOURCE.match(line):
                res, consts = f"{module}.{m.group(1)}", {}
                continue
            if res and (m := CONST.match(line)):
                consts[m.group(1)] = m.group(2)
                if len(consts) == 2:
                    resources.append((consts["API_VERSION"], consts["KIND"], res))
                    res = None
                continue
            if current is None:
                continue
            if m := FIELD.match(line):
                pending = m.groups()
                continue
            if pending and (m := DECL.match(line)):
                kind, arg, label, tag = pending
                name, rust_type = m.groups()
                if kind in ("map", "btree_map", "hash_map"):
                    value = arg.split(",")[1].strip()
                    entry = ("map", value, resolve(module, rust_type) if value == "message" else "")
                else:
                    entry = ("rep" if label == "repeated" else "opt", kind,
                             resolve(module, rust_type) if kind == "message" else "")
                messages[current].append((int(tag), name) + entry)
                pending = None

# JSON names per k8s-openapi type, keyed by (module, lower-case type name).
json_names = {}
for root, _, files in os.walk(OPENAPI):
    for f in files:
        if not f.endswith(".rs"):
            continue
        rel = os.path.relpath(root, OPENAPI).replace(os.sep, ".")
        text = open(os.path.join(root, f), encoding="utf-8").read()
        for m in re.finditer(r"Deserialize<'de> for (\w+) \{(.*?)\n\}\n", text, re.S):
            names = re.findall(r'"([^"]+)" => Field::Key_\w+', m.group(2))
            json_names[(rel, m.group(1).lower())] = names


def norm(s):
    return re.sub(r"[^a-z0-9]", "", s.lower())


def own_names(message):
    module, _, name = message.rpartition(".")
    return json_names.get((module, name.lower()))


def flat_norms(message, names):
    """The normalised JSON names `message` contributes when inlined into a type with `names`."""
    out = set()
    for _, rust_name, _, ty, child in messages[message]:
        if norm(rust_name) not in names and ty == "message":
            out |= flat_norms(child, names)
        else:
            out.add(norm(rust_name))
    return out


# Go embeds some structs inline (`json:",inline"`): a message field with no JSON name of its
# own whose fields all appear in the parent's JSON. k8s-openapi flattens such a struct into
# its parent, so the embedded message takes its JSON names from there.
inherited = {}
changed = True
while changed:
    changed = False
    for m, fields in messages.items():
        names = own_names(m) or inherited.get(m)
        if not names:
            continue
        normed = {norm(n) for n in names}
        for _, rust_name, _, ty, child in fields:
            if ty == "message" and norm(rust_name) not in normed and child not in inherited \
                    and own_names(child) is None and flat_norms(child, normed) <= normed:
                inherited[child] = names
                changed = True


def json_name(message, field):
    """The field's JSON name, or `~` for an inlined struct."""
    _, rust_name, _, ty, child = field
    names = own_names(message) or inherited.get(message)
    for n in names or []:
        if norm(n) == norm(rust_name):
            return n
    if names and ty == "message" and flat_norms(child, {norm(n) for n in names}) <= {norm(n) for n in names}:
        return "~"
    # Types k8s-openapi flattens (Quantity, Time, ...) or fields newer than it: the
    # lowerCamelCase of the proto name is the .proto's own field name.
    print(f"no k8s-openapi name for {message}.{rust_name}", file=sys.stderr)
    head, *rest = rust_name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


wanted, todo = set(), [m for m in messages if m.rpartition(".")[0] in ROOTS]
while todo:
    m = todo.pop()
    if m in wanted:
        continue
    wanted.add(m)
    for field in messages[m]:
        if field[4]:
            todo.append(field[4])

print("# Generated by crates/sim/gen/protobuf_schema.py from k8s-pb and k8s-openapi: do not edit.")
print("# K apiVersion kind message | M message | tag jsonName opt|rep|map type [message]")
for api_version, kind, message in sorted(resources):
    if message in wanted:
        print(f"K {api_version} {kind} {message}")
for m in sorted(wanted):
    print(f"M {m}")
    for tag, name, label, ty, msg in sorted(messages[m]):
        print(f"{tag} {json_name(m, (tag, name, label, ty, msg))} {label} {ty}{' ' + msg if msg else ''}".rstrip())
