/* FRAME messages from rendered frames, and their camera field.
 *
 * The camera travels as 17 float64 values: projection, position[3],
 * target[3], up[3], forward[3], fov_y_deg, ortho_height, near, far. */
#ifndef LATTICE_FRAME_MSG_H
#define LATTICE_FRAME_MSG_H

#include "lattice/export.h"
#include "lattice/msg.h"

#define LX_CAMERA_VALUES 17

void lx_camera_to_values(const lx_camera_t *c, double out[LX_CAMERA_VALUES]);
/* False when the list does not hold exactly 17 values, the projection
 * is not a known one, or a value is not finite. */
bool lx_camera_from_values(const lx_f64s_t *v, lx_camera_t *c);

/* Storage a FRAME message points into (no allocation). */
typedef struct lx_frame_msg_store {
    lx_file_rec_t *recs; /* at least res->n_files */
    double camera[LX_CAMERA_VALUES];
} lx_frame_msg_store_t;

/* Fills m as the FRAME of frame res->frame of (job, attempt): every file's
 * key, name, hash and content, and its bytes when with_bytes (stream
 * mode). The message points into res and store; both must outlive it. */
void lx_frame_msg_fill(lx_msg_t *m, const char *job, uint64_t attempt, const lx_frame_result_t *res,
                       double render_ms, bool with_bytes, lx_frame_msg_store_t *store);

#endif
