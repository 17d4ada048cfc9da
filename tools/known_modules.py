#!/usr/bin/env python3
"""Regenerates src/modules/known/modules.txt: every module name Ansible resolves.

Run with the venv that tests/run installs (ansible-core 2.19 and the `ansible` 12 bundle):

    /opt/strata-venv/bin/python3 tools/known_modules.py > src/modules/known/modules.txt

The list has one section per collection (`[ansible.builtin]`, `[community.general]`, ...);
in each, one line per name:

    NAME                  a module file of the collection (subfolders joined with `.`)
    NAME -> FQCN          a routing redirect, followed to the module it ends at (one that
                          ends outside the bundle is left out, as Ansible cannot resolve it) (`meta/runtime.yml`; for ansible.builtin,
                          ansible-core's config/ansible_builtin_runtime.yml, modules and
                          action plugins, which is where `yum -> ansible.builtin.dnf` lives)
    NAME ! MESSAGE        a tombstone: Ansible refuses the name with MESSAGE at load time

strata reads it in src/modules/known/mod.rs; which of these names strata implements is
decided by the module registry at run time, never by this list.
"""
import os
import sys

import yaml

import ansible
import ansible_collections
from ansible._internal import _display_utils
from ansible.module_utils.datatag import deprecator_from_collection_name
from ansible.release import __version__ as core_version

MODULE_EXT = (".py", ".ps1")


def module_files(root):
    """Module names under a plugins/modules folder, subfolders joined with dots."""
    names = set()
    for dirpath, _dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel.replace(os.sep, ".") + "."
        for f in files:
            stem, ext = os.path.splitext(f)
            if ext in MODULE_EXT and not stem.startswith("__"):
                names.add(prefix + stem)
    return names


def routing(entries, collection, kind):
    """Redirect and tombstone lines of one plugin_routing section."""
    out = {}
    for name, meta in (entries or {}).items():
        meta = meta or {}
        fq = f"{collection}.{name}"
        if "tombstone" in meta:
            t = meta["tombstone"] or {}
            text = t.get("warning_text") or ""
            msg = f"The {fq!r} {kind} has been removed.{' ' if text else ''}{text}"
            msg = _display_utils.get_deprecation_message_with_plugin_info(
                msg=msg,
                version=t.get("removal_version"),
                date=t.get("removal_date"),
                removed=True,
                deprecator=deprecator_from_collection_name(collection),
            )
            out[name] = "! " + " ".join(msg.split())
        elif "redirect" in meta:
            out[name] = "-> " + meta["redirect"]
    return out


def merge(files, routes):
    """name -> None for a module file (it wins over a route: the loader finds it first),
    else the route."""
    entries = dict(routes)
    entries.update({f: None for f in files})
    return entries


def resolve(table, fq, hops=0):
    """The final entry a name leads to: ("module", FQCN), ("removed", message) or None
    when a redirect ends nowhere (a collection outside the bundle): Ansible then says
    "couldn't resolve module/action", so the name is not known."""
    for c in table:
        if fq.startswith(c + ".") and fq[len(c) + 1:] in table[c]:
            entry = table[c][fq[len(c) + 1:]]
            if entry is None:
                return ("module", fq)
            if entry.startswith("! "):
                return ("removed", entry[2:])
            if hops > 10:
                return None
            return resolve(table, entry[3:], hops + 1)
    return None


def sections(table):
    lines = []
    for collection, entries in table.items():
        body = []
        for name in sorted(entries):
            entry = entries[name]
            if entry is None:
                body.append(name)
                continue
            if entry.startswith("! "):
                body.append(f"{name} {entry}")
                continue
            final = resolve(table, entry[3:])
            if final is None:
                continue
            kind, value = final
            body.append(f"{name} -> {value}" if kind == "module" else f"{name} ! {value}")
        if body:
            lines += [f"[{collection}]"] + body
    return lines


def main():
    core = os.path.dirname(ansible.__file__)
    runtime = yaml.safe_load(open(os.path.join(core, "config", "ansible_builtin_runtime.yml")))
    pr = runtime["plugin_routing"]
    routes = routing(pr.get("action"), "ansible.builtin", "action plugin")
    routes.update(routing(pr.get("modules"), "ansible.builtin", "module"))
    files = module_files(os.path.join(core, "modules"))
    files.discard("async_wrapper")  # an internal helper, not a task action
    try:
        bundle = __import__("importlib.metadata").metadata.version("ansible")
    except Exception:
        bundle = "unknown"
    out = [
        "# Generated by tools/known_modules.py: do not edit, regenerate.",
        f"# ansible-core {core_version}, ansible {bundle}.",
    ]
    table = {"ansible.builtin": merge(files, routes)}
    base = list(ansible_collections.__path__)[0]
    for ns in sorted(os.listdir(base)):
        nsdir = os.path.join(base, ns)
        if not os.path.isdir(nsdir) or ns.startswith(("_", ".")):
            continue
        for coll in sorted(os.listdir(nsdir)):
            cdir = os.path.join(nsdir, coll)
            if not os.path.isdir(cdir) or coll.startswith(("_", ".")):
                continue
            name = f"{ns}.{coll}"
            files = module_files(os.path.join(cdir, "plugins", "modules"))
            meta = {}
            rt = os.path.join(cdir, "meta", "runtime.yml")
            if os.path.exists(rt):
                meta = yaml.safe_load(open(rt)) or {}
            routes = routing((meta.get("plugin_routing") or {}).get("modules"), name, "module")
            if files or routes:
                table[name] = merge(files, routes)
    out += sections(table)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
