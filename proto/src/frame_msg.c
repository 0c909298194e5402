/* FRAME messages from rendered frames (see frame_msg.h). */
#include "lattice/frame_msg.h"

#include <math.h>
#include <string.h>

void lx_camera_to_values(const lx_camera_t *c, double out[LX_CAMERA_VALUES])
{
    out[0] = (double)c->projection;
    memcpy(out + 1, c->position, sizeof c->position);
    memcpy(out + 4, c->target, sizeof c->target);
    memcpy(out + 7, c->up, sizeof c->up);
    memcpy(out + 10, c->forward, sizeof c->forward);
    out[13] = c->fov_y_deg;
    out[14] = c->ortho_height;
    out[15] = c->near;
    out[16] = c->far;
}

bool lx_camera_from_values(const lx_f64s_t *v, lx_camera_t *c)
{
    if (v->n != LX_CAMERA_VALUES)
        return false;
    const double *x = v->v;
    if (x[0] != (double)LX_PROJ_PERSPECTIVE && x[0] != (double)LX_PROJ_ORTHOGRAPHIC)
        return false;
    /* Every value ends up in camera/trajectory.json, which has no NaN. */
    for (uint32_t k = 1; k < LX_CAMERA_VALUES; k++)
        if (!isfinite(x[k]))
            return false;
    memset(c, 0, sizeof *c);
    c->projection = (lx_projection_t)(int)x[0];
    memcpy(c->position, x + 1, sizeof c->position);
    memcpy(c->target, x + 4, sizeof c->target);
    memcpy(c->up, x + 7, sizeof c->up);
    memcpy(c->forward, x + 10, sizeof c->forward);
    c->fov_y_deg = x[13];
    c->ortho_height = x[14];
    c->near = x[15];
    c->far = x[16];
    return true;
}

void lx_frame_msg_fill(lx_msg_t *m, const char *job, uint64_t attempt, const lx_frame_result_t *res,
                       double render_ms, bool with_bytes, lx_frame_msg_store_t *store)
{
    memset(m, 0, sizeof *m);
    m->type = LX_MSG_FRAME;
    LX_MSG_SET(m, job, job);
    LX_MSG_SET(m, attempt, attempt);
    LX_MSG_SET(m, frame, res->frame);
    LX_MSG_SET(m, render_ms, render_ms);
    LX_MSG_SET(m, t_ms, res->time.t_ms);
    lx_camera_to_values(&res->camera, store->camera);
    LX_MSG_SET(m, camera, ((lx_f64s_t){store->camera, LX_CAMERA_VALUES}));
    for (uint32_t i = 0; i < res->n_files; i++) {
        const lx_artifact_file_t *a = &res->files[i];
        lx_file_rec_t *r = &store->recs[i];
        memset(r, 0, sizeof *r);
        LX_REC_SET(r, LX_FILE_REC, key, a->key);
        LX_REC_SET(r, LX_FILE_REC, name, a->name);
        LX_REC_SET(r, LX_FILE_REC, hash, a->hash);
        LX_REC_SET(r, LX_FILE_REC, content, a->content);
        if (with_bytes)
            LX_REC_SET(r, LX_FILE_REC, bytes,
                       ((lx_bytes_t){(const uint8_t *)a->bytes.buf, a->bytes.len}));
    }
    LX_MSG_SET(m, files, ((lx_file_recs_t){store->recs, res->n_files}));
}
