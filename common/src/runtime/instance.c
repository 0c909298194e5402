/* ProgramInstance and the schedule executor. */
#include "lattice/instance.h"

#include <string.h>

#include "exec.h"

/* Snapshot bytes: magic, program hash, the frame the state continues at
 * (int64), the count of state doubles (uint64), the doubles' bits; every
 * integer little-endian. */
static const uint8_t s_snapshot_magic[8] = {'L', 'X', 'S', 'N', 'A', 'P', '1', 0};
enum { SNAPSHOT_HEADER = 8 + 32 + 8 + 8 };

struct lx_instance {
    const lx_program_t *p;
    const lx_kernel_t *kernels; /* indexed by op; ops were checked by lx_ir_verify */
    const lx_alloc_t *alloc;
    lx_sampling_t sampling;
    uint32_t seed;      /* the program's, or the config's in its place */
    double *values;     /* the value store: every slot, densely */
    uint64_t *slot_off; /* per slot: offset in values */
    double *state;      /* every state cell, densely */
    uint64_t *state_off;
    uint64_t n_state; /* doubles in state */
    double *scratch;  /* outputs nobody reads */
    lx_render_frame_t frame;
    uint32_t cap_items;
    int64_t next_frame; /* the frame a sequential pass would evaluate next, or -1 */
    bool assemble;      /* build the draw list this frame (not during warm-up) */
    uint64_t evaluated;
};

static uint32_t s_slot_count(const lx_program_t *p, uint32_t slot)
{
    const lx_slot_meta_t *m = &p->slots[slot];
    return m->world == LX_W_FIELD ? p->instances[m->instance].count : 1;
}

const double *lx_exec_in(const lx_exec_t *x, uint32_t k, uint32_t *step)
{
    uint16_t s = x->p->args[x->e->in_off + k];
    if (s == LX_SLOT_NONE) {
        *step = 0;
        return NULL;
    }
    const lx_slot_meta_t *m = &x->p->slots[s];
    *step = m->world == LX_W_FIELD ? m->stride : 0;
    return x->inst->values + x->inst->slot_off[s];
}

double *lx_exec_out(const lx_exec_t *x, uint32_t k, uint32_t *step)
{
    uint16_t s = x->p->args[x->e->out_off + k];
    if (s == LX_SLOT_NONE) {
        *step = 4;
        return x->inst->scratch;
    }
    const lx_slot_meta_t *m = &x->p->slots[s];
    *step = m->world == LX_W_FIELD ? m->stride : 0;
    return x->inst->values + x->inst->slot_off[s];
}

uint32_t lx_exec_instance_count(const lx_exec_t *x, uint32_t instance)
{
    return x->p->instances[instance].count;
}

const double *lx_exec_state_of(const lx_exec_t *x, uint32_t expr)
{
    uint32_t cell = x->p->exprs[expr].state;
    return cell == LX_NONE ? NULL : x->inst->state + x->inst->state_off[cell];
}

lx_render_frame_t *lx_exec_frame(const lx_exec_t *x)
{
    return x->inst->assemble ? &x->inst->frame : NULL;
}

static void s_exec_init(lx_instance_t *inst, uint32_t expr, const lx_frame_time_t *t, lx_exec_t *x)
{
    const lx_program_t *p = inst->p;
    const lx_expr_t *e = &p->exprs[expr];
    x->inst = inst;
    x->p = p;
    x->e = e;
    x->expr = expr;
    x->time = t;
    x->count =
        e->world == LX_W_FIELD && e->instance != LX_NONE ? p->instances[e->instance].count : 1;
    x->state = e->state == LX_NONE ? NULL : inst->state + inst->state_off[e->state];
    x->param = p->constants + e->param_off;
    x->seed = inst->seed;
    x->fps = inst->sampling.fps;
    x->key = p->blocks[e->block].key;
}

/* Fresh state: zeros, or the cell's initial value broadcast, or what the
 * op's init kernel says. */
static void s_reset_state(lx_instance_t *inst)
{
    const lx_program_t *p = inst->p;
    for (uint32_t i = 0; i < p->n_state; i++) {
        const lx_state_cell_t *c = &p->state[i];
        double *cell = inst->state + inst->state_off[i];
        memset(cell, 0, c->size * sizeof *cell);
        if (c->init_slot != LX_SLOT_NONE) {
            const double *v = inst->values + inst->slot_off[c->init_slot];
            uint32_t stride = p->slots[c->init_slot].stride;
            for (uint32_t k = 0; k < c->size; k++)
                cell[k] = v[k % stride];
        }
        const lx_kernel_t *kern = &inst->kernels[p->exprs[c->expr].op];
        if (kern->init) {
            lx_exec_t x;
            lx_frame_time_t t = {0};
            s_exec_init(inst, c->expr, &t, &x);
            kern->init(&x);
        }
    }
    inst->next_frame = 0;
}

/* Runs steps [from, to) of the schedule for one frame. */
static void s_run(lx_instance_t *inst, uint32_t from, uint32_t to, const lx_frame_time_t *t)
{
    const lx_program_t *p = inst->p;
    for (uint32_t i = from; i < to; i++) {
        const lx_step_t *s = &p->steps[i];
        const lx_kernel_t *kern = &inst->kernels[p->exprs[s->expr].op];
        lx_exec_t x;
        s_exec_init(inst, s->expr, t, &x);
        if (s->kind == LX_STEP_WRITE) {
            if (kern->write)
                kern->write(&x);
        } else if (kern->eval) {
            kern->eval(&x);
        }
    }
}

lx_instance_t *lx_instance_new(const lx_program_t *p, const lx_kernel_t *kernels,
                               const lx_alloc_t *alloc, const lx_instance_config_t *cfg,
                               lx_error_t *err)
{
    if (!kernels) {
        lx_fail(err, LX_E_INVALID, "no kernel table to run the program with");
        return NULL;
    }
    alloc = alloc ? alloc : lx_alloc_default();
    lx_instance_config_t def = LX_INSTANCE_CONFIG_INIT;
    if (!cfg)
        cfg = &def;
    lx_instance_t *inst = lx_calloc(alloc, 1, sizeof *inst);
    if (!inst) {
        lx_fail(err, LX_E_NOMEM, "out of memory");
        return NULL;
    }
    inst->p = p;
    inst->seed = cfg->has_seed ? cfg->seed : p->seed;
    inst->kernels = kernels;
    inst->alloc = alloc;
    double fps = cfg->fps > 0 ? cfg->fps : p->output.fps;
    if (lx_sampling_init(&inst->sampling, &p->time_model, fps, cfg->frames_per_cycle, err) !=
        LX_OK) {
        lx_free(alloc, inst);
        return NULL;
    }
    uint64_t n_values = 0, n_state = 0, cap_items = 0, max_count = 1;
    inst->slot_off = lx_calloc(alloc, p->n_slots + 1, sizeof *inst->slot_off);
    inst->state_off = lx_calloc(alloc, p->n_state + 1, sizeof *inst->state_off);
    for (uint32_t i = 0; inst->slot_off && i < p->n_slots; i++) {
        inst->slot_off[i] = n_values;
        n_values += (uint64_t)p->slots[i].stride * s_slot_count(p, i);
    }
    for (uint32_t i = 0; inst->state_off && i < p->n_state; i++) {
        inst->state_off[i] = n_state;
        n_state += p->state[i].size;
    }
    for (uint32_t i = 0; i < p->n_sinks; i++)
        cap_items += p->sinks[i].instance == LX_NONE ? 1 : p->instances[p->sinks[i].instance].count;
    for (uint32_t i = 0; i < p->n_instances; i++)
        if (p->instances[i].count > max_count)
            max_count = p->instances[i].count;
    if (n_values + n_state > (1ull << 29) || cap_items > UINT32_MAX / 2) {
        lx_fail(err, LX_E_LIMIT, "the program needs %llu values of state and slots (limit 2^29)",
                (unsigned long long)(n_values + n_state));
        lx_instance_destroy(&inst);
        return NULL;
    }
    inst->values = lx_calloc(alloc, n_values + 1, sizeof *inst->values);
    inst->state = lx_calloc(alloc, n_state + 1, sizeof *inst->state);
    inst->scratch = lx_calloc(alloc, max_count * 4 + 4, sizeof *inst->scratch);
    inst->frame.items = lx_calloc(alloc, cap_items + 1, sizeof *inst->frame.items);
    inst->cap_items = (uint32_t)cap_items;
    inst->n_state = n_state;
    if (!inst->slot_off || !inst->state_off || !inst->values || !inst->state || !inst->scratch ||
        !inst->frame.items) {
        lx_fail(err, LX_E_NOMEM, "out of memory");
        lx_instance_destroy(&inst);
        return NULL;
    }
    /* Init steps depend on nothing that changes: once per instance. */
    lx_frame_time_t t0;
    lx_sample_frame(&inst->sampling, 0, &t0);
    s_run(inst, 0, p->n_init_steps, &t0);
    s_reset_state(inst);
    inst->next_frame = -1;
    return inst;
}

void lx_instance_destroy(lx_instance_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_instance_t *inst = *self_p;
    const lx_alloc_t *a = inst->alloc;
    lx_free(a, inst->slot_off);
    lx_free(a, inst->state_off);
    lx_free(a, inst->values);
    lx_free(a, inst->state);
    lx_free(a, inst->scratch);
    lx_free(a, inst->frame.items);
    lx_free(a, inst);
    *self_p = NULL;
}

static void s_frame(lx_instance_t *inst, int64_t f, bool assemble)
{
    const lx_program_t *p = inst->p;
    lx_frame_time_t t;
    lx_sample_frame(&inst->sampling, f, &t);
    inst->assemble = assemble;
    if (assemble) {
        inst->frame.time = t;
        inst->frame.n_items = 0;
    }
    s_run(inst, p->n_init_steps, p->n_steps, &t);
    inst->next_frame = f + 1;
    inst->evaluated++;
}

lx_result_t lx_instance_eval(lx_instance_t *inst, int64_t f, const lx_render_frame_t **out)
{
    if (f < 0)
        return LX_E_INVALID;
    const lx_program_t *p = inst->p;
    if (p->n_state > 0 && f != inst->next_frame) {
        /* Warm up: frame f depends on at most state_horizon earlier frames
         * (all of them when unbounded). Continue the current pass when it
         * is already inside that window; otherwise start afresh at it. */
        int64_t h = p->state_horizon == LX_HORIZON_UNBOUNDED ? f : (int64_t)p->state_horizon;
        int64_t start = f > h ? f - h : 0;
        if (!(inst->next_frame >= start && inst->next_frame <= f)) {
            s_reset_state(inst);
            inst->next_frame = start;
        }
        for (int64_t w = inst->next_frame; w < f; w++)
            s_frame(inst, w, false);
    }
    s_frame(inst, f, true);
    *out = &inst->frame;
    return LX_OK;
}

uint64_t lx_instance_frames_evaluated(const lx_instance_t *inst) { return inst->evaluated; }

static void s_put_u64(uint8_t *b, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)(v >> (8 * k));
}

static uint64_t s_get_u64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | b[k];
    return v;
}

lx_result_t lx_instance_snapshot(const lx_instance_t *inst, lx_strbuf_t *out, int64_t *frame)
{
    if (inst->p->n_state == 0 || inst->next_frame < 0)
        return LX_E_INVALID;
    uint8_t head[SNAPSHOT_HEADER];
    memcpy(head, s_snapshot_magic, 8);
    memcpy(head + 8, inst->p->program_hash.bytes, 32);
    s_put_u64(head + 40, (uint64_t)inst->next_frame);
    s_put_u64(head + 48, inst->n_state);
    lx_strbuf_add(out, head, sizeof head);
    for (uint64_t i = 0; i < inst->n_state; i++) {
        uint64_t bits;
        memcpy(&bits, &inst->state[i], sizeof bits);
        uint8_t b[8];
        s_put_u64(b, bits);
        lx_strbuf_add(out, b, 8);
    }
    if (out->failed)
        return LX_E_NOMEM;
    if (frame)
        *frame = inst->next_frame;
    return LX_OK;
}

lx_result_t lx_instance_restore(lx_instance_t *inst, const void *bytes, size_t len, lx_error_t *err)
{
    const uint8_t *b = bytes;
    if (!b || len < SNAPSHOT_HEADER || memcmp(b, s_snapshot_magic, 8) != 0)
        return lx_fail(err, LX_E_PARSE, "not a state snapshot (%zu bytes)", len);
    if (!lx_snapshot_of(b, len, inst->p))
        return lx_fail(err, LX_E_PARSE, "the snapshot is another program's");
    if (inst->n_state == 0)
        return lx_fail(err, LX_E_PARSE, "the program has no state to restore");
    uint64_t frame = s_get_u64(b + 40), n = s_get_u64(b + 48);
    if (frame > (uint64_t)INT64_MAX / 2)
        return lx_fail(err, LX_E_PARSE, "snapshot frame %llu out of range",
                       (unsigned long long)frame);
    if (n != inst->n_state || (len - SNAPSHOT_HEADER) / 8 != n || (len - SNAPSHOT_HEADER) % 8 != 0)
        return lx_fail(err, LX_E_PARSE,
                       "the snapshot holds %llu state values in %zu bytes; the "
                       "program has %llu",
                       (unsigned long long)n, len, (unsigned long long)inst->n_state);
    /* Decoded beside the instance's own state and checked by the ops'
     * kernels (a pool's indices, say) before it replaces anything. */
    double *cells = lx_malloc(inst->alloc, n * sizeof *cells);
    if (!cells)
        return lx_fail(err, LX_E_NOMEM, "out of memory for a %llu-value snapshot",
                       (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t bits = s_get_u64(b + SNAPSHOT_HEADER + 8 * i);
        memcpy(&cells[i], &bits, sizeof bits);
    }
    const lx_program_t *p = inst->p;
    for (uint32_t i = 0; i < p->n_state; i++) {
        const lx_kernel_t *kern = &inst->kernels[p->exprs[p->state[i].expr].op];
        lx_exec_t x;
        lx_frame_time_t t = {0};
        s_exec_init(inst, p->state[i].expr, &t, &x);
        x.state = cells + inst->state_off[i];
        if (kern->check && !kern->check(&x)) {
            lx_free(inst->alloc, cells);
            return lx_fail(err, LX_E_PARSE,
                           "the snapshot's state of block '%s' is not one it can reach",
                           p->blocks[p->exprs[p->state[i].expr].block].id);
        }
    }
    memcpy(inst->state, cells, n * sizeof *cells);
    lx_free(inst->alloc, cells);
    inst->next_frame = (int64_t)frame;
    return LX_OK;
}

bool lx_snapshot_frame(const void *bytes, size_t len, int64_t *frame)
{
    const uint8_t *b = bytes;
    if (!b || len < SNAPSHOT_HEADER || memcmp(b, s_snapshot_magic, 8) != 0)
        return false;
    uint64_t s = s_get_u64(b + 40);
    if (s > (uint64_t)INT64_MAX / 2) /* the bound lx_instance_restore enforces */
        return false;
    *frame = (int64_t)s;
    return true;
}

bool lx_snapshot_of(const void *bytes, size_t len, const lx_program_t *p)
{
    return bytes && len >= SNAPSHOT_HEADER &&
           memcmp((const uint8_t *)bytes + 8, p->program_hash.bytes, 32) == 0;
}

const lx_sampling_t *lx_instance_sampling(const lx_instance_t *inst) { return &inst->sampling; }

static void s_hash_doubles(lx_sha256_t *h, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        double d = v[i] == 0.0 ? 0.0 : v[i]; /* -0 and 0 draw the same */
        memcpy(&bits, &d, sizeof bits);
        uint8_t b[8];
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(bits >> (8 * k));
        lx_sha256_update(h, b, 8);
    }
}

static void s_hash_u32(lx_sha256_t *h, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    lx_sha256_update(h, b, 4);
}

void lx_render_frame_hash(const lx_render_frame_t *rf, lx_sha256_t *h)
{
    const lx_camera_t *c = &rf->camera;
    s_hash_u32(h, (uint32_t)c->projection);
    s_hash_doubles(h, c->position, 3);
    s_hash_doubles(h, c->target, 3);
    s_hash_doubles(h, c->up, 3);
    s_hash_doubles(h, c->forward, 3);
    double lens[4] = {c->fov_y_deg, c->ortho_height, c->near, c->far};
    s_hash_doubles(h, lens, 4);
    s_hash_u32(h, rf->n_items);
    for (uint32_t i = 0; i < rf->n_items; i++) {
        const lx_draw_item_t *it = &rf->items[i];
        s_hash_u32(h, it->id);
        s_hash_u32(h, it->sink);
        s_hash_u32(h, it->element);
        s_hash_doubles(h, it->shape, 4);
        s_hash_doubles(h, it->position, 3);
        s_hash_doubles(h, it->rotation, 3);
        s_hash_doubles(h, it->scale, 3);
        s_hash_doubles(h, it->color, 4);
        s_hash_doubles(h, &it->opacity, 1);
    }
}
