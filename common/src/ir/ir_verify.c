/* lx_ir_verify: the gate every program passes before it runs, whether it
 * came from the compiler or from the network. It trusts nothing: every
 * index is bounds-checked before it is used. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "lattice/ir.h"
#include "lattice/registry.h"
#include "lattice/strmap.h"

#define FAIL(...) return lx_fail(err, LX_E_VERIFY, __VA_ARGS__)

static bool s_range(uint32_t off, uint32_t n, uint32_t total)
{
    return off <= total && n <= total - off;
}

static lx_domain_t s_port_domain(const lx_port_def_t *pd, const lx_expr_t *e)
{
    return pd->domain == LX_D_GENERIC ? (lx_domain_t)e->domain : pd->domain;
}

/* Expected parameter doubles for e, or UINT32_MAX when the pool is malformed. */
static uint32_t s_expected_params(const lx_program_t *p, const lx_expr_t *e,
                                  const lx_block_def_t *def, lx_error_t *err)
{
    unsigned stride = lx_domain_stride((lx_domain_t)e->domain);
    uint32_t n = def->op == LX_OP_CONST ? stride : 0;
    const double *c = p->constants + e->param_off;
    for (uint32_t i = 0; i < def->n_params; i++) {
        const lx_param_def_t *pd = &def->params[i];
        if (n >= e->n_param && pd->kind != LX_P_VALUE)
            return UINT32_MAX;
        switch (pd->kind) {
        case LX_P_NUMBER:
        case LX_P_INT:
        case LX_P_BOOL:
            if (!isfinite(c[n]))
                return UINT32_MAX;
            n += 1;
            break;
        case LX_P_ENUM: {
            uint32_t k = 0;
            while (pd->options[k])
                k++;
            if (!(c[n] >= 0 && c[n] < k && c[n] == floor(c[n])))
                return UINT32_MAX;
            n += 1;
            break;
        }
        case LX_P_NAME:
            if (!(c[n] >= 0 && c[n] < p->n_strings && c[n] == floor(c[n])))
                return UINT32_MAX;
            n += 1;
            break;
        case LX_P_VALUE:
            if (def->op != LX_OP_CONST)
                n += stride;
            break;
        case LX_P_KEYS:
        case LX_P_POINTS: {
            double cnt = c[n];
            uint32_t rec = pd->kind == LX_P_KEYS ? 11 : 6;
            if (!(cnt >= 1 && cnt <= 100000 && cnt == floor(cnt)))
                return UINT32_MAX;
            n += 1 + (uint32_t)cnt * rec;
            break;
        }
        }
    }
    (void)err;
    return n;
}

static lx_result_t s_verify_expr(const lx_program_t *p, uint32_t i, lx_error_t *err)
{
    const lx_expr_t *e = &p->exprs[i];
    const lx_block_def_t *def = lx_registry_by_op(e->op);
    if (!def)
        FAIL("expr %u: unknown op %u", i, e->op);
    if (e->world > LX_W_EVENT || e->domain >= LX_D__COUNT || e->domain == LX_D_GENERIC)
        FAIL("expr %u (%s): bad world or domain", i, def->name);
    if (e->block >= p->n_blocks)
        FAIL("expr %u (%s): block %u out of range", i, def->name, e->block);
    if (e->instance != LX_NONE && e->instance >= p->n_instances)
        FAIL("expr %u (%s): instance %u out of range", i, def->name, e->instance);
    if (e->state != LX_NONE && (e->state >= p->n_state || p->state[e->state].expr != i))
        FAIL("expr %u (%s): state cell %u does not belong to it", i, def->name, e->state);
    if (!s_range(e->in_off, e->n_in, p->n_args) || !s_range(e->out_off, e->n_out, p->n_args) ||
        !s_range(e->param_off, e->n_param, p->n_constants))
        FAIL("expr %u (%s): argument or parameter range out of bounds", i, def->name);
    bool generic = false;
    for (uint32_t k = 0; k < def->n_inputs; k++)
        generic |= def->inputs[k].domain == LX_D_GENERIC;
    for (uint32_t k = 0; k < def->n_outputs; k++)
        generic |= def->outputs[k].domain == LX_D_GENERIC;
    if (generic && lx_domain_stride((lx_domain_t)e->domain) == 0)
        FAIL("expr %u (%s): generic type unresolved", i, def->name);
    if (def->flags & LX_BF_VARIADIC) {
        if (e->n_in > 65536)
            FAIL("expr %u (%s): too many inputs", i, def->name);
    } else if (e->n_in != def->n_inputs) {
        FAIL("expr %u (%s): %u inputs, expected %u", i, def->name, e->n_in, def->n_inputs);
    }
    if (e->n_out != def->n_outputs)
        FAIL("expr %u (%s): %u outputs, expected %u", i, def->name, e->n_out, def->n_outputs);
    for (uint32_t k = 0; k < e->n_in; k++) {
        const lx_port_def_t *pd = (def->flags & LX_BF_VARIADIC) ? &def->inputs[0] : &def->inputs[k];
        uint16_t s = p->args[e->in_off + k];
        if (pd->domain == LX_D_DOMAIN) {
            if (s != LX_SLOT_NONE)
                FAIL("expr %u (%s): domain input '%s' has a slot", i, def->name, pd->name);
            if (e->instance == LX_NONE && !(pd->flags & LX_PORT_OPTIONAL))
                FAIL("expr %u (%s): no instance for input '%s'", i, def->name, pd->name);
            continue;
        }
        if (s == LX_SLOT_NONE) {
            if (pd->flags & LX_PORT_OPTIONAL)
                continue;
            FAIL("expr %u (%s): input '%s' unconnected", i, def->name, pd->name);
        }
        if (s >= p->n_slots)
            FAIL("expr %u (%s): input slot %u out of range", i, def->name, s);
        const lx_slot_meta_t *m = &p->slots[s];
        lx_domain_t want = s_port_domain(pd, e);
        if (!lx_domain_converts((lx_domain_t)m->domain, want))
            FAIL("expr %u (%s): input '%s' is %s, expected %s", i, def->name, pd->name,
                 lx_domain_name((lx_domain_t)m->domain), lx_domain_name(want));
        if (m->world == LX_W_FIELD && m->instance != e->instance)
            FAIL("expr %u (%s): field input '%s' over another instance", i, def->name, pd->name);
        if (m->world == LX_W_FIELD && !(pd->worlds & LX_WM_FIELD))
            FAIL("expr %u (%s): input '%s' cannot take a field", i, def->name, pd->name);
    }
    for (uint32_t k = 0; k < e->n_out; k++) {
        uint16_t s = p->args[e->out_off + k];
        const lx_port_def_t *pd = &def->outputs[k];
        if (s == LX_SLOT_NONE)
            continue;
        if (s >= p->n_slots)
            FAIL("expr %u (%s): output slot %u out of range", i, def->name, s);
        if (p->slots[s].domain != s_port_domain(pd, e))
            FAIL("expr %u (%s): output '%s' slot has domain %s", i, def->name, pd->name,
                 lx_domain_name((lx_domain_t)p->slots[s].domain));
        if (p->slots[s].world == LX_W_FIELD && p->slots[s].instance != e->instance)
            FAIL("expr %u (%s): output '%s' over another instance", i, def->name, pd->name);
    }
    uint32_t want = s_expected_params(p, e, def, err);
    if (want != e->n_param)
        FAIL("expr %u (%s): %u parameter values, expected %u", i, def->name, e->n_param, want);
    bool stateful = (def->flags & (LX_BF_STATE | LX_BF_HISTORY)) != 0;
    if (stateful != (e->state != LX_NONE))
        FAIL("expr %u (%s): state cell %s", i, def->name, stateful ? "missing" : "unexpected");
    return LX_OK;
}

static lx_result_t s_verify_tables(const lx_program_t *p, lx_error_t *err)
{
    if (p->ir_version != LX_IR_VERSION)
        FAIL("ir version %u, expected %u", p->ir_version, LX_IR_VERSION);
    if (!p->patch_id || !p->patch_name)
        FAIL("missing patch identity");
    if (p->output.width < 2 || p->output.width > 16384 || p->output.height < 2 ||
        p->output.height > 16384 || (p->output.width | p->output.height) & 1)
        FAIL("output size %ux%u out of range", p->output.width, p->output.height);
    if (!(p->output.fps > 0 && p->output.fps <= 1000))
        FAIL("output fps out of range");
    for (int k = 0; k < 4; k++)
        if (!isfinite(p->output.background[k]))
            FAIL("output background not finite");
    const lx_time_model_t *tm = &p->time_model;
    if (tm->kind > LX_TIME_INFINITE || tm->mode > LX_CYCLE_PINGPONG)
        FAIL("bad time model");
    double len = tm->kind == LX_TIME_FINITE ? tm->duration_ms : tm->period_ms;
    if (!(len > 0 && len <= 1e12))
        FAIL("time model length out of range");
#define NEED(ptr, n) if ((n) && !(ptr)) FAIL("table " #ptr " missing")
    NEED(p->blocks, p->n_blocks);
    NEED(p->strings, p->n_strings);
    NEED(p->constants, p->n_constants);
    NEED(p->args, p->n_args);
    NEED(p->exprs, p->n_exprs);
    NEED(p->slots, p->n_slots);
    NEED(p->state, p->n_state);
    NEED(p->instances, p->n_instances);
    NEED(p->sinks, p->n_sinks);
    NEED(p->steps, p->n_steps);
#undef NEED
    if (p->n_blocks != p->n_exprs)
        FAIL("%u blocks for %u exprs", p->n_blocks, p->n_exprs);
    if (p->n_slots > LX_MAX_SLOTS)
        FAIL("%u slots exceed %u", p->n_slots, LX_MAX_SLOTS);
    for (uint32_t i = 0; i < p->n_blocks; i++)
        if (!p->blocks[i].id)
            FAIL("block %u has no id", i);
    /* Block ids seed the random counters: each must be unique. */
    lx_arena_t scratch;
    lx_arena_init(&scratch, p->arena.alloc);
    lx_strmap_t ids;
    lx_strmap_init(&ids, &scratch);
    uint32_t dup = LX_NONE;
    for (uint32_t i = 0; i < p->n_blocks && dup == LX_NONE; i++) {
        if (lx_strmap_get(&ids, p->blocks[i].id) != UINT32_MAX || lx_strmap_put(&ids, p->blocks[i].id, i))
            dup = i;
    }
    bool oom = scratch.failed;
    lx_arena_release(&scratch);
    if (dup != LX_NONE)
        return oom ? lx_fail(err, LX_E_NOMEM, "out of memory") : lx_fail(err, LX_E_VERIFY, "block id '%s' appears twice", p->blocks[dup].id);
    for (uint32_t i = 0; i < p->n_strings; i++)
        if (!p->strings[i])
            FAIL("string %u missing", i);
    for (uint32_t i = 0; i < p->n_slots; i++) {
        const lx_slot_meta_t *m = &p->slots[i];
        lx_domain_t d = (lx_domain_t)m->domain;
        if (lx_domain_stride(d) == 0 || m->stride != lx_domain_stride(d) || m->world > LX_W_EVENT)
            FAIL("slot %u: bad domain, stride or world", i);
        if ((m->world == LX_W_FIELD) != (m->instance != LX_NONE) ||
            (m->instance != LX_NONE && m->instance >= p->n_instances))
            FAIL("slot %u: bad instance", i);
        if ((d == LX_D_EVENT) != (m->world == LX_W_EVENT))
            FAIL("slot %u: events and values mixed", i);
    }
    for (uint32_t i = 0; i < p->n_instances; i++) {
        const lx_ir_instance_t *in = &p->instances[i];
        if (in->count < 1 || in->count > 1000000 || in->expr >= p->n_exprs)
            FAIL("instance %u out of range", i);
        uint16_t op = p->exprs[in->expr].op;
        if (op != (in->kind == LX_INST_PARTICLES ? LX_OP_PARTICLES : LX_OP_ARRAY))
            FAIL("instance %u does not belong to an Array or Particles", i);
    }
    for (uint32_t i = 0; i < p->n_exprs; i++) {
        lx_result_t rc = s_verify_expr(p, i, err);
        if (rc != LX_OK)
            return rc;
    }
    for (uint32_t i = 0; i < p->n_instances; i++) {
        const lx_ir_instance_t *in = &p->instances[i];
        const lx_expr_t *e = &p->exprs[in->expr];
        if (e->instance != i || e->n_param < 1 || p->constants[e->param_off] != in->count)
            FAIL("instance %u count disagrees with its block", i);
    }
    for (uint32_t i = 0; i < p->n_state; i++) {
        const lx_state_cell_t *s = &p->state[i];
        if (s->expr >= p->n_exprs || p->exprs[s->expr].state != i)
            FAIL("state cell %u does not match its expr", i);
        const lx_expr_t *e = &p->exprs[s->expr];
        uint64_t count = e->world == LX_W_FIELD && e->instance != LX_NONE
                             ? p->instances[e->instance].count
                             : 1;
        uint64_t size = lx_ir_state_size((lx_op_t)e->op, lx_domain_stride((lx_domain_t)e->domain),
                                         count, p->constants + e->param_off, e->n_param);
        if (size == 0 || size != s->size)
            FAIL("state cell %u has size %u, expected %llu", i, s->size, (unsigned long long)size);
        if (s->init_slot != LX_SLOT_NONE &&
            (s->init_slot >= p->n_slots || p->slots[s->init_slot].world != LX_W_SCALAR))
            FAIL("state cell %u: bad initial slot", i);
    }
    uint32_t next_id = 1;
    for (uint32_t i = 0; i < p->n_sinks; i++) {
        const lx_render_sink_t *s = &p->sinks[i];
        if (s->expr >= p->n_exprs || p->exprs[s->expr].op != LX_OP_RENDER_INSTANCES)
            FAIL("sink %u is not a RenderInstances expr", i);
        if (s->layer >= p->n_strings || s->semantic >= p->n_strings ||
            s->instance != p->exprs[s->expr].instance || s->id_base != next_id)
            FAIL("sink %u: bad layer, class, instance or id base", i);
        next_id += s->instance == LX_NONE ? 1 : p->instances[s->instance].count;
    }
    if (p->camera_expr >= p->n_exprs || p->exprs[p->camera_expr].op != LX_OP_CAMERA)
        FAIL("no camera expr");
    if (p->time_expr >= p->n_exprs ||
        p->exprs[p->time_expr].op > LX_OP_INFINITE_TIME_ROOT)
        FAIL("no time root expr");
    static const lx_op_t root_op[] = {LX_OP_FINITE_TIME_ROOT, LX_OP_CYCLE_TIME_ROOT,
                                      LX_OP_INFINITE_TIME_ROOT};
    if (p->exprs[p->time_expr].op != root_op[tm->kind])
        FAIL("time root does not match the time model");
    return LX_OK;
}

/* Every expression runs once (init, eval or read); every stateful one is
 * written once, after everything else; every slot is written once, before
 * it is read. */
static lx_result_t s_verify_schedule(const lx_program_t *p, lx_error_t *err)
{
    if (p->n_init_steps > p->n_steps)
        FAIL("init steps exceed steps");
    const lx_alloc_t *a = p->arena.alloc;
    uint8_t *ran = lx_calloc(a, p->n_exprs + 1, 1);
    uint8_t *wrote = lx_calloc(a, p->n_exprs + 1, 1);
    uint8_t *slot = lx_calloc(a, p->n_slots + 1, 1);
    lx_result_t rc = LX_OK;
    if (!ran || !wrote || !slot) {
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
        goto done;
    }
    bool writes_started = false;
    for (uint32_t i = 0; i < p->n_steps && rc == LX_OK; i++) {
        const lx_step_t *s = &p->steps[i];
        if (s->expr >= p->n_exprs || s->kind > LX_STEP_WRITE) {
            rc = lx_fail(err, LX_E_VERIFY, "step %u: bad kind or expr", i);
            break;
        }
        const lx_expr_t *e = &p->exprs[s->expr];
        const lx_block_def_t *def = lx_registry_by_op(e->op);
        bool init = i < p->n_init_steps;
        if ((s->kind == LX_STEP_INIT) != init) {
            rc = lx_fail(err, LX_E_VERIFY, "step %u: init steps must come first", i);
            break;
        }
        if (s->kind == LX_STEP_WRITE) {
            writes_started = true;
            if (e->state == LX_NONE || wrote[s->expr]++ || !ran[s->expr])
                rc = lx_fail(err, LX_E_VERIFY, "step %u: bad state write of expr %u", i, s->expr);
            for (uint32_t k = 0; k < e->n_in && rc == LX_OK; k++) {
                uint16_t a_ = p->args[e->in_off + k];
                if (a_ != LX_SLOT_NONE && !slot[a_])
                    rc = lx_fail(err, LX_E_VERIFY, "step %u: state write reads unset slot %u", i,
                                 a_);
            }
            continue;
        }
        if (writes_started) {
            rc = lx_fail(err, LX_E_VERIFY, "step %u: runs after state writes", i);
            break;
        }
        if (ran[s->expr]++) {
            rc = lx_fail(err, LX_E_VERIFY, "step %u: expr %u runs twice", i, s->expr);
            break;
        }
        bool is_state = (def->flags & LX_BF_STATE) != 0;
        if ((s->kind == LX_STEP_READ) != is_state) {
            rc = lx_fail(err, LX_E_VERIFY, "step %u: state blocks (only) are read", i);
            break;
        }
        if (s->kind != LX_STEP_READ) {
            for (uint32_t k = 0; k < e->n_in && rc == LX_OK; k++) {
                uint16_t a_ = p->args[e->in_off + k];
                if (a_ != LX_SLOT_NONE && !slot[a_])
                    rc = lx_fail(err, LX_E_VERIFY, "step %u (%s): reads slot %u before it is set",
                                 i, def->name, a_);
            }
        }
        for (uint32_t k = 0; k < e->n_out && rc == LX_OK; k++) {
            uint16_t a_ = p->args[e->out_off + k];
            if (a_ != LX_SLOT_NONE && slot[a_]++)
                rc = lx_fail(err, LX_E_VERIFY, "step %u: slot %u written twice", i, a_);
        }
        uint32_t timed = LX_BF_TIME_ROOT | LX_BF_STATE | LX_BF_HISTORY | LX_BF_CLOCK |
                         LX_BF_RENDER | LX_BF_CAMERA;
        if (init && rc == LX_OK && (def->flags & timed))
            rc = lx_fail(err, LX_E_VERIFY, "step %u: %s cannot run at init", i, def->name);
    }
    for (uint32_t i = 0; i < p->n_exprs && rc == LX_OK; i++) {
        if (!ran[i])
            rc = lx_fail(err, LX_E_VERIFY, "expr %u never runs", i);
        else if ((p->exprs[i].state != LX_NONE) != (wrote[i] != 0))
            rc = lx_fail(err, LX_E_VERIFY, "expr %u: state never written", i);
    }
    /* Initial values are fixed when the instance is created: init slots
     * must be written by init steps (one pass over them, then a lookup). */
    if (rc == LX_OK && p->n_state) {
        memset(slot, 0, p->n_slots + 1);
        for (uint32_t k = 0; k < p->n_init_steps; k++) {
            const lx_expr_t *e = &p->exprs[p->steps[k].expr];
            for (uint32_t o = 0; o < e->n_out; o++)
                if (p->args[e->out_off + o] != LX_SLOT_NONE)
                    slot[p->args[e->out_off + o]] = 1;
        }
        for (uint32_t i = 0; i < p->n_state && rc == LX_OK; i++) {
            uint16_t s = p->state[i].init_slot;
            if (s != LX_SLOT_NONE && !slot[s])
                rc = lx_fail(err, LX_E_VERIFY, "state cell %u: initial slot not set by init", i);
        }
    }
done:
    lx_free(a, ran);
    lx_free(a, wrote);
    lx_free(a, slot);
    return rc;
}

static bool s_floats_in(const float *v, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        if (!(v[i] >= lo && v[i] <= hi)) /* NaN fails too */
            return false;
    return true;
}

/* The audio table's invariants (lattice/ir.h), and AudioFeature only with
 * one. */
static lx_result_t s_verify_audio(const lx_program_t *p, lx_error_t *err)
{
    const lx_audio_track_t *a = p->audio;
    for (uint32_t i = 0; i < p->n_exprs && !a; i++)
        if (p->exprs[i].op == LX_OP_AUDIO_FEATURE)
            FAIL("expr %u (AudioFeature) but the program has no audio table", i);
    if (!a)
        return LX_OK;
    if (a->n_hops < 1 || a->n_hops > LX_AUDIO_MAX_HOPS)
        FAIL("audio: %u hops (1 to %u)", a->n_hops, LX_AUDIO_MAX_HOPS);
    if (a->n_bands != LX_AUDIO_BANDS)
        FAIL("audio: %u bands, expected %u", a->n_bands, LX_AUDIO_BANDS);
    if (!a->rms || !a->bands || !a->onset)
        FAIL("audio: feature arrays missing");
    if (a->sample_rate < LX_AUDIO_MIN_RATE || a->sample_rate > LX_AUDIO_MAX_RATE)
        FAIL("audio: sample rate %u outside %u to %u", a->sample_rate, LX_AUDIO_MIN_RATE,
             LX_AUDIO_MAX_RATE);
    if (a->n_frames < 1 || a->n_frames > LX_AUDIO_MAX_FRAMES)
        FAIL("audio: %llu frames (1 to %llu)", (unsigned long long)a->n_frames,
             (unsigned long long)LX_AUDIO_MAX_FRAMES);
    if (a->hop_ms != LX_AUDIO_HOP_MS)
        FAIL("audio: hop %g ms, expected %g", a->hop_ms, LX_AUDIO_HOP_MS);
    uint64_t hops = (a->n_frames * 100 + a->sample_rate - 1) / a->sample_rate;
    if (a->n_hops != hops)
        FAIL("audio: %u hops for %llu frames at %u Hz, expected %llu", a->n_hops,
             (unsigned long long)a->n_frames, a->sample_rate, (unsigned long long)hops);
    if (a->bpm != 0 && !(a->bpm >= LX_AUDIO_MIN_BPM && a->bpm <= LX_AUDIO_MAX_BPM))
        FAIL("audio: bpm %g is neither 0 nor in [%g, %g]", a->bpm, LX_AUDIO_MIN_BPM,
             LX_AUDIO_MAX_BPM);
    if (a->bpm == 0 ? a->beat_offset_ms != 0
                    : !(a->beat_offset_ms >= 0 && a->beat_offset_ms < 60000.0 / a->bpm))
        FAIL("audio: beat offset %g ms outside one beat", a->beat_offset_ms);
    if (!s_floats_in(a->rms, a->n_hops, 0, FLT_MAX) ||
        !s_floats_in(a->bands, (size_t)a->n_hops * a->n_bands, 0, FLT_MAX))
        FAIL("audio: an rms or band level is negative or not finite");
    if (!s_floats_in(a->onset, a->n_hops, 0, 1))
        FAIL("audio: an onset value is outside [0, 1]");
    return LX_OK;
}

lx_result_t lx_ir_verify(const lx_program_t *p, lx_error_t *err)
{
    lx_result_t rc = s_verify_tables(p, err);
    if (rc == LX_OK)
        rc = s_verify_audio(p, err);
    return rc == LX_OK ? s_verify_schedule(p, err) : rc;
}
