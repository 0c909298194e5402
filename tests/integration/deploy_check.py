"""Static checks of deploy/ for test_deploy.sh (run with Debian's python3 and
python3-yaml). Each check prints `PASS name` or `FAIL name: why`; the shell
test counts them. `argv` prints a command line NUL-separated for the shell to
run, so the command lines the files hold are run for real.

  deploy_check.py k8s REPO HELPDIR
  deploy_check.py units REPO HELPDIR
  deploy_check.py docs REPO HELPDIR
  deploy_check.py containerfile REPO
  deploy_check.py argv unit|k8s|k8s-init coordinator|worker REPO OLD=NEW...

HELPDIR holds the --help text of each program: coordinator, worker and
lattice-SUBCOMMAND."""
import os
import re
import shlex
import sys

FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
SUBCOMMANDS = ("check", "compile", "export", "verify", "submit", "status", "watch", "cancel",
               "workers", "rerender", "keygen", "eval", "blocks")

failures = 0


def check(name, cond, why=""):
    global failures
    if cond:
        print(f"PASS {name}")
    else:
        failures += 1
        print(f"FAIL {name}: {why}")


def help_flags(helpdir, prog):
    with open(os.path.join(helpdir, prog)) as f:
        return set(FLAG.findall(f.read())) | {"--help"}


def flags_known(name, args, helpdir, prog):
    used = [a.split("=", 1)[0] for a in args if FLAG.fullmatch(a.split("=", 1)[0])]
    unknown = sorted(set(used) - help_flags(helpdir, prog))
    check(f"{name}: every option is in {prog} --help", not unknown, f"unknown {unknown}")
    return used


def option(args, flag):
    """The values that follow FLAG in ARGS (repeatable options give several)."""
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


# ---- Kubernetes ---------------------------------------------------------------

def load_yaml(path):
    import yaml
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def subset(small, big):
    return bool(small) and all(big.get(k) == v for k, v in small.items())


def documented_secrets(readme):
    """{secret name: set of keys} from `kubectl create secret generic` commands."""
    text = re.sub(r"\\\n", " ", readme)
    out = {}
    for m in re.finditer(r"kubectl create secret generic ([\w.-]+)([^\n]*)", text):
        keys = set(re.findall(r"--from-file=([\w.-]+)=", m.group(2)))
        out.setdefault(m.group(1), set()).update(keys)
    return out


def pod_checks(name, pod, helpdir, prog, secrets, claims, templates):
    """Checks one pod spec; returns (args, {mount path: volume}, container)."""
    spec = pod["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for t in templates:
        volumes[t["metadata"]["name"]] = {"name": t["metadata"]["name"], "template": t}
    containers = spec.get("containers", [])
    check(f"{name}: one container", len(containers) == 1, f"{len(containers)}")
    c = containers[0]
    args = [str(a) for a in c.get("command", [])[1:] + c.get("args", [])]
    check(f"{name}: runs {prog}", c.get("command", [None])[0] == f"lattice-{prog}",
          f"command {c.get('command')}")
    flags_known(name, args, helpdir, prog)
    sc = spec.get("securityContext", {})
    check(f"{name}: runs as non-root", sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0)
    env = {e["name"] for e in c.get("env", [])}
    refs = set(re.findall(r"\$\((\w+)\)", " ".join(args)))
    check(f"{name}: every $(VAR) in args is in env", refs <= env, f"missing {refs - env}")

    mounts = {}
    for ct in spec.get("initContainers", []) + containers:
        for m in ct.get("volumeMounts", []):
            check(f"{name}: {ct['name']} mounts a defined volume '{m['name']}'", m["name"] in volumes)
            if ct is c:
                mounts[m["mountPath"]] = volumes.get(m["name"], {})
    for v in volumes.values():
        if "persistentVolumeClaim" in v:
            cn = v["persistentVolumeClaim"]["claimName"]
            check(f"{name}: the claim '{cn}' is defined", cn in claims)
        if "secret" in v:
            sn = v["secret"]["secretName"]
            check(f"{name}: the Secret '{sn}' is documented (kubectl create secret)", sn in secrets)

    def under(path):
        """The mount (path, volume) PATH lies in, the longest that holds it."""
        best = None
        for mp, vol in mounts.items():
            if path == mp or path.startswith(mp.rstrip("/") + "/"):
                if best is None or len(mp) > len(best[0]):
                    best = (mp, vol)
        return best

    # Every file an option names is on a mount, and a Secret's file is one of
    # the keys the README puts in it; a file on an emptyDir is written there by
    # an init container.
    for flag in ("--secret-key", "--server-key", "--allow"):
        for path in option(args, flag):
            m = under(path)
            check(f"{name}: {flag} {path} is on a volume", m is not None)
            if not m:
                continue
            vol = m[1]
            if "secret" in vol:
                key = os.path.relpath(path, m[0])
                sn = vol["secret"]["secretName"]
                check(f"{name}: {flag}: '{key}' is a key of Secret {sn}",
                      key in secrets.get(sn, set()), f"documented keys {secrets.get(sn)}")
            elif "emptyDir" in vol:
                writers = [i for i in spec.get("initContainers", [])
                           if (i.get("command", []) + i.get("args", []))[-1:] == [path]]
                check(f"{name}: {flag} {path} is written by an init container", writers)
                for i in writers:
                    cmd = i.get("command", []) + i.get("args", [])
                    check(f"{name}: and made mode 0600", "-m" in cmd and
                          cmd[cmd.index("-m") + 1] == "0600", f"{cmd}")
                    imounts = {m["mountPath"]: volumes.get(m["name"], {})
                               for m in i.get("volumeMounts", [])}
                    src = cmd[-2]
                    sm = [(mp, v) for mp, v in imounts.items() if src.startswith(mp + "/")]
                    ok = bool(sm) and "secret" in sm[0][1] and os.path.relpath(src, sm[0][0]) in \
                        secrets.get(sm[0][1]["secret"]["secretName"], set())
                    check(f"{name}: the init container copies a documented Secret key ({src})", ok)
            else:
                check(f"{name}: {flag} {path} is on a Secret or an init container's emptyDir",
                      False, f"{vol}")
    return args, under, c


def k8s(repo, helpdir):
    kdir = os.path.join(repo, "deploy", "kubernetes")
    coord_docs = load_yaml(os.path.join(kdir, "coordinator.yaml"))
    worker_docs = load_yaml(os.path.join(kdir, "workers.yaml"))
    with open(os.path.join(kdir, "README.md")) as f:
        secrets = documented_secrets(f.read())
    check("k8s: the README documents both Secrets",
          {"lattice-coordinator-keys", "lattice-worker-keys"} <= set(secrets), f"{secrets}")
    svcs, stss = by_kind(coord_docs, "Service"), by_kind(coord_docs, "StatefulSet")
    deps = by_kind(worker_docs, "Deployment")
    pvcs = by_kind(coord_docs + worker_docs, "PersistentVolumeClaim")
    check("k8s: coordinator.yaml has a Service, a StatefulSet and a PVC",
          len(svcs) == 1 and len(stss) == 1 and pvcs)
    check("k8s: workers.yaml has a Deployment", len(deps) == 1)
    if not (svcs and stss and deps):
        return
    svc, sts, dep = svcs[0], stss[0], deps[0]
    claims = {p["metadata"]["name"]: p for p in pvcs}
    check("k8s: lattice-out is ReadWriteMany", "ReadWriteMany" in
          claims.get("lattice-out", {}).get("spec", {}).get("accessModes", []))

    # StatefulSet
    ss = sts["spec"]
    check("k8s: one coordinator replica", ss.get("replicas") == 1, f"{ss.get('replicas')}")
    check("k8s: the StatefulSet's serviceName is the Service",
          ss.get("serviceName") == svc["metadata"]["name"])
    plabels = ss["template"]["metadata"].get("labels", {})
    check("k8s: the StatefulSet's selector matches its pods",
          subset(ss["selector"].get("matchLabels", {}), plabels))
    check("k8s: the Service selects the coordinator's pods", subset(svc["spec"]["selector"], plabels),
          f"{svc['spec']['selector']} vs {plabels}")
    dlabels = dep["spec"]["template"]["metadata"].get("labels", {})
    check("k8s: the Deployment's selector matches its pods",
          subset(dep["spec"]["selector"].get("matchLabels", {}), dlabels))
    check("k8s: the Service does not select the workers", not subset(svc["spec"]["selector"], dlabels))
    templates = ss.get("volumeClaimTemplates", [])
    cargs, cunder, cc = pod_checks("k8s coordinator", ss["template"], helpdir, "coordinator",
                                   secrets, claims, templates)
    ports = cc.get("ports", [])
    sports = svc["spec"]["ports"]
    check("k8s: the Service has one port, 7700", len(sports) == 1 and sports[0]["port"] == 7700)
    tp = sports[0].get("targetPort", sports[0]["port"])
    match = [p for p in ports if p.get("name") == tp or p["containerPort"] == tp]
    check("k8s: the Service's targetPort is a port of the coordinator's container", match,
          f"targetPort {tp}, ports {ports}")
    binds = option(cargs, "--bind")
    check("k8s: --bind listens on the container port", len(binds) == 1 and match and
          binds[0].rsplit(":", 1)[-1] == str(match[0]["containerPort"]), f"{binds}")
    state = option(cargs, "--state")
    sm = cunder(state[0]) if state else None
    check("k8s: --state is the mount of a volumeClaimTemplate",
          sm is not None and sm[0] == state[0] and "template" in sm[1], f"{state} {sm}")
    outs = option(cargs, "--allow-output")
    om = cunder(outs[0]) if outs else None
    check("k8s: coordinator --allow-output is the mount of lattice-out",
          om is not None and om[0] == outs[0] and
          om[1].get("persistentVolumeClaim", {}).get("claimName") == "lattice-out", f"{outs}")

    wargs, wunder, wc = pod_checks("k8s worker", dep["spec"]["template"], helpdir, "worker",
                                   secrets, claims, [])
    conn = option(wargs, "--connect")
    want = f"tcp://{svc['metadata']['name']}:{sports[0]['port']}"
    check("k8s: the worker connects to the Service's name and port", conn == [want],
          f"{conn} != {want}")
    wouts = option(wargs, "--allow-output")
    wm = wunder(wouts[0]) if wouts else None
    check("k8s: worker --allow-output is the mount of lattice-out, where the coordinator has it",
          wouts == outs and wm is not None and wm[0] == wouts[0] and
          wm[1].get("persistentVolumeClaim", {}).get("claimName") == "lattice-out", f"{wouts}")
    images = {c["image"] for d in (ss, dep["spec"]) for c in
              d["template"]["spec"]["containers"] + d["template"]["spec"].get("initContainers", [])}
    check("k8s: one image everywhere", len(images) == 1, f"{images}")
    uid = re.search(r"--uid (\d+)", open(os.path.join(repo, "deploy/container/Containerfile")).read())
    for d in (ss, dep["spec"]):
        sc = d["template"]["spec"].get("securityContext", {})
        check("k8s: runAsUser and fsGroup are the image's lattice uid",
              uid and sc.get("runAsUser") == int(uid.group(1)) == sc.get("fsGroup"))


# ---- systemd ------------------------------------------------------------------

def read_unit(path):
    """{key: [values]} of a unit file, continuation lines joined."""
    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out.setdefault(k.strip(), []).append(v.strip())
    return out


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v.strip('"')
    return env


UNITS = {"coordinator": ("lattice-coordinator.service", "lattice-coordinator.default"),
         "worker": ("lattice-worker@.service", "lattice-worker.default")}


def unit_argv(repo, prog, env_extra):
    sdir = os.path.join(repo, "deploy", "systemd")
    unit = read_unit(os.path.join(sdir, UNITS[prog][0]))
    env = {}
    for e in unit.get("Environment", []):
        for kv in shlex.split(e):
            k, v = kv.split("=", 1)
            env[k] = v
    env.update(read_env(os.path.join(sdir, UNITS[prog][1])))
    env.update(env_extra)
    words = []
    for w in shlex.split(unit["ExecStart"][0]):
        m = re.fullmatch(r"\$(\w+)", w)
        if m:  # $VAR alone: split into words, none when empty
            words += env.get(m.group(1), "").split()
        else:
            words.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), w))
    return unit, env, words


def units(repo, helpdir):
    sdir = os.path.join(repo, "deploy", "systemd")
    for prog in UNITS:
        name = f"systemd {UNITS[prog][0]}"
        unit, env, argv = unit_argv(repo, prog, {})
        check(f"{name}: binary in /usr/local/bin", argv[0] == f"/usr/local/bin/lattice-{prog}",
              argv[0])
        args = argv[1:]
        flags_known(name, args, helpdir, prog)
        # The defaults file's option variable, commented examples included.
        with open(os.path.join(sdir, UNITS[prog][1])) as f:
            opts = [w for line in f if "_OPTS=" in line
                    for w in line.split("=", 1)[1].split()]
        flags_known(f"{name} defaults file", opts, helpdir, prog)
        want = {"User": "lattice", "ProtectSystem": "strict", "Restart": "on-failure"}
        for k, v in want.items():
            check(f"{name}: {k}={v}", unit.get(k) == [v], f"{unit.get(k)}")
        for k in ("ProtectHome", "PrivateTmp", "NoNewPrivileges"):
            check(f"{name}: {k}=yes", unit.get(k) in (["yes"], ["true"]), f"{unit.get(k)}")
        check(f"{name}: RestartSec set", bool(unit.get("RestartSec")))
        check(f"{name}: EnvironmentFile=-/etc/default/lattice-{prog}",
              f"-/etc/default/lattice-{prog}" in unit.get("EnvironmentFile", []))
        rw = " ".join(unit.get("ReadWritePaths", [])).split()
        outs = option(args, "--allow-output")
        check(f"{name}: --allow-output /srv/lattice/out, writable", outs == ["/srv/lattice/out"] and
              "/srv/lattice/out" in rw, f"{outs} {rw}")
        for flag in ("--secret-key", "--server-key", "--allow"):
            for p in option(args, flag):
                check(f"{name}: {flag} in /etc/lattice/keys/", p.startswith("/etc/lattice/keys/"), p)
        refs = set(re.findall(r"\$\{(\w+)\}", unit["ExecStart"][0]))
        check(f"{name}: every ${{VAR}} has a default (Environment=)", all(
            any(e.startswith(r + "=") for e in " ".join(unit.get("Environment", [])).split())
            for r in refs), f"{refs}")
        if prog == "coordinator":
            st = option(args, "--state")
            check(f"{name}: --state /var/lib/lattice, writable", st == ["/var/lib/lattice"] and
                  "/var/lib/lattice" in rw, f"{st} {rw}")
            check(f"{name}: --secret-key and --allow", option(args, "--secret-key") and
                  option(args, "--allow"))
        else:
            check(f"{name}: the instance is the worker's name", option(args, "--name") == ["%i"])
            check(f"{name}: --secret-key and --server-key", option(args, "--secret-key") and
                  option(args, "--server-key"))


def k8s_argv(repo, prog, init):
    path = os.path.join(repo, "deploy", "kubernetes",
                        "coordinator.yaml" if prog == "coordinator" else "workers.yaml")
    docs = load_yaml(path)
    pod = [x for x in docs if x["kind"] in ("StatefulSet", "Deployment")][0]["spec"]["template"]
    c = pod["spec"]["initContainers" if init else "containers"][0]
    return [str(a) for a in c["command"] + c.get("args", [])]


def argv(kind, prog, repo, subs):
    """The command line of PROG in KIND (unit, k8s or k8s-init), its program
    name first as written, every other word with SUBS applied."""
    if kind == "unit":
        words = unit_argv(repo, prog, {})[2]
    else:
        words = k8s_argv(repo, prog, kind == "k8s-init")
    out = [words[0]]
    for w in words[1:]:
        for old, new in subs:
            w = w.replace(old, new)
        out.append(w)
    sys.stdout.write("\0".join(out) + "\0")


# ---- documentation ------------------------------------------------------------

def doc_commands(text):
    """(program, options) for each lattice command in TEXT's shell blocks."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        block = re.sub(r"\\\n", " ", block)
        for line in block.splitlines():
            line = re.sub(r"(^|\s)#.*", "", line)
            # Not kubectl's deployment/lattice-worker: a resource, not the program.
            pat = r"(?<![\w.-])(?<!deployment/)(?<!statefulset/)(?<!service/)(lattice-coordinator|lattice-worker|lattice\s+(%s))(?=\s|$)" % \
                "|".join(SUBCOMMANDS)
            for m in re.finditer(pat, line):
                seg = re.split(r"[;|&>]", line[m.end():])[0]
                prog = m.group(1).replace("lattice-", "") if not m.group(2) else \
                    f"lattice-{m.group(2)}"
                out.append((prog, FLAG.findall(seg)))
    return out


def docs(repo, helpdir):
    files = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(repo, "deploy"))
             for f in fs if f.endswith(".md")]
    seen = 0
    for path in sorted(files):
        with open(path) as f:
            text = f.read()
        for prog, flags in doc_commands(text):
            seen += 1
            unknown = sorted(set(flags) - help_flags(helpdir, prog))
            check(f"{os.path.relpath(path, repo)}: {prog} {' '.join(flags)}: known options",
                  not unknown, f"unknown {unknown}")
    with open(os.path.join(repo, "docs", "operations.md")) as f:
        text = f.read()
    start = text.find("## A cluster across three machines with systemd")
    check("docs/operations.md has the systemd and Kubernetes sections",
          start >= 0 and "## The same on Kubernetes" in text[start:])
    for prog, flags in doc_commands(text[start:] if start >= 0 else ""):
        seen += 1
        unknown = sorted(set(flags) - help_flags(helpdir, prog))
        check(f"docs/operations.md: {prog} {' '.join(flags)}: known options", not unknown,
              f"unknown {unknown}")
    check("docs: lattice commands were found to check", seen > 10, f"{seen}")


# ---- Containerfile -------------------------------------------------------------

def containerfile(repo):
    with open(os.path.join(repo, "deploy", "container", "Containerfile")) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = re.split(r"(?m)^FROM ", text)[1:]
    check("Containerfile: two stages, Debian 12", len(stages) == 2 and
          all(re.match(r"\S*debian:12", s) for s in stages), f"{[s.split()[0] for s in stages]}")
    build, run = stages[0], stages[-1]
    check("Containerfile: the build stage runs scripts/install-deps.sh",
          "install-deps.sh" in build and re.search(r"RUN .*install-deps\.sh", build))
    check("Containerfile: the build is Release", "CMAKE_BUILD_TYPE=Release" in build)
    m = re.search(r"apt-get install ([^&\n]*)", run)
    pkgs = [w for w in (m.group(1).split() if m else []) if not w.startswith("-")]
    check("Containerfile: the runtime stage installs packages", pkgs)
    print("PKGS " + " ".join(pkgs))
    check("Containerfile: no -dev package at run time", not [p for p in pkgs if p.endswith("-dev")])
    users = re.findall(r"(?m)^USER\s+(\S+)", run)
    check("Containerfile: runs as a non-root USER", users and
          users[-1].split(":")[0] not in ("root", "0"), f"{users}")
    check("Containerfile: that user is created", users and
          re.search(r"useradd .*\b%s\b" % re.escape(users[-1].split(":")[0]), run))
    copied = re.findall(r"(?m)^COPY --from=\S+ (.*) /usr/local/bin/", run)
    names = {os.path.basename(p) for c in copied for p in c.split()}
    check("Containerfile: copies the three programs to /usr/local/bin",
          {"lattice", "lattice-coordinator", "lattice-worker"} <= names, f"{names}")
    check("Containerfile: exposes 7700", re.search(r"(?m)^EXPOSE 7700\b", run))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "k8s":
        k8s(sys.argv[2], sys.argv[3])
    elif cmd == "units":
        units(sys.argv[2], sys.argv[3])
    elif cmd == "docs":
        docs(sys.argv[2], sys.argv[3])
    elif cmd == "containerfile":
        containerfile(sys.argv[2])
    elif cmd == "argv":
        argv(sys.argv[2], sys.argv[3], sys.argv[4], [a.split("=", 1) for a in sys.argv[5:]])
    sys.exit(1 if failures else 0)
