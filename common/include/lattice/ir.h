/* CompiledProgramIR: the immutable, schedule-driven program.
 *
 * Dense tables indexed by id; the runtime executes only schedule.steps[].
 * One expression table carries every lowered block (its `world` says
 * whether it is scalar, signal, field or event work): one id space keeps
 * the schedule and the verifier simple. All values are doubles; a slot of
 * domain D holds lx_domain_stride(D) of them, times the instance count for
 * field slots.
 *
 * Invariants (checked by lx_ir_verify): every id and slot index is in
 * range; ops and arities match the block registry; every slot is written by
 * exactly one step output before any step reads it (init steps first, then
 * the per-frame steps); state writes come last. The program owns all its
 * memory (one arena); it is never mutated after lx_ir_finalize(). */
#ifndef LATTICE_IR_H
#define LATTICE_IR_H

#include <stddef.h>
#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/digest.h"
#include "lattice/ops.h"
#include "lattice/result.h"
#include "lattice/strbuf.h"
#include "lattice/types.h"

/* 2: the audio table (audio-reactive patches) joined the program and its
 * hash. */
#define LX_IR_VERSION 2u
#define LX_NONE UINT32_MAX
#define LX_SLOT_NONE UINT16_MAX
#define LX_HORIZON_UNBOUNDED UINT32_MAX
#define LX_MAX_SLOTS 65535u

typedef enum { LX_TIME_FINITE, LX_TIME_CYCLIC, LX_TIME_INFINITE } lx_time_kind_t;
typedef enum { LX_CYCLE_LOOP, LX_CYCLE_PINGPONG } lx_cycle_mode_t;

typedef struct lx_time_model {
    lx_time_kind_t kind;
    double duration_ms;   /* finite */
    double period_ms;     /* cyclic and infinite */
    lx_cycle_mode_t mode; /* cyclic */
} lx_time_model_t;

typedef enum {
    LX_STEP_INIT,  /* evaluate a scalar expression once per instance */
    LX_STEP_EVAL,  /* evaluate an expression this frame */
    LX_STEP_READ,  /* a state block: produce outputs from its state cell */
    LX_STEP_WRITE, /* a stateful expression: update its cell from this frame's inputs */
} lx_step_kind_t;

typedef struct lx_step {
    uint8_t kind; /* lx_step_kind_t */
    uint32_t expr;
} lx_step_t;

typedef struct lx_expr {
    uint16_t op;                 /* lx_op_t */
    uint8_t world;               /* lx_world_t of the outputs */
    uint8_t domain;              /* resolved generic domain, or LX_D_NONE */
    uint32_t block;              /* index into blocks[] */
    uint32_t instance;           /* field domain (instances[]) or LX_NONE */
    uint32_t state;              /* state cell or LX_NONE */
    uint32_t in_off, n_in;       /* slots in args[] (LX_SLOT_NONE = unused) */
    uint32_t out_off, n_out;     /* slots in args[] (LX_SLOT_NONE = unused) */
    uint32_t param_off, n_param; /* doubles in constants[] */
} lx_expr_t;

typedef struct lx_slot_meta {
    uint8_t domain; /* lx_domain_t */
    uint8_t world;  /* lx_world_t */
    uint16_t stride;
    uint32_t instance; /* field slots: instances[]; otherwise LX_NONE */
} lx_slot_meta_t;

typedef enum { LX_INST_ARRAY, LX_INST_PARTICLES } lx_instance_kind_t;

typedef struct lx_ir_instance {
    uint8_t kind;   /* lx_instance_kind_t */
    uint32_t count; /* elements (maximum for particles) */
    uint32_t expr;  /* the Array or Particles expression */
} lx_ir_instance_t;

typedef struct lx_state_cell {
    uint32_t expr;
    uint32_t size;      /* doubles */
    uint16_t init_slot; /* scalar slot whose value (broadcast) initializes the
                           cell, or LX_SLOT_NONE for zeros */
} lx_state_cell_t;

typedef struct lx_render_sink {
    uint32_t expr;     /* a RENDER_INSTANCES expression */
    uint32_t layer;    /* strings[] */
    uint32_t semantic; /* strings[] */
    uint32_t instance; /* instances[] or LX_NONE (one element) */
    uint32_t id_base;  /* first stable instance id (1-based, in sink order) */
} lx_render_sink_t;

typedef struct lx_block_ref {
    const char *id; /* normalized block id (composite path or derived) */
    uint64_t key;   /* XXH64 of id: the block's part of random counters */
} lx_block_ref_t;

typedef struct lx_output_spec {
    uint32_t width, height;
    double fps;
    double background[4];
} lx_output_spec_t;

/* Audio features (lattice/audio.h): analysed at compile time from the file
 * the patch names, so workers never see samples. Per hop h (at h * hop_ms
 * ms from the start of the audio): rms[h], bands[h * n_bands + b],
 * onset[h]; the beat grid is bpm and beat_offset_ms (a beat starts at
 * beat_offset_ms + k * 60000 / bpm; bpm 0 = no tempo found). Invariants
 * (lx_ir_verify): sample_rate in [LX_AUDIO_MIN_RATE, LX_AUDIO_MAX_RATE],
 * 1 <= n_frames <= LX_AUDIO_MAX_FRAMES, hop_ms == LX_AUDIO_HOP_MS, n_hops ==
 * ceil(n_frames * 100 / sample_rate) (so at most LX_AUDIO_MAX_HOPS),
 * n_bands == LX_AUDIO_BANDS, rms and bands finite and >= 0, onset in
 * [0, 1], bpm 0 or in [LX_AUDIO_MIN_BPM, LX_AUDIO_MAX_BPM], 0 <=
 * beat_offset_ms < 60000 / bpm (0 without tempo). */
#define LX_AUDIO_BANDS 8u
#define LX_AUDIO_HOP_MS 10.0
#define LX_AUDIO_MIN_RATE 8000u
#define LX_AUDIO_MAX_RATE 192000u
#define LX_AUDIO_MAX_FRAMES ((uint64_t)1 << 25) /* 12.7 minutes at 44.1 kHz */
#define LX_AUDIO_MAX_HOPS (1u << 19)
#define LX_AUDIO_MIN_BPM 60.0
#define LX_AUDIO_MAX_BPM 180.0

typedef struct lx_audio_track {
    uint8_t sha256[32];    /* SHA-256 of the audio file's bytes */
    uint32_t sample_rate;  /* Hz */
    uint64_t n_frames;     /* sample frames (per channel) in the file */
    double hop_ms;         /* analysis hop (10 ms) */
    uint32_t n_hops;       /* ceil(n_frames * 100 / sample_rate) */
    uint32_t n_bands;      /* LX_AUDIO_BANDS */
    double bpm;            /* tempo, or 0 */
    double beat_offset_ms; /* first beat at or after 0 */
    float *rms;            /* n_hops */
    float *bands;          /* n_hops * n_bands, hop-major */
    float *onset;          /* n_hops, in [0, 1] */
} lx_audio_track_t;

typedef struct lx_program {
    lx_arena_t arena;

    /* identity */
    const char *patch_id;
    const char *patch_name;
    uint32_t ir_version;
    uint32_t seed;
    int64_t compiled_at; /* unix seconds; non-semantic, never hashed */

    lx_output_spec_t output;
    lx_time_model_t time_model;
    uint32_t state_horizon; /* frames; LX_HORIZON_UNBOUNDED */

    lx_block_ref_t *blocks;
    uint32_t n_blocks;
    const char **strings;
    uint32_t n_strings;
    double *constants;
    uint32_t n_constants;
    uint16_t *args;
    uint32_t n_args;
    lx_expr_t *exprs;
    uint32_t n_exprs;
    lx_slot_meta_t *slots;
    uint32_t n_slots;
    lx_state_cell_t *state;
    uint32_t n_state;
    lx_ir_instance_t *instances;
    uint32_t n_instances;
    lx_render_sink_t *sinks;
    uint32_t n_sinks;
    uint32_t camera_expr; /* the one CAMERA expression */
    uint32_t time_expr;   /* the time root expression */
    lx_step_t *steps;
    uint32_t n_steps;
    uint32_t n_init_steps; /* steps[0 .. n_init_steps) are LX_STEP_INIT */
    lx_audio_track_t *audio; /* NULL when the patch names no audio file */

    lx_digest_t program_hash;
} lx_program_t;

/* An empty program whose tables the caller fills (the lowering pass and
 * the IR decoder). NULL when out of memory. */
lx_program_t *lx_program_new(const lx_alloc_t *alloc);
void lx_program_destroy(lx_program_t **self_p);

/* Doubles of state a stateful expression needs (0 for stateless ops):
 * value-holding blocks (UnitDelay, Lag, SampleHold, Slew) stride * count;
 * Phasor and Accumulator 1; Wrap and EdgeDetect 2 (previous input and a
 * has-previous flag); Particles maxParticles * LX_PARTICLE_STRIDE + 4.
 * `count` is the instance count for field expressions, else 1. */
enum { LX_PARTICLE_STRIDE = 9 }; /* position 3, velocity 3, age, alive, size */
uint64_t lx_ir_state_size(lx_op_t op, unsigned stride, uint64_t count, const double *params,
                          uint32_t n_params);

/* Checks referential and data-flow integrity (see the header comment).
 * Returns LX_OK or LX_E_VERIFY with the first problem in err. Never reads
 * out of bounds, whatever the tables hold. */
lx_result_t lx_ir_verify(const lx_program_t *p, lx_error_t *err);

/* SHA-256 of the canonical serialization (fixed field order, little-endian
 * fixed-width numbers, compiled_at excluded). */
lx_result_t lx_ir_hash(const lx_program_t *p, lx_digest_t *out);

/* Readable JSON for inspection and golden tests (compiled_at omitted, so the
 * text is deterministic). */
lx_result_t lx_ir_to_json(const lx_program_t *p, lx_strbuf_t *out);

#endif
