/* How much memory rendering one frame of an export takes, estimated from
 * the plan before anything is allocated, so that a resolution the machine
 * cannot hold is refused with a message instead of growing until the
 * kernel kills the process (16384x16384 needs about 22 GB).
 *
 * The estimate follows what lx_frame_renderer_new and the first
 * lx_frame_renderer_render allocate (docs/export-format.md, "Memory"):
 *
 *   raster    the rasterizer's planes, whatever the artifacts: RGBA 16,
 *             depth 4, normal 12, id 4, motion 8 + 1, masks 4 per layer
 *             (at least one plane) bytes per pixel;
 *   convert   one canonical buffer per artifact file (lx_export_frame_files);
 *   encoded   the encoded files whose size does not depend on the content
 *             (NPY, uncompressed EXR, PNG level 0), at the capacity their
 *             output buffer grows to; compressed PNG and EXR files are not
 *             counted: a frame usually compresses to a small part of its
 *             raw size (an incompressible one can add up to that size);
 *             SVG documents at about 64 vertices an instance;
 *   scratch   the encoders' working memory (libpng and zlib state and rows,
 *             an EXR chunk's planes), for as many files at once as there
 *             are threads;
 *   items     draw lists: the instance's, the previous frame's copy and
 *             the rasterizer's two prepared lists.
 *
 * The program's evaluation memory (field slots, state) is not counted.
 * Pure: this module reads no files; lx_meminfo_available parses text the
 * process read. */
#ifndef LATTICE_EXPORT_MEMORY_H
#define LATTICE_EXPORT_MEMORY_H

#include <stdint.h>

#include "lattice/export_config.h"

typedef struct lx_export_memory {
    uint64_t raster, convert, encoded, scratch, items;
    uint64_t total; /* the sum: bytes one worker (one frame renderer) needs */
} lx_export_memory_t;

/* The estimate for one frame renderer of p (the program plan was made
 * for) with `threads` render and encode threads (0 means 1). Returns
 * LX_OK; LX_E_INVALID (a layer name that is not an id, as
 * lx_export_frame_files) or LX_E_NOMEM, with *out zeroed. Thread-safe. */
lx_result_t lx_export_memory_estimate(const lx_program_t *p, const lx_export_plan_t *plan,
                                      uint32_t threads, lx_export_memory_t *out, lx_error_t *err);

/* MemAvailable from the text of /proc/meminfo (len bytes), in bytes:
 * false when the line is missing or malformed. */
bool lx_meminfo_available(const char *text, size_t len, uint64_t *bytes);

/* Whether `workers` frame renderers of plan with `threads` threads each
 * (m: lx_export_memory_estimate) fit the memory available: MemAvailable
 * of meminfo (the text of /proc/meminfo, len bytes; NULL when unread),
 * lowered to cap when cap (LATTICE_MEMORY_LIMIT's value, bytes; NULL or
 * "" for none) is smaller. True when they fit or nothing is known; false
 * with the reason in why: "resolution 16384x16384 needs about 22.6 GB per
 * worker (1 thread) and 9.8 GB are available; lower the resolution or the
 * threads". The process reads the file and the environment; this decides
 * and words it, the same for `lattice export` and a worker. */
bool lx_export_memory_fits(const lx_export_memory_t *m, const lx_export_plan_t *plan,
                           uint32_t threads, uint32_t workers, const char *meminfo, size_t len,
                           const char *cap, char *why, size_t size);

/* bytes as people read them: "22.1 GB", "512.0 MB", "900 kB" (powers of
 * 1000, one decimal above kB). Returns out. */
char *lx_format_bytes(uint64_t bytes, char *out, size_t size);

#endif
