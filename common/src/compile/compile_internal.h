/* Passes between normalization and the IR (internal to common/src/compile). */
#ifndef LATTICE_COMPILE_INTERNAL_H
#define LATTICE_COMPILE_INTERNAL_H

#include "lattice/graph.h"
#include "lattice/ir.h"

typedef struct lx_port_type {
    lx_world_t world;
    lx_domain_t domain;
    uint32_t instance; /* node creating the field's domain, or LX_NONE */
} lx_port_type_t;

/* What validation learned about a normalized graph. */
typedef struct lx_typing {
    lx_domain_t *tvar;      /* per node: resolved type variable (LX_D_NONE if none) */
    lx_port_type_t **out;   /* per node, per output port */
    bool *live;             /* per node: reaches a render sink or the camera */
    bool *cyclic;           /* per node: on a feedback cycle (through a state block) */
    uint32_t *horizon;      /* per node: frames of history its value depends on */
    uint32_t state_horizon; /* over live nodes */
    lx_time_model_t time_model;
} lx_typing_t;

/* Type inference and every graph check (TY, FB, TR time model, EX-501).
 * Fills typing, allocated in `scratch` (the graph itself is not touched).
 * Returns false when out of memory. */
bool lx_validate(const lx_graph_t *g, lx_arena_t *scratch, lx_typing_t *typing,
                 lx_diags_t *diags);

/* Lowers a valid graph into a verified, hashed program; temporary tables
 * go to `scratch`. `audio` (NULL when the patch names none) is copied into
 * the program. */
lx_result_t lx_lower(const lx_graph_t *g, const lx_typing_t *typing, lx_arena_t *scratch,
                     const lx_audio_track_t *audio, const lx_alloc_t *alloc, lx_program_t **out,
                     lx_error_t *err);

/* Type of the writer of node n's input i (world scalar/none when unconnected). */
lx_port_type_t lx_input_type(const lx_graph_t *g, const lx_typing_t *t, uint32_t n, uint32_t i);

#endif
