/* The IR as readable JSON (`lattice compile`), for inspection and golden
 * tests. Deterministic: no timestamps, tables in index order. */
#include <cJSON.h>

#include "lattice/ir.h"

static cJSON *s_index(uint32_t v)
{
    return v == LX_NONE ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static cJSON *s_slots(const lx_program_t *p, uint32_t off, uint32_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (uint32_t i = 0; i < n; i++) {
        uint16_t s = p->args[off + i];
        cJSON_AddItemToArray(a, s == LX_SLOT_NONE ? cJSON_CreateNull() : cJSON_CreateNumber(s));
    }
    return a;
}

static cJSON *s_time_model(const lx_time_model_t *tm)
{
    static const char *const kinds[] = {"finite", "cyclic", "infinite"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kinds[tm->kind]);
    if (tm->kind == LX_TIME_FINITE)
        cJSON_AddNumberToObject(o, "durationMs", tm->duration_ms);
    else
        cJSON_AddNumberToObject(o, "periodMs", tm->period_ms);
    if (tm->kind == LX_TIME_CYCLIC)
        cJSON_AddStringToObject(o, "mode", tm->mode == LX_CYCLE_PINGPONG ? "pingpong" : "loop");
    return o;
}

static cJSON *s_floats(const float *v, size_t n, size_t stride)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i * stride]));
    return a;
}

/* null without audio; the per-hop arrays as numbers (each a float32). */
static cJSON *s_audio(const lx_audio_track_t *a)
{
    if (!a)
        return cJSON_CreateNull();
    char hex[65];
    lx_hex(a->sha256, sizeof a->sha256, hex);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sha256", hex);
    cJSON_AddNumberToObject(o, "sampleRate", a->sample_rate);
    cJSON_AddNumberToObject(o, "frames", (double)a->n_frames);
    cJSON_AddNumberToObject(o, "hopMs", a->hop_ms);
    cJSON_AddNumberToObject(o, "hops", a->n_hops);
    cJSON_AddNumberToObject(o, "bands", a->n_bands);
    cJSON_AddNumberToObject(o, "bpm", a->bpm);
    cJSON_AddNumberToObject(o, "beatOffsetMs", a->beat_offset_ms);
    cJSON_AddItemToObject(o, "rms", s_floats(a->rms, a->n_hops, 1));
    cJSON *bands = cJSON_AddArrayToObject(o, "bandLevels");
    for (uint32_t h = 0; h < a->n_hops; h++)
        cJSON_AddItemToArray(bands, s_floats(a->bands + (size_t)h * a->n_bands, a->n_bands, 1));
    cJSON_AddItemToObject(o, "onset", s_floats(a->onset, a->n_hops, 1));
    return o;
}

lx_result_t lx_ir_to_json(const lx_program_t *p, lx_strbuf_t *out)
{
    static const char *const step_names[] = {"init", "eval", "read", "write"};
    char hex[65];
    lx_hex(p->program_hash.bytes, 32, hex);
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return LX_E_NOMEM;
    cJSON_AddNumberToObject(root, "irVersion", p->ir_version);
    cJSON_AddStringToObject(root, "patchId", p->patch_id);
    cJSON_AddStringToObject(root, "patchName", p->patch_name);
    cJSON_AddNumberToObject(root, "seed", p->seed);
    cJSON_AddStringToObject(root, "programHash", hex);
    cJSON *o = cJSON_AddObjectToObject(root, "output");
    cJSON_AddNumberToObject(o, "width", p->output.width);
    cJSON_AddNumberToObject(o, "height", p->output.height);
    cJSON_AddNumberToObject(o, "fps", p->output.fps);
    cJSON_AddItemToObject(o, "background", cJSON_CreateDoubleArray(p->output.background, 4));
    cJSON_AddItemToObject(root, "timeModel", s_time_model(&p->time_model));
    if (p->state_horizon == LX_HORIZON_UNBOUNDED)
        cJSON_AddStringToObject(root, "stateHorizon", "unbounded");
    else
        cJSON_AddNumberToObject(root, "stateHorizon", p->state_horizon);
    cJSON *strings = cJSON_AddArrayToObject(root, "strings");
    for (uint32_t i = 0; i < p->n_strings; i++)
        cJSON_AddItemToArray(strings, cJSON_CreateString(p->strings[i]));
    cJSON *insts = cJSON_AddArrayToObject(root, "instances");
    for (uint32_t i = 0; i < p->n_instances; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "kind",
                                p->instances[i].kind == LX_INST_PARTICLES ? "particles" : "array");
        cJSON_AddNumberToObject(x, "count", p->instances[i].count);
        cJSON_AddNumberToObject(x, "expr", p->instances[i].expr);
        cJSON_AddItemToArray(insts, x);
    }
    cJSON *slots = cJSON_AddArrayToObject(root, "slots");
    for (uint32_t i = 0; i < p->n_slots; i++) {
        const lx_slot_meta_t *m = &p->slots[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "domain", lx_domain_name((lx_domain_t)m->domain));
        cJSON_AddStringToObject(x, "world", lx_world_name((lx_world_t)m->world));
        cJSON_AddNumberToObject(x, "stride", m->stride);
        if (m->instance != LX_NONE)
            cJSON_AddNumberToObject(x, "instance", m->instance);
        cJSON_AddItemToArray(slots, x);
    }
    cJSON *exprs = cJSON_AddArrayToObject(root, "exprs");
    for (uint32_t i = 0; i < p->n_exprs; i++) {
        const lx_expr_t *e = &p->exprs[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "id", i);
        cJSON_AddStringToObject(x, "block", p->blocks[e->block].id);
        cJSON_AddStringToObject(x, "op", lx_op_name((lx_op_t)e->op));
        cJSON_AddStringToObject(x, "world", lx_world_name((lx_world_t)e->world));
        if (e->domain != LX_D_NONE)
            cJSON_AddStringToObject(x, "domain", lx_domain_name((lx_domain_t)e->domain));
        cJSON_AddItemToObject(x, "in", s_slots(p, e->in_off, e->n_in));
        cJSON_AddItemToObject(x, "out", s_slots(p, e->out_off, e->n_out));
        if (e->n_param)
            cJSON_AddItemToObject(x, "params",
                                  cJSON_CreateDoubleArray(p->constants + e->param_off,
                                                          (int)e->n_param));
        if (e->instance != LX_NONE)
            cJSON_AddNumberToObject(x, "instance", e->instance);
        if (e->state != LX_NONE)
            cJSON_AddNumberToObject(x, "state", e->state);
        cJSON_AddItemToArray(exprs, x);
    }
    cJSON *state = cJSON_AddArrayToObject(root, "state");
    for (uint32_t i = 0; i < p->n_state; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "expr", p->state[i].expr);
        cJSON_AddNumberToObject(x, "size", p->state[i].size);
        uint16_t s = p->state[i].init_slot;
        cJSON_AddItemToObject(x, "initSlot", s == LX_SLOT_NONE ? cJSON_CreateNull()
                                                               : cJSON_CreateNumber(s));
        cJSON_AddItemToArray(state, x);
    }
    cJSON *sinks = cJSON_AddArrayToObject(root, "sinks");
    for (uint32_t i = 0; i < p->n_sinks; i++) {
        const lx_render_sink_t *s = &p->sinks[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "expr", s->expr);
        cJSON_AddStringToObject(x, "layer", p->strings[s->layer]);
        cJSON_AddStringToObject(x, "semantic", p->strings[s->semantic]);
        cJSON_AddItemToObject(x, "instance", s_index(s->instance));
        cJSON_AddNumberToObject(x, "idBase", s->id_base);
        cJSON_AddItemToArray(sinks, x);
    }
    cJSON_AddNumberToObject(root, "camera", p->camera_expr);
    cJSON_AddNumberToObject(root, "timeRoot", p->time_expr);
    cJSON *sched = cJSON_AddObjectToObject(root, "schedule");
    cJSON *init = cJSON_AddArrayToObject(sched, "init");
    cJSON *frame = cJSON_AddArrayToObject(sched, "frame");
    for (uint32_t i = 0; i < p->n_steps; i++) {
        const lx_step_t *s = &p->steps[i];
        if (i < p->n_init_steps) {
            cJSON_AddItemToArray(init, cJSON_CreateNumber(s->expr));
            continue;
        }
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "step", s->kind <= LX_STEP_WRITE ? step_names[s->kind] : "?");
        cJSON_AddNumberToObject(x, "expr", s->expr);
        cJSON_AddItemToArray(frame, x);
    }
    cJSON_AddItemToObject(root, "audio", s_audio(p->audio));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return LX_E_NOMEM;
    lx_strbuf_adds(out, text);
    lx_strbuf_adds(out, "\n");
    cJSON_free(text);
    return out->failed ? LX_E_NOMEM : LX_OK;
}
