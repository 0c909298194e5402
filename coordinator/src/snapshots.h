/* Warm-up snapshots of a job whose state reaches back to the timeline
 * start (an unbounded state horizon). Without them every chunk starting at
 * frame a evaluates frames 0 .. a - 1 first, and a whole export's warm-up
 * grows with frames^2 / chunk. An evaluation-only pass on its own thread
 * walks the job's frames once, in order, and keeps the state every
 * CO_SNAP_STRIDE frames; an ASSIGN carries the nearest one at or before
 * a - 1 (docs/runtime.md, "Snapshots"; docs/protocol.md, ASSIGN), so a
 * chunk warms up at most a stride. The pass is the coordinator's own: no
 * worker's state is ever stored or passed on.
 *
 * Memory is bounded: the pass stays within a budget of kept snapshots
 * (CO_SNAP_BUDGET bytes) and waits there until co_snaps_release frees the
 * ones the job no longer needs. Equal neighbours (a state that settled)
 * are stored once. A snapshot is known by the SHA-256 of its bytes (its
 * file name, checked when read). When the job has an
 * export directory, every CO_SNAP_KEEP-th frame's snapshot is also written
 * to OUT/.lattice/snapshots/<program>-<config>/<frame>-<sha256>.snap, and a
 * pass starts from the nearest intact one there: a resumed export or a
 * later shard does not walk from frame 0 again.
 *
 * co_snaps_* are called from the coordinator's loop only (one thread);
 * they synchronize with the pass themselves. */
#ifndef LATTICE_CO_SNAPSHOTS_H
#define LATTICE_CO_SNAPSHOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lattice/export_config.h"

enum {
    CO_SNAP_STRIDE = 16, /* frames between kept snapshots */
    CO_SNAP_KEEP = 4096, /* frames between snapshots written to the export */
};
#define CO_SNAP_BUDGET ((size_t)64 << 20) /* per pass: ~20,000 frames of a 600-particle pool */

typedef struct co_snaps co_snaps_t;

/* Whether program p needs a pass: state that reaches back to frame 0. */
bool co_snaps_wanted(const lx_program_t *p);

/* Starts the pass of program p (which must outlive it) under plan, for
 * chunks starting at frames from .. last. dir: the open directory the
 * pass keeps snapshots in and starts from (taken: closed by
 * co_snaps_stop), or -1. budget: bytes of snapshots kept at once (the
 * pass always keeps one). NULL with err (dir closed): LX_E_NOMEM, the
 * instance's errors, LX_E_IO when the thread cannot start. */
co_snaps_t *co_snaps_start(const lx_program_t *p, const lx_export_plan_t *plan, int64_t from,
                           int64_t last, int dir, size_t budget, lx_error_t *err);
/* Stops the pass and frees everything. */
void co_snaps_stop(co_snaps_t **self_p);

/* The nearest snapshot's frame at or before f, or 0 when there is none
 * (warm-up from the timeline start); its bytes in *bytes and *len when
 * those are not NULL, valid until the next co_snaps_release. */
int64_t co_snaps_nearest(co_snaps_t *s, int64_t f, const uint8_t **bytes, size_t *len);

/* Whether a chunk whose warm-up needs the state at f can go now: the pass
 * has kept the snapshot nearest before f, or will keep none (it ended or
 * failed). */
bool co_snaps_ready(co_snaps_t *s, int64_t f);

/* No chunk will start before frame f again: snapshots only those used are
 * freed, and the pass may go on. */
void co_snaps_release(co_snaps_t *s, int64_t f);

/* What the pass did so far: frames evaluated, CPU ms spent, whether it
 * ended (reached the last frame, or failed: *error says why, else ""). */
typedef struct co_snaps_stats {
    uint64_t evaluated, kept, written;
    int64_t started_at; /* the frame it started from (a snapshot on disk, or 0) */
    double cpu_ms;
    bool ended;
    char error[200];
} co_snaps_stats_t;
void co_snaps_stats(co_snaps_t *s, co_snaps_stats_t *out);

#endif
