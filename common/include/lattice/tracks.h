/* Tracks: where each instance is in the picture, frame by frame — the
 * point tracks motion-controlled video models take (docs/export-format.md,
 * "Tracks").
 *
 * An instance's point is its translation (the origin of its local frame)
 * projected as the rasterizer projects (lx_camera_project); it is visible
 * at a frame when the instance is drawn there, in front of the camera and
 * inside the picture, 0 <= x < width and 0 <= y < height. The files come
 * from evaluating the program over the plan's frames (no rasterizing), so
 * they need no frame results: whoever writes a manifest writes them, and
 * the same program and plan give the same bytes.
 *
 *   tracks/tracks.json      {version, frameRate, frames: [first, last],
 *                           width, height, tracks: [{id, points}]}: one
 *                           track per instance id (ids 1..n_ids, in order),
 *                           points[i] = [x, y] at frame first + i, or null
 *                           where it is not visible.
 *   tracks/ati_tracks.json  what ComfyUI-WanVideoWrapper's WanVideoATITracks
 *                           node reads: a list of tracks, each a list of
 *                           {"x", "y"} in pixels. The node reads at most
 *                           121 points as 24 fps and marks the points after
 *                           a track's end invisible (it has no other way to
 *                           say so): points are resampled to 24 fps from
 *                           the frames (linear between two visible
 *                           frames), a track ends before its first
 *                           invisible point, and instances not visible at
 *                           the first frame have no track. */
#ifndef LATTICE_TRACKS_H
#define LATTICE_TRACKS_H

#include "lattice/export_config.h"
#include "lattice/strbuf.h"

/* Most points (instances x frames) a tracks artifact holds: 8 MiB of
 * positions while the files are written. lx_export_plan refuses more
 * (EX-511). */
#define LX_TRACKS_MAX_POINTS (1u << 20)
/* Most frames the tracks' evaluation pass runs, warm-up included: the
 * files are written with metadata.json, in a coordinator's event loop, so
 * their cost is bounded (EX-511 above it). */
#define LX_TRACKS_MAX_EVAL 100000u

/* Frames lx_tracks_write evaluates for plan: its frames and the warm-up
 * before them (p's state horizon; from frame 0 when unbounded). */
uint64_t lx_tracks_eval_frames(const lx_program_t *p, const lx_export_plan_t *plan);

/* Points per ATI track and their rate (WanVideoATITracks' FIXED_LENGTH). */
#define LX_ATI_POINTS 121
#define LX_ATI_FPS 24.0

/* Evaluates p over plan's frames and appends tracks.json to full and
 * ati_tracks.json to ati (check their `failed` flags). alloc may be NULL.
 * LX_E_LIMIT when plan holds more than LX_TRACKS_MAX_POINTS points,
 * LX_E_NOMEM, or the evaluation's error. Thread-safe for distinct
 * outputs. */
lx_result_t lx_tracks_write(const lx_program_t *p, const lx_export_plan_t *plan,
                            const lx_alloc_t *alloc, lx_strbuf_t *full, lx_strbuf_t *ati,
                            lx_error_t *err);

#endif
