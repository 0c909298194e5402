/* The coordinator's metrics (see metrics.h). */
#include "metrics.h"

#include <inttypes.h>

/* Journal commits: from a tenth of a millisecond (an in-memory journal)
 * to seconds (a disk that stalls). */
static const double s_bounds[CO_COMMIT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                   0.005,  0.01,    0.05,   0.25,  1.0};

static const char *const s_reject_names[CO_REJ_COUNT] = {
    "bad_message", "bad_envelope", "unexpected", "forbidden", "hello_first", "auth_refused"};
static const char *const s_result_names[CO_RES_COUNT] = {"accepted", "late", "rejected", "other"};

void co_metrics_commit(co_metrics_t *m, double ms)
{
    double s = ms / 1e3;
    int b = 0;
    while (b < CO_COMMIT_BUCKETS && s > s_bounds[b])
        b++;
    m->commit_bucket[b]++;
    m->commits++;
    m->commit_seconds += s;
}

static void s_head(lx_strbuf_t *out, const char *name, const char *type, const char *help)
{
    lx_strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void co_metrics_render(const co_metrics_t *m, const co_state_t *s, lx_strbuf_t *out)
{
    s_head(out, "lattice_jobs", "gauge", "Jobs by state.");
    for (int st = 0; st <= CO_J_CANCELLED; st++) {
        uint64_t n = 0;
        for (size_t k = 0; k < s->n_jobs; k++)
            n += s->jobs[k]->state == (co_job_state_t)st;
        lx_strbuf_addf(out, "lattice_jobs{state=\"%s\"} %" PRIu64 "\n", co_job_state_names[st], n);
    }
    s_head(out, "lattice_job_frames", "gauge",
           "Frames of each job not finished, by state: done, failed, in flight (running) and "
           "queued (pending).");
    for (size_t k = 0; k < s->n_jobs; k++) {
        const co_job_t *j = s->jobs[k];
        if (j->state > CO_J_RUNNING)
            continue; /* finished jobs are counted in lattice_frames_total */
        int64_t pending = co_job_pending(j);
        lx_strbuf_addf(out,
                       "lattice_job_frames{job=\"%s\",state=\"done\"} %" PRIu64 "\n"
                       "lattice_job_frames{job=\"%s\",state=\"failed\"} %" PRIu64 "\n"
                       "lattice_job_frames{job=\"%s\",state=\"running\"} %" PRIu64 "\n"
                       "lattice_job_frames{job=\"%s\",state=\"pending\"} %" PRId64 "\n",
                       j->id, j->done, j->id, j->failed, j->id, j->running, j->id,
                       pending > 0 ? pending : 0);
    }
    uint64_t done = 0, failed = 0, running = 0;
    for (size_t k = 0; k < s->n_jobs; k++) {
        done += s->jobs[k]->done;
        failed += s->jobs[k]->failed;
        running += s->jobs[k]->running;
    }
    s_head(out, "lattice_frames", "gauge", "Frames of every job the coordinator knows, by state.");
    lx_strbuf_addf(out,
                   "lattice_frames{state=\"done\"} %" PRIu64 "\n"
                   "lattice_frames{state=\"failed\"} %" PRIu64 "\n"
                   "lattice_frames{state=\"running\"} %" PRIu64 "\n",
                   done, failed, running);
    /* A worker is busy while it holds an attempt; a quarantined one gets
     * no work whatever it holds. */
    uint64_t busy = 0, idle = 0, quarantined = 0;
    for (size_t k = 0; k < s->n_sessions; k++) {
        const co_session_t *w = &s->sessions[k];
        bool holds = false;
        for (size_t a = 0; a < s->n_attempts && !holds; a++)
            holds = s->attempts[a].session == w->serial;
        if (co_state_quarantined(s, w->who))
            quarantined++;
        else if (holds)
            busy++;
        else
            idle++;
    }
    s_head(out, "lattice_workers", "gauge", "Connected worker sessions by state.");
    lx_strbuf_addf(out,
                   "lattice_workers{state=\"busy\"} %" PRIu64 "\n"
                   "lattice_workers{state=\"idle\"} %" PRIu64 "\n"
                   "lattice_workers{state=\"quarantined\"} %" PRIu64 "\n",
                   busy, idle, quarantined);
    s_head(out, "lattice_results_total", "counter", "FRAME results received, by outcome.");
    for (int r = 0; r < CO_RES_COUNT; r++)
        lx_strbuf_addf(out, "lattice_results_total{outcome=\"%s\"} %" PRIu64 "\n",
                       s_result_names[r], m->results[r]);
    s_head(out, "lattice_messages_rejected_total", "counter",
           "Messages and handshakes refused before a decision, by reason.");
    for (int r = 0; r < CO_REJ_COUNT; r++)
        lx_strbuf_addf(out, "lattice_messages_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
                       s_reject_names[r], m->rejected[r]);
    s_head(out, "lattice_journal_commit_seconds", "histogram",
           "Time to write one transition to the journal.");
    uint64_t cumulative = 0;
    for (int b = 0; b < CO_COMMIT_BUCKETS; b++) {
        cumulative += m->commit_bucket[b];
        lx_strbuf_addf(out, "lattice_journal_commit_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                       s_bounds[b], cumulative);
    }
    lx_strbuf_addf(out,
                   "lattice_journal_commit_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                   "lattice_journal_commit_seconds_sum %.9f\n"
                   "lattice_journal_commit_seconds_count %" PRIu64 "\n",
                   m->commits, m->commit_seconds, m->commits);
}
