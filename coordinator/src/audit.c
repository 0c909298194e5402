/* Audits and quarantine (see audit.h). */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "attempts.h"
#include "lattice/digest.h"

void co_audit_signature(const lx_msg_t *m, uint8_t sig[16])
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    for (uint32_t k = 0; k < m->files.n; k++)
        lx_strbuf_addf(&sb, "%s:%s:%s\n", m->files.v[k].key, m->files.v[k].hash,
                       m->files.v[k].content);
    /* What the manifest takes from a result besides its files: its time
     * and camera, bit for bit (%a). */
    lx_strbuf_addf(&sb, "t:%a\n", m->t_ms);
    for (uint32_t k = 0; k < m->camera.n; k++)
        lx_strbuf_addf(&sb, "c:%a\n", m->camera.v[k]);
    lx_xxh128(sb.buf, sb.len, sig);
    lx_strbuf_release(&sb);
}

static bool s_selected(const co_job_t *j, const co_attempt_t *a, int64_t f)
{
    if (j->audit_rate < 0)
        return false;
    if (f == a->first || f == a->last)
        return true;
    char key[96];
    int n = snprintf(key, sizeof key, "%s:%" PRId64, j->id, f);
    uint8_t h[16];
    lx_xxh128(key, (size_t)n, h);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (double)(v >> 11) / 9007199254740992.0 < j->audit_rate;
}

void co_audit_on_result(const co_state_t *s, co_job_t *j, const co_attempt_t *a, int64_t f,
                        const co_session_t *w, const lx_msg_t *m, co_tx_t *tx)
{
    if (!j->audits)
        return;
    co_audit_t rec = {.who = {w->who, 0, 0}, .build = w->build_id, .state = CO_A_NONE};
    co_audit_signature(m, rec.sig[0]);
    if (s_selected(j, a, f))
        rec.state = CO_A_WANTED;
    co_tx_audit(tx, s, j, f, &rec, 0, 0);
}

bool co_audit_open_for(const co_job_t *j, int64_t i, const co_session_t *w)
{
    const co_audit_t *r = &j->audits[i];
    if (r->build != w->build_id || r->who[0] == w->who)
        return false;
    return r->state == CO_A_WANTED || (r->state == CO_A_DISPUTED && r->who[1] != w->who);
}

bool co_audit_assign(const co_state_t *s, const co_session_t *w, co_job_t *j, double now,
                     co_tx_t *tx)
{
    if (!j->audits || !j->audits_open || j->state > CO_J_RUNNING || j->finisher)
        return false;
    int64_t i = 0;
    while (i < j->n && !co_audit_open_for(j, i, w))
        i++;
    if (i == j->n)
        return false;
    co_audit_t rec = j->audits[i];
    bool third = rec.state == CO_A_DISPUTED;
    rec.state = third ? CO_A_THIRD : CO_A_RUNNING;
    rec.who[third ? 2 : 1] = w->who;
    co_attempt_start(s, j, w, j->first + i, j->first + i, true, now, tx);
    co_tx_audit(tx, s, j, j->first + i, &rec, 0, 0);
    return true;
}

/* An audit caught `liar` (the odd one out of 2 of 3): it gets no more
 * work, its attempts are cancelled, and every frame it rendered that no
 * audit confirmed is rendered again by others. Attempt `except` (the
 * audit that settled it) has ended already. */
static void s_quarantine(const co_state_t *s, co_ident_t liar, int64_t frame, uint64_t except,
                         double now, co_tx_t *tx)
{
    const char *name = co_state_label(s, liar);
    if (!co_state_quarantined(s, liar)) {
        co_change_t *c = co_tx_change(tx, CO_CH_QUARANTINE, NULL);
        c->worker = co_state_name(s, liar);
        c->frame = frame;
        co_tx_log(tx, LX_LOG_ERROR, "event=worker_quarantined worker=%s frame=%" PRId64, name,
                  frame);
    }
    /* Its audits in flight are reopened with its frames below. */
    for (size_t k = 0; k < s->n_attempts; k++)
        if (s->attempts[k].who == liar && s->attempts[k].id != except)
            co_attempt_stop(s, &s->attempts[k], "cancelled", "quarantined", 0, true, now, tx);
    for (size_t k = 0; k < s->n_jobs; k++) {
        co_job_t *j = s->jobs[k];
        /* A finishing job is as good as done: its export is being written
         * from these results (finisher.h). */
        if (!j->audits || j->state > CO_J_RUNNING || j->finisher)
            continue;
        uint64_t redo = 0;
        for (int64_t i = 0; i < j->n; i++) {
            co_audit_t rec = j->audits[i];
            if (j->frames[i].state == CO_F_DONE && rec.who[0] == liar && rec.state != CO_A_DONE) {
                /* Its audit in flight asks about a result that is gone. */
                for (size_t a = 0; a < s->n_attempts; a++)
                    if (s->attempts[a].audit && s->attempts[a].job == j &&
                        s->attempts[a].first == j->first + i && s->attempts[a].id != except &&
                        s->attempts[a].who != liar)
                        co_attempt_stop(s, &s->attempts[a], "cancelled", "result_withdrawn", 0,
                                        true, now, tx);
                co_change_t *c = co_tx_change(tx, CO_CH_FRAME_REOPEN, j);
                c->frame = j->first + i;
                c->u.frame_reopen.for_audit = true;
                redo++;
            } else if (rec.state == CO_A_RUNNING && rec.who[1] == liar) {
                rec.state = CO_A_WANTED;
                rec.who[1] = 0;
                co_tx_audit(tx, s, j, j->first + i, &rec, 0, 0);
            } else if (rec.state == CO_A_THIRD && rec.who[2] == liar) {
                rec.state = CO_A_DISPUTED;
                rec.who[2] = 0;
                co_tx_audit(tx, s, j, j->first + i, &rec, 0, 0);
            }
        }
        if (redo)
            co_tx_log(tx, LX_LOG_WARN, "event=audit_rerender job=%s frames=%" PRIu64 " worker=%s",
                      j->id, redo, name);
    }
}

void co_audit_on_frame(const co_state_t *s, co_job_t *j, const co_attempt_t *a, const lx_msg_t *m,
                       double now, co_tx_t *tx)
{
    int64_t f = a->first;
    co_audit_t rec = j->audits[f - j->first];
    uint8_t sig[16];
    co_audit_signature(m, sig);
    co_attempt_end(s, a, "done", "audit", 0, true, now, tx);
    if (rec.state == CO_A_RUNNING) {
        if (memcmp(sig, rec.sig[0], 16) == 0) {
            rec.state = CO_A_DONE;
            co_tx_audit(tx, s, j, f, &rec, 1, 0);
            return;
        }
        memcpy(rec.sig[1], sig, 16);
        rec.state = CO_A_DISPUTED;
        co_tx_audit(tx, s, j, f, &rec, 0, 1);
        co_tx_log(tx, LX_LOG_WARN, "event=audit_disagreement job=%s frame=%" PRId64, j->id, f);
        return;
    }
    if (rec.state != CO_A_THIRD)
        return; /* called off meanwhile (its primary was quarantined) */
    memcpy(rec.sig[2], sig, 16);
    bool primary_ok = memcmp(sig, rec.sig[0], 16) == 0;
    bool auditor_ok = memcmp(sig, rec.sig[1], 16) == 0;
    if (!primary_ok && !auditor_ok) {
        /* Nothing confirms the kept result: the frame stays under audit
         * (a rerender of the failed job asks again), never settled. */
        rec.state = CO_A_WANTED;
        rec.who[1] = rec.who[2] = 0;
        memset(rec.sig[1], 0, sizeof rec.sig[1] * 2);
        co_tx_audit(tx, s, j, f, &rec, 0, 0);
        co_tx_log(tx, LX_LOG_ERROR, "event=audit_no_majority job=%s frame=%" PRId64, j->id, f);
        co_job_fail(s, j, "an audit found three different results for one frame", a->id, now, tx);
        return;
    }
    /* The kept result is confirmed; a wrong one stays open, and the
     * quarantine of the worker that rendered it queues it again. */
    if (primary_ok)
        rec.state = CO_A_DONE;
    co_tx_audit(tx, s, j, f, &rec, primary_ok ? 1 : 0, 0);
    co_tx_log(tx, LX_LOG_WARN, "event=audit_settled job=%s frame=%" PRId64 " kept=%s", j->id, f,
              primary_ok ? "primary" : "majority");
    s_quarantine(s, primary_ok ? rec.who[1] : rec.who[0], f, a->id, now, tx);
}
