"""Static checks of deploy/ for test_deploy.sh (run with Debian's python3 and
python3-yaml). Each check prints `PASS name` or `FAIL name: why`; the shell
test counts them. `argv` prints a command line NUL-separated for the shell to
run, so the command lines the files hold are run for real.

  deploy_check.py k8s REPO HELPDIR
  deploy_check.py ojd REPO HELPDIR
  deploy_check.py units REPO HELPDIR
  deploy_check.py docs REPO HELPDIR
  deploy_check.py containerfile REPO
  deploy_check.py argv unit|k8s|k8s-init coordinator|worker REPO OLD=NEW...
  deploy_check.py argv k8s-job shards|assemble REPO OLD=NEW...
  deploy_check.py shard-count REPO
  deploy_check.py ojd-tasks REPO STEP NAME=VALUE...

`shard-count` prints the shard Job's completions and its LATTICE_SHARD_COUNT;
`ojd-tasks` prints the command line of each task of STEP of the Open Job
Description template, each word NUL-terminated and an empty word after each
task, with the job
parameters given (their defaults otherwise) and CHUNK[INT] chunks made as a
scheduler makes them.

HELPDIR holds the --help text of each program: coordinator, worker and
lattice-SUBCOMMAND."""
import os
import re
import shlex
import sys

FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
SUBCOMMANDS = ("check", "compile", "export", "verify", "submit", "status", "watch", "cancel",
               "workers", "rerender", "keygen", "eval", "blocks", "assemble")

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


def documented(readme, kind):
    """{name: set of keys} from the README's `kubectl create KIND NAME --from-file=KEY=...`
    commands (KIND: "secret generic" or "configmap")."""
    text = re.sub(r"\\\n", " ", readme)
    out = {}
    for m in re.finditer(r"kubectl create " + kind + r" ([\w.-]+)([^\n]*)", text):
        keys = set(re.findall(r"--from-file=([\w.-]+)=", m.group(2)))
        out.setdefault(m.group(1), set()).update(keys)
    return out


def pod_checks(name, pod, helpdir, prog, secrets, claims, templates, sub=None, configmaps=None):
    """Checks one pod spec; returns (args, {mount path: volume}, container).
    PROG is lattice-PROG, or with SUB `lattice SUB` (args: those after SUB)."""
    spec = pod["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for t in templates:
        volumes[t["metadata"]["name"]] = {"name": t["metadata"]["name"], "template": t}
    containers = spec.get("containers", [])
    check(f"{name}: one container", len(containers) == 1, f"{len(containers)}")
    c = containers[0]
    args = [str(a) for a in c.get("command", [])[1:] + c.get("args", [])]
    if sub:
        check(f"{name}: runs lattice {sub}", c.get("command") == ["lattice"] and args[:1] == [sub],
              f"command {c.get('command')} args {args[:1]}")
        args = args[1:]
        flags_known(name, args, helpdir, f"lattice-{sub}")
    else:
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
        if "configMap" in v:
            cm = v["configMap"]["name"]
            check(f"{name}: the ConfigMap '{cm}' is documented (kubectl create configmap)",
                  cm in (configmaps or {}))

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
    storage_docs = load_yaml(os.path.join(kdir, "storage.yaml"))
    with open(os.path.join(kdir, "README.md")) as f:
        readme = f.read()
    secrets = documented(readme, "secret generic")
    check("k8s: the README documents both Secrets",
          {"lattice-coordinator-keys", "lattice-worker-keys"} <= set(secrets), f"{secrets}")
    svcs, stss = by_kind(coord_docs, "Service"), by_kind(coord_docs, "StatefulSet")
    deps = by_kind(worker_docs, "Deployment")
    pvcs = by_kind(storage_docs, "PersistentVolumeClaim")
    check("k8s: coordinator.yaml has a Service and a StatefulSet", len(svcs) == 1 and len(stss) == 1)
    check("k8s: storage.yaml holds only the PVC lattice-out", len(storage_docs) == 1 and
          [p["metadata"]["name"] for p in pvcs] == ["lattice-out"])
    check("k8s: no other manifest defines a PVC (deleting pods never deletes exports)",
          not by_kind(coord_docs + worker_docs, "PersistentVolumeClaim"))
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
    k8s_jobs(kdir, readme, helpdir, claims, images, uid and int(uid.group(1)),
             [svc["spec"]["selector"], ss["selector"].get("matchLabels", {}),
              dep["spec"]["selector"].get("matchLabels", {})])


def k8s_jobs(kdir, readme, helpdir, claims, images, uid, selectors):
    """shards.yaml (an Indexed Job of `lattice export --shard auto`) and
    assemble.yaml (one `lattice assemble` of the same OUT)."""
    configmaps = documented(readme, "configmap")
    jobs = {}
    for f in ("shards", "assemble"):
        docs = load_yaml(os.path.join(kdir, f + ".yaml"))
        js = by_kind(docs, "Job")
        check(f"k8s: {f}.yaml holds one Job and nothing else", len(js) == 1 == len(docs),
              f"{[d.get('kind') for d in docs]}")
        if not js:
            return
        jobs[f] = js[0]
    sh, asm = jobs["shards"], jobs["assemble"]
    ss, asp = sh["spec"], asm["spec"]
    for f, j in jobs.items():
        spec = j["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"].get("labels", {})
        check(f"k8s {f}: the pods are labelled lattice", labels.get("app.kubernetes.io/name") ==
              "lattice" and labels.get("app.kubernetes.io/component"), f"{labels}")
        check(f"k8s {f}: no Service, StatefulSet or Deployment selects its pods",
              not any(subset(sel, labels) for sel in selectors))
        check(f"k8s {f}: no manual selector (the Job makes its own)",
              "selector" not in spec and not spec.get("manualSelector"))
        check(f"k8s {f}: restartPolicy Never", pod.get("restartPolicy") == "Never")
        sc = pod.get("securityContext", {})
        check(f"k8s {f}: runAsUser and fsGroup are the image's lattice uid",
              uid and sc.get("runAsUser") == uid == sc.get("fsGroup"), f"{sc}")
        check(f"k8s {f}: no init container, no Secret (shards need no keys)",
              not pod.get("initContainers") and not any("secret" in v for v in pod.get("volumes", [])))
        for c in pod.get("containers", []):
            csc = c.get("securityContext", {})
            check(f"k8s {f}: {c['name']}: no privilege escalation, read-only root, no capabilities",
                  csc.get("allowPrivilegeEscalation") is False and
                  csc.get("readOnlyRootFilesystem") is True and
                  csc.get("capabilities", {}).get("drop") == ["ALL"], f"{csc}")
            images = images | {c["image"]}
    check("k8s: one image everywhere, the Jobs included", len(images) == 1, f"{images}")

    # The shards: an Indexed Job of `lattice export --shard auto`.
    check("k8s shards: completionMode Indexed", ss.get("completionMode") == "Indexed")
    n = ss.get("completions")
    check("k8s shards: completions is a count", isinstance(n, int) and n >= 1, f"{n}")
    par = ss.get("parallelism", 1)
    check("k8s shards: parallelism is between 1 and completions",
          isinstance(par, int) and isinstance(n, int) and 1 <= par <= n, f"{par}")
    bl = ss.get("backoffLimitPerIndex", ss.get("backoffLimit"))
    check("k8s shards: a retry budget (backoffLimitPerIndex or backoffLimit)",
          isinstance(bl, int) and 1 <= bl <= 10, f"{bl}")
    if "podFailurePolicy" in ss:
        # The API server refuses a pod failure policy with any other value.
        check("k8s shards: podFailurePolicy goes with podReplacementPolicy Failed",
              ss.get("podReplacementPolicy") == "Failed")
        for r in ss["podFailurePolicy"].get("rules", []):
            check(f"k8s shards: pod failure rule {r.get('action')} is known",
                  r.get("action") in ("Ignore", "Count", "FailIndex", "FailJob"))
    sargs, sunder, sc_ = pod_checks("k8s shards", ss["template"], helpdir, "lattice-export",
                                    {}, claims, [], sub="export", configmaps=configmaps)
    env = {e["name"]: e for e in sc_.get("env", [])}
    cnt = env.get("LATTICE_SHARD_COUNT", {}).get("value")
    check("k8s shards: LATTICE_SHARD_COUNT is the Job's completions", cnt == str(n), f"{cnt} != {n}")
    check("k8s shards: JOB_COMPLETION_INDEX is left to Kubernetes", "JOB_COMPLETION_INDEX" not in env)
    check("k8s shards: --shard auto", option(sargs, "--shard") == ["auto"], f"{option(sargs, '--shard')}")
    check("k8s shards: no --replace (refused with --shard)", "--replace" not in sargs)
    pos = [a for i, a in enumerate(sargs) if not a.startswith("-") and
           (i == 0 or not sargs[i - 1].startswith("-"))]
    check("k8s shards: one patch argument", len(pos) == 1, f"{pos}")
    pm = sunder(pos[0]) if pos else None
    cm = pm and pm[1].get("configMap", {}).get("name")
    check("k8s shards: the patch is a file of a mounted ConfigMap", bool(cm), f"{pos} {pm}")
    if cm:
        key = os.path.relpath(pos[0], pm[0])
        check(f"k8s shards: the patch '{key}' is a key of ConfigMap {cm} (README)",
              key in configmaps.get(cm, set()), f"documented {configmaps.get(cm)}")
    outs = option(sargs, "-o") + option(sargs, "--output")
    om = sunder(outs[0]) if len(outs) == 1 else None
    check("k8s shards: -o OUT is below the mount of lattice-out",
          om is not None and outs[0] != om[0] and
          om[1].get("persistentVolumeClaim", {}).get("claimName") == "lattice-out", f"{outs} {om}")
    check("k8s: lattice-out is ReadWriteMany (the shards share it)", "ReadWriteMany" in
          claims.get("lattice-out", {}).get("spec", {}).get("accessModes", []))
    thr = option(sargs, "--threads")
    if thr:
        cpu = str(sc_.get("resources", {}).get("requests", {}).get("cpu"))
        check("k8s shards: --threads matches the CPU request", thr == [cpu], f"{thr} vs {cpu}")

    # The assembly: one pod, the same claim, the same OUT.
    check("k8s assemble: one completion, not Indexed", asp.get("completions", 1) == 1 and
          asp.get("parallelism", 1) == 1 and asp.get("completionMode", "NonIndexed") == "NonIndexed")
    aargs, aunder, _ = pod_checks("k8s assemble", asp["template"], helpdir, "lattice-assemble",
                                  {}, claims, [], sub="assemble", configmaps=configmaps)
    apos = [a for a in aargs if not a.startswith("-")]
    check("k8s assemble: assembles the shards' OUT", apos == outs, f"{apos} != {outs}")
    am = aunder(apos[0]) if apos else None
    check("k8s assemble: OUT is on the same claim, mounted where the shards mount it",
          am is not None and om is not None and am[0] == om[0] and
          am[1].get("persistentVolumeClaim", {}).get("claimName") ==
          om[1].get("persistentVolumeClaim", {}).get("claimName"), f"{am} {om}")

    # The order, documented: wait for the shard Job, then apply the assembly.
    text = re.sub(r"\\\n", " ", readme)
    w = text.find(f"kubectl wait --for=condition=complete job/{sh['metadata']['name']}")
    a = text.find("assemble.yaml", w)
    check("k8s: the README waits for the shard Job, then applies assemble.yaml", 0 <= w < a,
          f"wait at {w}, apply at {a}")
    check("k8s: the README shows the assembly's log", f"kubectl logs job/{asm['metadata']['name']}" in text)


# ---- Open Job Description -----------------------------------------------------

OJD_TEMPLATE = os.path.join("deploy", "openjd", "lattice-export.template.yaml")
OJD_REF = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
OJD_TYPES = ("STRING", "PATH", "INT", "FLOAT")


def ojd_load(repo):
    import yaml
    with open(os.path.join(repo, OJD_TEMPLATE)) as f:
        return yaml.safe_load(f)


def ojd_strings(node):
    """Every string in NODE (a parsed template), depth first."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from ojd_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from ojd_strings(v)


def ojd_action(step):
    a = step.get("script", {}).get("actions", {}).get("onRun", {})
    return [str(a.get("command", ""))] + [str(x) for x in a.get("args", [])]


def ojd(repo, helpdir):
    t = ojd_load(repo)
    check("ojd: specificationVersion jobtemplate-2023-09",
          t.get("specificationVersion") == "jobtemplate-2023-09", f"{t.get('specificationVersion')}")
    check("ojd: extensions holds TASK_CHUNKING", "TASK_CHUNKING" in (t.get("extensions") or []),
          f"{t.get('extensions')}")
    check("ojd: the job has a name", bool(t.get("name")))
    params = {p["name"]: p for p in t.get("parameterDefinitions", [])}
    check("ojd: job parameter names are unique",
          len(params) == len(t.get("parameterDefinitions", [])))
    for name, p in params.items():
        check(f"ojd: parameter {name} has a type of 2023-09", p.get("type") in OJD_TYPES,
              f"{p.get('type')}")
        if p.get("type") == "INT" and "default" in p:
            check(f"ojd: parameter {name}'s default is an integer >= minValue",
                  isinstance(p["default"], int) and p["default"] >= p.get("minValue", p["default"]))
    refs = set()
    for text in ojd_strings(t):
        for r in OJD_REF.findall(text):
            refs.add(r)
            check(f"ojd: {{{{{r}}}}} is a job or task parameter reference",
                  re.fullmatch(r"(Raw)?Param\.\w+|Task\.(Raw)?Param\.\w+", r), r)
    used = {r.split(".")[-1] for r in refs if re.fullmatch(r"(Raw)?Param\.\w+", r)}
    check("ojd: every {{Param.X}} is a defined job parameter", used <= set(params),
          f"undefined {sorted(used - set(params))}")
    check("ojd: every job parameter is used", set(params) <= used, f"unused {sorted(set(params) - used)}")
    steps = {s["name"]: s for s in t.get("steps", [])}
    check("ojd: two steps, Export and Assemble", set(steps) == {"Export", "Assemble"} and
          len(t.get("steps", [])) == 2, f"{list(steps)}")
    for s in t.get("steps", []):
        for d in s.get("dependencies", []):
            check(f"ojd: {s['name']} depends on a step of the template", d.get("dependsOn") in steps,
                  f"{d}")
        tps = {p["name"]: p for p in s.get("parameterSpace", {}).get("taskParameterDefinitions", [])}
        for text in ojd_strings(s):
            for r in OJD_REF.findall(text):
                if r.startswith("Task."):
                    check(f"ojd: {s['name']}: {{{{{r}}}}} is a task parameter of the step",
                          r.split(".")[-1] in tps, f"{sorted(tps)}")
    if set(steps) != {"Export", "Assemble"}:
        return
    ex, asm = steps["Export"], steps["Assemble"]
    tps = ex.get("parameterSpace", {}).get("taskParameterDefinitions", [])
    check("ojd: Export has one task parameter, a CHUNK[INT]",
          len(tps) == 1 and tps[0].get("type") == "CHUNK[INT]", f"{tps}")
    if not tps:
        return
    tp = tps[0]
    ch = tp.get("chunks", {})
    check("ojd: its chunks are CONTIGUOUS (a chunk is one range a-b)",
          ch.get("rangeConstraint") == "CONTIGUOUS", f"{ch}")
    dtc = ch.get("defaultTaskCount")
    m = OJD_REF.fullmatch(str(dtc))
    check("ojd: defaultTaskCount is a positive integer or an INT parameter",
          (isinstance(dtc, int) and dtc >= 1) or
          (m and params.get(m.group(1).split(".")[-1], {}).get("type") == "INT" and
           params[m.group(1).split(".")[-1]].get("minValue", 0) >= 1), f"{dtc}")
    argv = ojd_action(ex)
    check("ojd: Export runs lattice export", argv[:2] == ["lattice", "export"], f"{argv[:2]}")
    args = argv[2:]
    flags_known("ojd Export", args, helpdir, "lattice-export")
    check("ojd: Export's --shard is the chunk ({{Task.Param.%s}})" % tp["name"],
          [OJD_REF.sub(lambda m: m.group(1).replace(" ", ""), a) for a in option(args, "--shard")] ==
          [f"Task.Param.{tp['name']}"], f"{option(args, '--shard')}")
    check("ojd: Export's --frames is the whole range the chunks come from",
          option(args, "--frames") == [str(tp.get("range"))], f"{option(args, '--frames')} vs {tp.get('range')}")
    fr = OJD_REF.fullmatch(str(tp.get("range")))
    fp = params.get(fr.group(1).split(".")[-1], {}) if fr else {}
    check("ojd: the range's default is one range FIRST-LAST (what --frames takes)",
          re.fullmatch(r"\d+-\d+", str(fp.get("default", ""))), f"{fp}")
    check("ojd: no --replace (refused with --shard)", "--replace" not in args)
    outs = option(args, "-o") + option(args, "--output")
    pos = [a for i, a in enumerate(args) if not a.startswith("-") and
           (i == 0 or not args[i - 1].startswith("-"))]
    check("ojd: Export has one patch argument, a PATH parameter", len(pos) == 1 and
          params.get(pos[0].strip("{} ").split(".")[-1], {}).get("type") == "PATH", f"{pos}")
    check("ojd: -o OUT is a PATH parameter", len(outs) == 1 and
          params.get(outs[0].strip("{} ").split(".")[-1], {}).get("type") == "PATH", f"{outs}")
    check("ojd: Assemble depends on Export",
          {"dependsOn": "Export"} in (asm.get("dependencies") or []), f"{asm.get('dependencies')}")
    check("ojd: Assemble runs once (no parameter space)", "parameterSpace" not in asm)
    aargv = ojd_action(asm)
    check("ojd: Assemble runs lattice assemble", aargv[:2] == ["lattice", "assemble"], f"{aargv[:2]}")
    flags_known("ojd Assemble", aargv[2:], helpdir, "lattice-assemble")
    check("ojd: Assemble assembles Export's OUT", [a for a in aargv[2:] if not a.startswith("-")] == outs,
          f"{aargv[2:]} vs {outs}")


def ojd_tasks(repo, step_name, values):
    """Prints each task's command line of STEP: job parameters from VALUES
    (defaults otherwise), the CHUNK[INT] range cut into contiguous chunks of
    defaultTaskCount frames, as a scheduler without adaptive sizing does."""
    t = ojd_load(repo)
    params = {p["name"]: str(p.get("default", "")) for p in t.get("parameterDefinitions", [])}
    params.update(values)

    def fmt(text, task=None):
        def one(m):
            r = m.group(1)
            name = r.split(".")[-1]
            if r.startswith("Task."):
                return task[name]
            return params[name]
        return OJD_REF.sub(one, str(text))

    step = [s for s in t["steps"] if s["name"] == step_name][0]
    argv = ojd_action(step)
    tps = step.get("parameterSpace", {}).get("taskParameterDefinitions", [])
    tasks = [{}]
    if tps:
        tp = tps[0]
        first, last = (int(x) for x in fmt(tp["range"]).split("-"))
        size = int(fmt(tp["chunks"]["defaultTaskCount"]))
        tasks = [{tp["name"]: f"{a}-{min(a + size - 1, last)}"} for a in range(first, last + 1, size)]
    for task in tasks:
        sys.stdout.write("".join(fmt(w, task) + "\0" for w in argv) + "\0")


def shard_count(repo):
    docs = load_yaml(os.path.join(repo, "deploy", "kubernetes", "shards.yaml"))
    spec = by_kind(docs, "Job")[0]["spec"]
    env = {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0].get("env", [])}
    print(spec["completions"], env.get("LATTICE_SHARD_COUNT"))


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
    if prog in ("shards", "assemble"):  # the Jobs
        docs = load_yaml(os.path.join(repo, "deploy", "kubernetes", prog + ".yaml"))
        c = by_kind(docs, "Job")[0]["spec"]["template"]["spec"]["containers"][0]
        return [str(a) for a in c["command"] + c.get("args", [])]
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
    for sec in ("## Shards and assemble", "## Shards on Slurm", "## Shards with Open Job Description"):
        check(f"docs/operations.md has '{sec[3:]}'", sec in text)
    m = re.search(r"## A cluster across three machines with systemd\n.*?```sh\n(.*?)```", text, re.S)
    lines = m.group(1).strip("\n").splitlines() if m else []
    check("docs/operations.md: the systemd cluster is ten lines of commands", len(lines) == 10 and
          not [ln for ln in lines if not ln.strip() or ln.rstrip().endswith("\\")], f"{len(lines)}")
    for f in ("deploy/kubernetes/shards.yaml", "deploy/kubernetes/assemble.yaml",
              "deploy/slurm/export.sbatch", "deploy/slurm/assemble.sbatch",
              "deploy/openjd/lattice-export.template.yaml"):
        check(f"docs/operations.md names {f}", f in text)
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
    elif cmd == "ojd":
        ojd(sys.argv[2], sys.argv[3])
    elif cmd == "ojd-tasks":
        ojd_tasks(sys.argv[2], sys.argv[3], dict(a.split("=", 1) for a in sys.argv[4:]))
    elif cmd == "shard-count":
        shard_count(sys.argv[2])
    elif cmd == "units":
        units(sys.argv[2], sys.argv[3])
    elif cmd == "docs":
        docs(sys.argv[2], sys.argv[3])
    elif cmd == "containerfile":
        containerfile(sys.argv[2])
    elif cmd == "argv":
        argv(sys.argv[2], sys.argv[3], sys.argv[4], [a.split("=", 1) for a in sys.argv[5:]])
    sys.exit(1 if failures else 0)
