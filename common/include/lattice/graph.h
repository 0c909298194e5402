/* GraphNormalization: RawGraph -> NormalizedGraph.
 *
 * Normalization expands composites (inner blocks become
 * "<instance>/<inner>"), turns lenses into derived blocks, materializes the
 * reserved rails and user buses as Combine blocks with their publishers in
 * order (sortKey, then declaration order), inserts a Combine block for each
 * input with several writers, and a DefaultSource (a Const block) for each
 * input with no writer. Afterwards every input of every node has exactly
 * one writer, except optional inputs left unconnected (src == LX_NONE).
 * The later passes read the graph and never change it.
 *
 * Derived node ids cannot collide with user ids, because they contain
 * characters user ids may not: "<block>.<port>$default",
 * "<block>.<port>$combine", "$bus.<name>", "<block>.<port>$lens<k>@<from>",
 * "$camera". */
#ifndef LATTICE_GRAPH_H
#define LATTICE_GRAPH_H

#include "lattice/diag.h"
#include "lattice/ir.h" /* LX_NONE */
#include "lattice/patch.h"
#include "lattice/registry.h"

typedef enum {
    LX_NODE_USER,    /* a block written in the patch (possibly inside a composite) */
    LX_NODE_DEFAULT, /* DefaultSource for an input without a writer */
    LX_NODE_BUS,     /* a rail or user bus */
    LX_NODE_COMBINE, /* several writers into one input */
    LX_NODE_LENS,    /* a lens on an edge or listener */
    LX_NODE_CAMERA,  /* the default camera */
} lx_node_kind_t;

/* How strongly a DefaultSource's literal decides a generic type. */
typedef enum {
    LX_LIT_SPLAT,  /* catalogue default: fits any domain, decides nothing */
    LX_LIT_WEAK,   /* a number literal: number unless an edge decides otherwise (then splat) */
    LX_LIT_STRONG, /* an array literal: decides vec2, vec3 or color */
} lx_lit_strength_t;

/* Keyframes keys and Path points are flattened into tables of doubles. */
enum { LX_KEY_STRIDE = 11, LX_POINT_STRIDE = 6 };
/* Key record: timeMs, interp (0 linear, 1 hold, 2 bezier), easing curve,
 * inX, inY, outX, outY, value[4]. Point record: x, y, inX, inY, outX, outY. */

typedef struct lx_pval {
    bool set;
    double num;          /* NUMBER, INT, BOOL (0/1), ENUM (option index) */
    const char *str;     /* NAME */
    lx_literal_t lit;    /* VALUE */
    const double *table; /* KEYS, POINTS */
    uint32_t n_records;
} lx_pval_t;

typedef struct lx_node_input {
    uint32_t src;      /* writer node, or LX_NONE when unconnected */
    uint16_t src_port; /* writer output port */
    const char *json;  /* where the connection is written */
    const char *from;  /* "block.port" text of the writer, for messages */
} lx_node_input_t;

typedef struct lx_node {
    const char *id;
    const lx_block_def_t *def;
    lx_node_kind_t kind;
    const char *json;  /* JSON pointer of the block (or of what made the node) */
    const char *owner; /* user-visible block id diagnostics should name */
    const char *port;  /* derived nodes: the owner's input they feed (else NULL) */
    bool in_composite;
    lx_pval_t *params; /* def->n_params entries */
    lx_literal_t lit;  /* DefaultSource and Const value */
    lx_lit_strength_t strength;
    lx_domain_t fixed; /* the type variable's domain when normalization knows it */
    lx_node_input_t *in;
    uint32_t n_in; /* def->n_inputs, or the writer count for variadic nodes */
} lx_node_t;

typedef struct lx_bus_info {
    const char *name;
    lx_domain_t domain; /* LX_D_EVENT for event buses */
    lx_combine_t mode;
    bool rail;
    uint32_t node;
    const char *json;
} lx_bus_info_t;

typedef struct lx_graph {
    lx_arena_t arena;
    const lx_raw_graph_t *raw;
    lx_node_t *nodes;
    uint32_t n_nodes;
    lx_bus_info_t *buses;
    uint32_t n_buses;
    uint32_t time_root; /* LX_NONE when there is none (TR-001 reported) */
    uint32_t camera;    /* the Camera node (user or default), LX_NONE when several */
    bool truncated;     /* expansion passed LX_GRAPH_MAX_NODES (PT-020): only fit for reporting */
} lx_graph_t;

/* Composites nest, so a small file can expand exponentially; expansion
 * stops here. (The IR's 65535 slots bound real programs far below it.) */
#define LX_GRAPH_MAX_NODES 131072u

/* Normalizes raw into a new graph, adding diagnostics. Returns NULL only
 * when out of memory; the graph of a patch with errors is partial and only
 * fit for reporting. Borrowed strings point into raw, which must outlive
 * the graph. */
lx_graph_t *lx_normalize(const lx_raw_graph_t *raw, const lx_alloc_t *alloc, lx_diags_t *diags);
void lx_graph_destroy(lx_graph_t **self_p);

/* True when `mode` may combine values of `domain` (events: or; phase and
 * shape: last, first; bool: last, first, or; others: all but or). */
bool lx_combine_fits(lx_combine_t mode, lx_domain_t domain);

/* Index of the node with this id, or LX_NONE. */
uint32_t lx_graph_find(const lx_graph_t *g, const char *id);

#endif
