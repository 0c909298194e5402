/* program_hash: SHA-256 over a canonical serialization of the program.
 * Every table is written in index order with fixed-width little-endian
 * numbers (doubles by their IEEE-754 bits) and length-prefixed strings;
 * compiled_at is left out. Changing this layout changes every hash: bump
 * LX_IR_VERSION with it. */
#include <string.h>

#include "lattice/ir.h"

typedef struct {
    lx_sha256_t h;
} writer_t;

static void s_u8(writer_t *w, uint8_t v)
{
    lx_sha256_update(&w->h, &v, 1);
}

static void s_u32(writer_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    lx_sha256_update(&w->h, b, 4);
}

static void s_u64(writer_t *w, uint64_t v)
{
    s_u32(w, (uint32_t)v);
    s_u32(w, (uint32_t)(v >> 32));
}

static void s_f64(writer_t *w, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    s_u64(w, bits);
}

static void s_f32s(writer_t *w, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        s_u32(w, bits);
    }
}

/* u8 0 without audio; else u8 1 and the table (docs/ir.md). */
static void s_audio(writer_t *w, const lx_audio_track_t *a)
{
    s_u8(w, a ? 1 : 0);
    if (!a)
        return;
    lx_sha256_update(&w->h, a->sha256, sizeof a->sha256);
    s_u32(w, a->sample_rate);
    s_u64(w, a->n_frames);
    s_f64(w, a->hop_ms);
    s_u32(w, a->n_hops);
    s_u32(w, a->n_bands);
    s_f64(w, a->bpm);
    s_f64(w, a->beat_offset_ms);
    s_f32s(w, a->rms, a->n_hops);
    s_f32s(w, a->bands, (size_t)a->n_hops * a->n_bands);
    s_f32s(w, a->onset, a->n_hops);
}

static void s_str(writer_t *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    s_u32(w, (uint32_t)n);
    lx_sha256_update(&w->h, s, n);
}

lx_result_t lx_ir_hash(const lx_program_t *p, lx_digest_t *out)
{
    writer_t w;
    lx_result_t rc = lx_sha256_init(&w.h);
    if (rc != LX_OK)
        return rc;
    lx_sha256_update(&w.h, "LXIR", 4);
    s_u32(&w, p->ir_version);
    s_str(&w, p->patch_id);
    s_str(&w, p->patch_name);
    s_u32(&w, p->seed);
    s_u32(&w, p->output.width);
    s_u32(&w, p->output.height);
    s_f64(&w, p->output.fps);
    for (int i = 0; i < 4; i++)
        s_f64(&w, p->output.background[i]);
    s_u8(&w, (uint8_t)p->time_model.kind);
    s_f64(&w, p->time_model.duration_ms);
    s_f64(&w, p->time_model.period_ms);
    s_u8(&w, (uint8_t)p->time_model.mode);
    s_u32(&w, p->state_horizon);
    s_u32(&w, p->n_blocks);
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        s_str(&w, p->blocks[i].id);
        s_u64(&w, p->blocks[i].key);
    }
    s_u32(&w, p->n_strings);
    for (uint32_t i = 0; i < p->n_strings; i++)
        s_str(&w, p->strings[i]);
    s_u32(&w, p->n_constants);
    for (uint32_t i = 0; i < p->n_constants; i++)
        s_f64(&w, p->constants[i]);
    s_u32(&w, p->n_args);
    for (uint32_t i = 0; i < p->n_args; i++)
        s_u32(&w, p->args[i]);
    s_u32(&w, p->n_exprs);
    for (uint32_t i = 0; i < p->n_exprs; i++) {
        const lx_expr_t *e = &p->exprs[i];
        s_u32(&w, e->op);
        s_u8(&w, e->world);
        s_u8(&w, e->domain);
        s_u32(&w, e->block);
        s_u32(&w, e->instance);
        s_u32(&w, e->state);
        s_u32(&w, e->in_off);
        s_u32(&w, e->n_in);
        s_u32(&w, e->out_off);
        s_u32(&w, e->n_out);
        s_u32(&w, e->param_off);
        s_u32(&w, e->n_param);
    }
    s_u32(&w, p->n_slots);
    for (uint32_t i = 0; i < p->n_slots; i++) {
        s_u8(&w, p->slots[i].domain);
        s_u8(&w, p->slots[i].world);
        s_u32(&w, p->slots[i].stride);
        s_u32(&w, p->slots[i].instance);
    }
    s_u32(&w, p->n_state);
    for (uint32_t i = 0; i < p->n_state; i++) {
        s_u32(&w, p->state[i].expr);
        s_u32(&w, p->state[i].size);
        s_u32(&w, p->state[i].init_slot);
    }
    s_u32(&w, p->n_instances);
    for (uint32_t i = 0; i < p->n_instances; i++) {
        s_u8(&w, p->instances[i].kind);
        s_u32(&w, p->instances[i].count);
        s_u32(&w, p->instances[i].expr);
    }
    s_u32(&w, p->n_sinks);
    for (uint32_t i = 0; i < p->n_sinks; i++) {
        const lx_render_sink_t *s = &p->sinks[i];
        s_u32(&w, s->expr);
        s_u32(&w, s->layer);
        s_u32(&w, s->semantic);
        s_u32(&w, s->instance);
        s_u32(&w, s->id_base);
    }
    s_u32(&w, p->camera_expr);
    s_u32(&w, p->time_expr);
    s_u32(&w, p->n_steps);
    s_u32(&w, p->n_init_steps);
    for (uint32_t i = 0; i < p->n_steps; i++) {
        s_u8(&w, p->steps[i].kind);
        s_u32(&w, p->steps[i].expr);
    }
    s_audio(&w, p->audio);
    return lx_sha256_final(&w.h, out);
}
