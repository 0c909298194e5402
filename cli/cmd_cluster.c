/* lattice submit | status | watch | cancel | workers: clients of a
 * lattice-coordinator (docs/protocol.md). */
#include <cJSON.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "sweep.h"
#include "lattice/ir_codec.h"
#include "client.h"
#include "lattice/digest.h"
#include "lattice/export_config.h"
#include "shard.h"

static const char *const s_common_help =
    "  -c, --coordinator E  the coordinator (default: $LATTICE_COORDINATOR or\n"
    "                       tcp://127.0.0.1:7700)\n"
    "  --timeout-ms MS      wait this long for each answer (default: 5000;\n"
    "                       3 tries)\n";
static const char *const s_keys_intro =
    "A tcp coordinator is CURVE (docs/security.md): this client's key must be\n"
    "in its allow-list, as a client (its own jobs) or an admin (everything).\n";

/* Options every client command takes; true when argv[*i] was one. */
static bool s_common_opt(int argc, char **argv, int *i, const char **endpoint, long *timeout,
                         cli_key_opts_t *keys)
{
    const char *a = argv[*i];
    if (cli_key_opt(argc, argv, i, keys))
        return true;
    if ((strcmp(a, "-c") == 0 || strcmp(a, "--coordinator") == 0) && *i + 1 < argc) {
        *endpoint = argv[++*i];
        return true;
    }
    if (strcmp(a, "--timeout-ms") == 0 && *i + 1 < argc) {
        char *end;
        long v = strtol(argv[++*i], &end, 10);
        *timeout = *end || v < 10 || v > 3600000 ? -1 : v;
        return true;
    }
    return false;
}

static bool s_is_terminal(const char *state)
{
    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "cancelled") == 0;
}

int cli_watch_job(cli_client_t *c, const char *job, bool quiet)
{
    cli_progress_t pr;
    cli_progress_init(&pr);
    for (;;) {
        lx_msg_t req = {.type = LX_MSG_WATCH}, rep;
        LX_MSG_SET(&req, job, job);
        lx_error_t err = {0};
        if (cli_interrupted)
            return CLI_INTERRUPTED;
        if (cli_client_call(c, &req, &rep, &err) != LX_OK) {
            if (cli_interrupted)
                return CLI_INTERRUPTED;
            fprintf(stderr, "lattice: %s\n", err.message);
            return CLI_USAGE;
        }
        if (rep.type == LX_MSG_ERROR) {
            fprintf(stderr, "lattice: %s\n", rep.message);
            return CLI_FAILED;
        }
        if (rep.type != LX_MSG_JOBS || rep.jobs.n != 1) {
            fprintf(stderr, "lattice: unexpected %s from the coordinator\n",
                    lx_msg_type_name(rep.type));
            return CLI_USAGE;
        }
        const lx_job_rec_t *j = &rep.jobs.v[0];
        if (!quiet)
            cli_progress_update(&pr, (int64_t)j->done, (int64_t)j->total);
        if (s_is_terminal(j->state)) {
            if (strcmp(j->state, "done") == 0)
                return CLI_OK;
            fprintf(stderr, "lattice: job %s %s%s%s\n", j->job, j->state, j->error ? ": " : "",
                    j->error ? j->error : "");
            /* The export's storage failing is an I/O error, like a bad -o. */
            bool storage = j->error && strncmp(j->error, "storage: ", 9) == 0;
            return storage ? CLI_USAGE : CLI_FAILED;
        }
        zmq_poll(NULL, 0, c->watch_ms); /* the polling interval */
    }
}

/* ---- submit ----------------------------------------------------------- */

static void s_submit_help(FILE *out)
{
    fprintf(out,
            "usage: lattice submit PATCH -o OUT [options]\n\n"
            "Submits an export to a lattice-coordinator. The patch is checked here\n"
            "first, then compiled once by the coordinator and rendered by its workers.\n"
            "Submitting the same request again returns the same job (the token is a\n"
            "hash of the request unless --token is given).\n\n"
            "  -o, --output OUT     the export directory, as the coordinator (stream)\n"
            "                       or the workers (shared) see it; made absolute\n"
            "                       (--output-dir OUT: deprecated spelling)\n"
            "%s%s"
            "  --chunk N            frames per chunk (default: the coordinator's)\n"
            "  --storage MODE       shared (workers write OUT, shared storage) or\n"
            "                       stream (bytes travel to the coordinator); default\n"
            "                       shared (--output shared|stream: deprecated spelling)\n"
            "  --token T            idempotency token (default: hash of the request)\n"
            "  --replace            OUT holds another export (patch or settings): remove\n"
            "                       its files first; an export of the same patch and\n"
            "                       settings is resumed and joined, never replaced\n"
            "  --force              write into a directory that holds other files\n"
            "  --shard SPEC         render one slice of the export (i/N or a-b, as\n"
            "                       lattice export --shard); assemble with lattice\n"
            "                       assemble OUT\n"
            "  --audit RATE         render every chunk-boundary frame and a RATE share\n"
            "                       (0..1) of the others again on another worker and\n"
            "                       compare; 2 of 3 settle a disagreement, the odd worker\n"
            "                       is quarantined and its frames rendered again\n"
            "  --progress-timeout-ms MS  cancel and requeue a chunk that delivers no\n"
            "                       frame for this long (default: the coordinator's)\n"
            "  --wait               show progress until the job ends\n"
            "%s\n%s%s\n"
            "Exit status: 0 submitted (with --wait: exported), 1 the patch or settings\n"
            "have errors, the coordinator refused the job or the job failed, 2 usage,\n"
            "an I/O problem (the export's storage failed) or the coordinator did not\n"
            "answer.\n",
            cli_export_opts_help, cli_sweep_help, s_common_help, s_keys_intro, cli_key_help);
}

/* What every SUBMIT of one `lattice submit` carries besides its request. */
typedef struct {
    const char *source, *output, *token, *artifacts;
    long chunk, progress;
    double audit;
    bool replace, force, wait;
} submit_opts_t;

/* Submits req's patch with config (NULL: none) into out (a slice of it
 * with shard); the job's id in job. A patch with audio goes compiled, with
 * plan's resolved config: the coordinator reads no file for a client. */
static int s_submit(cli_client_t *c, const submit_opts_t *o, const cli_export_request_t *req,
                    const lx_export_plan_t *plan, const char *config, const char *out,
                    const cli_shard_t *shard, const char *token, char job[65])
{
    lx_msg_t m = {.type = LX_MSG_SUBMIT};
    lx_strbuf_t program, resolved;
    lx_strbuf_init(&program, NULL);
    lx_strbuf_init(&resolved, NULL);
    bool compiled = req->program->audio != NULL;
    lx_error_t err = {0};
    if (compiled) {
        lx_export_plan_config_json(plan, &resolved);
        if (lx_ir_encode(req->program, &program, &err) != LX_OK || resolved.failed) {
            fprintf(stderr, "lattice submit: %s\n", err.message[0] ? err.message : "out of memory");
            lx_strbuf_release(&program);
            lx_strbuf_release(&resolved);
            return CLI_USAGE;
        }
        LX_MSG_SET(&m, program, ((lx_bytes_t){(const uint8_t *)program.buf, program.len}));
        config = resolved.buf;
    } else {
        LX_MSG_SET(&m, patch, req->req.patch);
    }
    LX_MSG_SET(&m, source, o->source);
    LX_MSG_SET(&m, out, out);
    LX_MSG_SET(&m, output, o->output);
    if (o->replace)
        LX_MSG_SET(&m, replace, true);
    if (o->force)
        LX_MSG_SET(&m, force, true);
    if (config)
        LX_MSG_SET(&m, config, config);
    /* A resolved config holds the frames and artifacts already. */
    int64_t range[2] = {req->req.first, req->req.last};
    if (req->req.has_frames && !compiled)
        LX_MSG_SET(&m, frames, ((lx_i64s_t){range, 2}));
    if (o->artifacts && !compiled)
        LX_MSG_SET(&m, artifacts, o->artifacts);
    int64_t slice[2] = {shard ? shard->first : 0, shard ? shard->last : 0};
    if (shard && !shard->whole)
        LX_MSG_SET(&m, shard, ((lx_i64s_t){slice, 2}));
    if (o->chunk)
        LX_MSG_SET(&m, chunk, (uint64_t)o->chunk);
    if (o->progress)
        LX_MSG_SET(&m, progress_timeout_ms, (uint64_t)o->progress);
    if (o->audit >= 0)
        LX_MSG_SET(&m, audit_rate, o->audit);
    /* The default token names the request, so a retried submit (a lost
     * reply, a script run twice) finds its job instead of starting another. */
    char hex[65];
    if (!token) {
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        LX_MSG_SET(&m, token, "-"); /* required: a placeholder while hashing */
        lx_msg_encode(&m, &sb, NULL);
        lx_sha256_hex(sb.buf, sb.len, hex);
        lx_strbuf_release(&sb);
        token = hex;
    }
    LX_MSG_SET(&m, token, token);
    lx_msg_t rep;
    int rc = CLI_OK;
    if (cli_client_call(c, &m, &rep, &err) != LX_OK) {
        fprintf(stderr, "lattice submit: %s\n", err.message);
        rc = CLI_USAGE;
    } else if (rep.type == LX_MSG_ERROR) {
        fprintf(stderr, "lattice submit: the coordinator refused the job (%s):\n%s\n", rep.code,
                rep.message);
        rc = CLI_FAILED;
    } else if (rep.type != LX_MSG_JOBS || rep.jobs.n != 1) {
        fprintf(stderr, "lattice submit: unexpected %s\n", lx_msg_type_name(rep.type));
        rc = CLI_USAGE;
    } else {
        snprintf(job, 65, "%s", rep.jobs.v[0].job);
        printf("job %s: %" PRIu64 " frames -> %s (%s)\n", job, rep.jobs.v[0].total, out,
               rep.jobs.v[0].state);
        fflush(stdout);
    }
    lx_strbuf_release(&program);
    lx_strbuf_release(&resolved);
    return rc;
}

/* Follows job to its end. */
static int s_wait(cli_client_t *c, const char *job, const char *out)
{
    int rc = cli_watch_job(c, job, false);
    if (rc == CLI_OK)
        printf("exported %s (verify with: lattice verify %s)\n", out, out);
    return rc;
}

/* A sweep: one job per variant and seed into OUT/<its directory>, then
 * OUT/index.json when this machine sees OUT (else a note: the
 * coordinator's OUT may be elsewhere); "complete" only with --wait. */
/* One job of a sweep, as submitted. */
typedef struct {
    char job[65], dir[CLI_SWEEP_DIR_MAX], out[PATH_MAX];
    uint32_t v, seed;
    char program[65], config[65];
    int64_t first, last;
} sweep_job_t;

/* j's line of the index: what its metadata.json says when this machine
 * sees it (its range joined with what OUT held), else what was submitted. */
static void s_sweep_record(cli_sweep_t *sw, const sweep_job_t *j)
{
    lx_error_t err = {0};
    if (!cli_sweep_record_export(sw, j->v, j->dir, j->out, &err))
        cli_sweep_record(sw, j->v, j->dir, j->seed, j->program, j->config, j->first, j->last);
}

static int s_submit_sweep(cli_client_t *c, const submit_opts_t *o, cli_sweep_t *sw,
                          const cli_export_args_t *args, const cli_export_request_t *reqs,
                          const char *out)
{
    int rc = CLI_OK;
    int64_t n = (int64_t)sw->n_variants * cli_sweep_seeds(sw), i = 0;
    sweep_job_t *jobs = calloc((size_t)n, sizeof *jobs);
    if (!jobs) {
        fprintf(stderr, "lattice submit: out of memory for %" PRId64 " jobs\n", n);
        return CLI_USAGE;
    }
    /* All submitted first, so the cluster runs them side by side. */
    for (uint32_t v = 0; rc == CLI_OK && v < sw->n_variants; v++)
        for (int64_t k = 0; rc == CLI_OK && k < cli_sweep_seeds(sw); k++, i++) {
            sweep_job_t *j = &jobs[i];
            char token[300];
            cli_sweep_dir(sw, v, k, j->dir);
            lx_export_plan_t plan;
            if (!cli_sweep_plan("submit", sw, &reqs[v], k, &plan)) {
                rc = CLI_FAILED;
                break;
            }
            /* The seed of --seeds; else --seed's, in args already. */
            cli_export_args_t a = *args;
            if (sw->seeds) {
                a.has_seed = true;
                a.seed = (uint32_t)(sw->seed_first + k);
            }
            char *config = cli_export_wire_config(&a, reqs[v].config_text, reqs[v].req.config_len);
            if (snprintf(j->out, PATH_MAX, "%s/%s", out, j->dir) >= PATH_MAX) {
                fprintf(stderr, "lattice submit: %s/%s: the path is too long\n", out, j->dir);
                rc = CLI_USAGE;
            }
            snprintf(token, sizeof token, "%.200s:%s", o->token ? o->token : "", j->dir);
            if (rc == CLI_OK)
                rc = s_submit(c, o, &reqs[v], &plan, config ? config : reqs[v].req.config, j->out,
                              NULL, o->token ? token : NULL, j->job);
            cJSON_free(config);
            j->v = v;
            j->seed = plan.cfg.has_seed ? plan.cfg.seed : reqs[v].program->seed;
            lx_hex(reqs[v].program->program_hash.bytes, 32, j->program);
            lx_hex(plan.config_hash.bytes, 32, j->config);
            j->first = plan.first, j->last = plan.last;
        }
    int64_t submitted = rc == CLI_OK ? n : i - 1;
    for (int64_t k = 0; rc == CLI_OK && o->wait && k < n; k++)
        rc = s_wait(c, jobs[k].job, jobs[k].out);
    for (int64_t k = 0; k < submitted; k++)
        s_sweep_record(sw, &jobs[k]);
    free(jobs);
    /* OUT is the coordinator's path: written here only when this machine
     * sees it (shared storage), never made here. */
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))
        fprintf(stderr, "lattice submit: note: %s is not a directory here: no index.json\n", out);
    else if (!cli_sweep_write_index("submit", sw, out, rc == CLI_OK && o->wait) && rc == CLI_OK)
        rc = CLI_USAGE;
    return rc;
}

int cmd_submit(int argc, char **argv)
{
    const char *path = NULL, *out = NULL;
    cli_export_args_t args = {0};
    cli_sweep_t sweep = {0};
    submit_opts_t o = {.output = "shared", .audit = -1};
    const char *endpoint = NULL, *shard_spec = NULL;
    long timeout = 5000;
    bool output_old = false;
    cli_key_opts_t keys = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool v = i + 1 < argc;
        int taken;
        if (cli_is_help(a)) {
            s_submit_help(stdout);
            return CLI_OK;
        } else if (s_common_opt(argc, argv, &i, &endpoint, &timeout, &keys)) {
            continue;
        } else if (strcmp(a, "--output") == 0 && v &&
                   (strcmp(argv[i + 1], "shared") == 0 || strcmp(argv[i + 1], "stream") == 0)) {
            /* The old meaning of --output, kept for scripts (a directory
             * of one of these names is -o shared). */
            o.output = argv[++i];
            output_old = true;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
                    strcmp(a, "--output-dir") == 0) &&
                   v) {
            out = argv[++i];
        } else if ((taken = cli_export_opt("submit", argc, argv, &i, &args)) != 0) {
            if (taken < 0)
                return CLI_USAGE;
        } else if (cli_sweep_opt(argc, argv, &i, &sweep)) {
            continue;
        } else if (strcmp(a, "--storage") == 0 && v) {
            o.output = argv[++i];
        } else if (strcmp(a, "--shard") == 0 && v) {
            shard_spec = argv[++i];
        } else if (strcmp(a, "--token") == 0 && v) {
            o.token = argv[++i];
        } else if (strcmp(a, "--chunk") == 0 && v) {
            if (!cli_count("submit", a, argv[++i], 1, 100000, &o.chunk))
                return CLI_USAGE;
        } else if (strcmp(a, "--progress-timeout-ms") == 0 && v) {
            if (!cli_count("submit", a, argv[++i], 10, 86400000, &o.progress))
                return CLI_USAGE;
        } else if (strcmp(a, "--audit") == 0 && v) {
            char *end;
            o.audit = strtod(argv[++i], &end);
            if (*end || !(o.audit >= 0 && o.audit <= 1)) {
                fprintf(stderr, "lattice submit: --audit takes a share from 0 to 1\n");
                return CLI_USAGE;
            }
        } else if (strcmp(a, "--wait") == 0) {
            o.wait = true;
        } else if (strcmp(a, "--replace") == 0) {
            o.replace = true;
        } else if (strcmp(a, "--force") == 0) {
            o.force = true;
        } else if (!cli_take_patch("submit", a, &path, s_submit_help)) {
            return CLI_USAGE;
        }
    }
    if (timeout < 0) {
        fprintf(stderr, "lattice submit: --timeout-ms takes 10 to 3600000\n");
        return CLI_USAGE;
    }
    if (!path) {
        fprintf(stderr, "lattice submit: which patch?\n");
        return CLI_USAGE;
    }
    if (!out) {
        fprintf(stderr, "lattice submit: -o OUT is required%s\n",
                output_old ? " ('--output shared|stream' is the old spelling of --storage; "
                             "write -o DIR for a directory of that name)"
                           : "");
        return CLI_USAGE;
    }
    if (strcmp(o.output, "shared") != 0 && strcmp(o.output, "stream") != 0) {
        fprintf(stderr, "lattice submit: --storage is 'shared' or 'stream', not '%s'\n", o.output);
        return CLI_USAGE;
    }
    if (!cli_sweep_args_ok("submit", &sweep, shard_spec, &args))
        return CLI_USAGE;
    args.patch_path = path;
    o.source = path;
    o.artifacts = args.artifacts;
    cli_export_request_t req, *reqs = NULL;
    int rc = CLI_OK;
    if (cli_sweep_on(&sweep)) {
        if (!(reqs = cli_sweep_start("submit", &sweep, &args, &rc)))
            return rc;
    } else if ((rc = cli_export_request(&args, "submit", &req)) != CLI_OK) {
        return rc;
    }
    /* A shard of the export the request plans (the coordinator plans the
     * same); the whole export is no shard. */
    cli_shard_t shard;
    if (!reqs && shard_spec &&
        (strcmp(shard_spec, "auto") == 0 ||
         !cli_shard_resolve("submit", shard_spec, req.plan.first, req.plan.last, &shard))) {
        if (strcmp(shard_spec, "auto") == 0)
            fprintf(stderr, "lattice submit: --shard takes i/N or a-b (auto is for lattice "
                            "export on a scheduler)\n");
        rc = CLI_USAGE;
    } else if (!reqs && shard_spec && shard.empty) {
        printf("shard %s of frames %" PRId64 "-%" PRId64 " has no frames: nothing to submit\n",
               shard.spec, req.plan.first, req.plan.last);
        cli_export_request_release(&req);
        return CLI_OK;
    }
    char abs_out[PATH_MAX];
    if (rc == CLI_OK && !cli_absolute(out, abs_out, sizeof abs_out))
        rc = CLI_USAGE;
    void *ctx = rc == CLI_OK ? zmq_ctx_new() : NULL;
    cli_client_t c;
    if (ctx) {
        cli_client_init(&c, ctx, cli_endpoint(endpoint));
        c.timeout_ms = timeout;
        if (!cli_client_keys(&c, &keys, "submit"))
            rc = CLI_USAGE;
        else if (reqs)
            rc = s_submit_sweep(&c, &o, &sweep, &args, reqs, abs_out);
        else {
            char job[65];
            rc = s_submit(&c, &o, &req, &req.plan,
                          req.wire_config ? req.wire_config : req.req.config, abs_out,
                          shard_spec ? &shard : NULL, o.token, job);
            if (rc == CLI_OK && o.wait)
                rc = s_wait(&c, job, abs_out);
        }
        cli_client_close(&c);
        zmq_ctx_term(ctx);
    }
    if (reqs)
        cli_sweep_requests_release(&sweep, &reqs);
    else
        cli_export_request_release(&req);
    cli_sweep_release(&sweep);
    return rc;
}

/* ---- status, watch, cancel, workers ----------------------------------- */

typedef struct {
    const char *endpoint, *job;
    long timeout;
    bool json;
    cli_key_opts_t keys;
} simple_args_t;

/* Parses [JOB] [--json] and the common options; -1 to continue, else an
 * exit code. */
static int s_simple_args(int argc, char **argv, const char *usage, const char *exits,
                         bool takes_json, simple_args_t *a)
{
    a->timeout = 5000;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("%s\n%s\n%s%s\n%s\n", usage, s_common_help, s_keys_intro, cli_key_help, exits);
            return CLI_OK;
        } else if (s_common_opt(argc, argv, &i, &a->endpoint, &a->timeout, &a->keys)) {
            continue;
        } else if (takes_json && strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (!a->job && argv[i][0] != '-') {
            a->job = argv[i];
        } else {
            fprintf(stderr, "lattice %s: unexpected '%s'\n", argv[0], argv[i]);
            return CLI_USAGE;
        }
    }
    if (a->timeout < 0) {
        fprintf(stderr, "lattice %s: --timeout-ms takes 10 to 3600000\n", argv[0]);
        return CLI_USAGE;
    }
    return -1;
}

/* One request, its reply printed by `print`. */
static int s_simple_call(const simple_args_t *a, const lx_msg_t *req, lx_msg_type_t want,
                         void (*print)(const lx_msg_t *rep, bool json), const char *cmd)
{
    void *ctx = zmq_ctx_new();
    cli_client_t c;
    cli_client_init(&c, ctx, cli_endpoint(a->endpoint));
    c.timeout_ms = a->timeout;
    lx_msg_t rep;
    lx_error_t err = {0};
    int rc = CLI_OK;
    if (!cli_client_keys(&c, &a->keys, cmd)) {
        rc = CLI_USAGE;
    } else if (cli_client_call(&c, req, &rep, &err) != LX_OK) {
        fprintf(stderr, "lattice %s: %s\n", cmd, err.message);
        rc = CLI_USAGE;
    } else if (rep.type == LX_MSG_ERROR) {
        fprintf(stderr, "lattice %s: %s\n", cmd, rep.message);
        rc = CLI_FAILED;
    } else if (rep.type != want) {
        fprintf(stderr, "lattice %s: unexpected %s\n", cmd, lx_msg_type_name(rep.type));
        rc = CLI_USAGE;
    } else {
        print(&rep, a->json);
    }
    cli_client_close(&c);
    zmq_ctx_term(ctx);
    return rc;
}

static void s_print_jobs(const lx_msg_t *rep, bool json) { cli_print_jobs(&rep->jobs, json); }

int cmd_status(int argc, char **argv)
{
    simple_args_t a = {0};
    int rc = s_simple_args(argc, argv,
                           "usage: lattice status [JOB] [--json] [-c E]\n\n"
                           "Shows every job of the coordinator, or one.\n\n"
                           "  --json               print a JSON array of jobs (one element\n"
                           "                       with JOB): job, state, frames, total, done,\n"
                           "                       failed, workers, out, error, ...\n",
                           "Exit status: 0 success, 1 the coordinator refused (an unknown\n"
                           "job), 2 usage or the coordinator did not answer.",
                           true, &a);
    if (rc >= 0)
        return rc;
    lx_msg_t req = {.type = LX_MSG_STATUS};
    if (a.job)
        LX_MSG_SET(&req, job, a.job);
    return s_simple_call(&a, &req, LX_MSG_JOBS, s_print_jobs, "status");
}

int cmd_cancel(int argc, char **argv)
{
    simple_args_t a = {0};
    int rc = s_simple_args(argc, argv,
                           "usage: lattice cancel JOB [-c E]\n\n"
                           "Cancels a job: its workers are told to stop; finished frames stay.\n",
                           "Exit status: 0 cancelled, 1 the coordinator refused (an unknown\n"
                           "job), 2 usage or the coordinator did not answer.",
                           false, &a);
    if (rc >= 0)
        return rc;
    if (!a.job) {
        fprintf(stderr, "lattice cancel: which job?\n");
        return CLI_USAGE;
    }
    lx_msg_t req = {.type = LX_MSG_CANCEL_JOB};
    LX_MSG_SET(&req, job, a.job);
    return s_simple_call(&a, &req, LX_MSG_JOBS, s_print_jobs, "cancel");
}

int cmd_watch(int argc, char **argv)
{
    simple_args_t a = {0};
    int rc = s_simple_args(argc, argv,
                           "usage: lattice watch JOB [-c E]\n\n"
                           "Shows a job's progress until it ends.\n",
                           "Exit status: 0 done, 1 failed, cancelled or unknown, 2 usage, the\n"
                           "export's storage failed or the coordinator did not answer.",
                           false, &a);
    if (rc >= 0)
        return rc;
    if (!a.job) {
        fprintf(stderr, "lattice watch: which job?\n");
        return CLI_USAGE;
    }
    void *ctx = zmq_ctx_new();
    cli_client_t c;
    cli_client_init(&c, ctx, cli_endpoint(a.endpoint));
    c.timeout_ms = a.timeout;
    rc = cli_client_keys(&c, &a.keys, "watch") ? cli_watch_job(&c, a.job, false) : CLI_USAGE;
    if (rc == CLI_OK)
        printf("job %s done\n", a.job);
    cli_client_close(&c);
    zmq_ctx_term(ctx);
    return rc;
}

static void s_print_workers(const lx_msg_t *rep, bool json)
{
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (uint32_t i = 0; i < rep->workers.n; i++) {
            const lx_worker_rec_t *w = &rep->workers.v[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", w->name);
            cJSON_AddStringToObject(o, "state", w->state);
            cJSON_AddStringToObject(o, "build", w->build ? w->build : "");
            cJSON_AddNumberToObject(o, "threads", (double)w->threads);
            cJSON_AddNumberToObject(o, "frames", (double)w->frames);
            cJSON_AddStringToObject(o, "job", w->job ? w->job : "");
            cJSON_AddNumberToObject(o, "attempt", (double)w->attempt);
            cJSON_AddNumberToObject(o, "seenMs", w->seen_ms);
            cJSON_AddStringToObject(o, "blocked", w->blocked ? w->blocked : "");
            cJSON_AddItemToArray(arr, o);
        }
        cli_print_json(&arr);
        return;
    }
    printf("%-24s %-9s %7s %8s %-14s %8s  %s\n", "NAME", "STATE", "THREADS", "FRAMES", "JOB",
           "SEEN_MS", "BUILD");
    for (uint32_t i = 0; i < rep->workers.n; i++) {
        const lx_worker_rec_t *w = &rep->workers.v[i];
        printf("%-24s %-9s %7" PRIu64 " %8" PRIu64 " %-14s %8.0f  %s%s%s\n", w->name, w->state,
               w->threads, w->frames, w->job ? w->job : "-", w->seen_ms, w->build ? w->build : "",
               w->blocked ? "  blocked for: " : "", w->blocked ? w->blocked : "");
    }
}

int cmd_workers(int argc, char **argv)
{
    simple_args_t a = {0};
    int rc = s_simple_args(argc, argv,
                           "usage: lattice workers [--json] [-c E]\n\n"
                           "Lists the workers connected to the coordinator.\n\n"
                           "  --json               print a JSON array of workers\n",
                           "Exit status: 0 success, 1 the coordinator refused, 2 usage or the\n"
                           "coordinator did not answer.",
                           true, &a);
    if (rc >= 0)
        return rc;
    if (a.job) {
        fprintf(stderr, "lattice workers: unexpected '%s'\n", a.job);
        return CLI_USAGE;
    }
    lx_msg_t req = {.type = LX_MSG_WORKERS};
    return s_simple_call(&a, &req, LX_MSG_WORKER_LIST, s_print_workers, "workers");
}
