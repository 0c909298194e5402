/* Patch loading: JSON text -> RawGraph.
 *
 * The loader checks the JSON structure strictly (required fields, JSON
 * types, unknown fields, ids, port reference syntax, literal shapes) and
 * records every problem as a PT-0xx diagnostic with a JSON pointer. It
 * knows nothing of block types: normalization resolves those. Strings and
 * arrays live in the graph's arena; `params` and lens arguments stay cJSON
 * nodes of the parsed document, which the graph owns. */
#ifndef LATTICE_PATCH_H
#define LATTICE_PATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/diag.h"
#include "lattice/types.h"

struct cJSON;

#define LX_PATCH_FORMAT "lattice.patch/1"
#define LX_PATCH_MAX_BYTES (64u << 20)

typedef struct lx_raw_ref {
    const char *block, *port; /* both NULL when the reference was malformed */
} lx_raw_ref_t;

typedef struct lx_raw_lens {
    const char *type;
    const struct cJSON *args; /* the lens object (NULL for a bare string) */
    const char *json;
} lx_raw_lens_t;

typedef struct lx_raw_edge {
    lx_raw_ref_t from, to;
    const char *from_text, *to_text;
    bool has_sort_key;
    int64_t sort_key;
    lx_raw_lens_t *lenses;
    size_t n_lenses;
    const char *json;
} lx_raw_edge_t;

typedef struct lx_raw_input {
    const char *port;
    lx_literal_t value;
    bool valid; /* false when the literal was malformed (already reported) */
    const char *json;
} lx_raw_input_t;

typedef struct lx_raw_combine {
    const char *port, *mode;
    const char *json;
} lx_raw_combine_t;

typedef struct lx_raw_block {
    const char *id, *type;
    const struct cJSON *params; /* object or NULL */
    lx_raw_input_t *inputs;
    size_t n_inputs;
    lx_raw_combine_t *combine;
    size_t n_combine;
    const char *json;
} lx_raw_block_t;

typedef struct lx_raw_bus {
    const char *name, *type, *combine;
    bool has_default;
    lx_literal_t def;
    const char *json;
} lx_raw_bus_t;

typedef struct lx_raw_publish {
    lx_raw_ref_t from;
    const char *from_text, *bus;
    bool has_sort_key;
    int64_t sort_key;
    const char *json;
} lx_raw_publish_t;

typedef struct lx_raw_listen {
    const char *bus;
    lx_raw_ref_t to;
    const char *to_text;
    lx_raw_lens_t *lenses;
    size_t n_lenses;
    const char *json;
} lx_raw_listen_t;

typedef struct lx_raw_alias {
    const char *name; /* exposed port */
    lx_raw_ref_t inner;
    const char *inner_text;
    const char *json;
} lx_raw_alias_t;

typedef struct lx_raw_composite {
    const char *type;
    lx_raw_alias_t *inputs, *outputs;
    size_t n_inputs, n_outputs;
    lx_raw_block_t *blocks;
    size_t n_blocks;
    lx_raw_edge_t *edges;
    size_t n_edges;
    const char *json;
} lx_raw_composite_t;

typedef struct lx_raw_output {
    uint32_t width, height;
    double fps;
    double background[4];
} lx_raw_output_t;

typedef struct lx_raw_graph {
    lx_arena_t arena;
    struct cJSON *doc;
    const char *id, *name;
    uint32_t seed;
    lx_raw_output_t output;
    lx_raw_block_t *blocks;
    size_t n_blocks;
    lx_raw_edge_t *edges;
    size_t n_edges;
    lx_raw_bus_t *buses;
    size_t n_buses;
    lx_raw_publish_t *publish;
    size_t n_publish;
    lx_raw_listen_t *listen;
    size_t n_listen;
    lx_raw_composite_t *composites;
    size_t n_composites;
    /* Top-level "audio": {"file": PATH}; NULL when absent or malformed
     * (reported). The compiler resolves PATH (relative to its base
     * directory) and reads it; the loader does no I/O. */
    const char *audio_file;
} lx_raw_graph_t;

/* Parses `len` bytes of patch JSON. Always returns a graph (NULL only when
 * out of memory); structural problems are added to diags and the graph
 * holds whatever was well-formed. Destroy with lx_raw_graph_destroy(). */
lx_raw_graph_t *lx_patch_parse(const char *text, size_t len, const lx_alloc_t *alloc,
                               lx_diags_t *diags);
void lx_raw_graph_destroy(lx_raw_graph_t **self_p);

/* Reads a literal (number, bool, or array of 2-4 finite numbers); false
 * when v has another shape. */
bool lx_literal_from_json(const struct cJSON *v, lx_literal_t *out);

#endif
