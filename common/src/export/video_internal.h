/* The video target's settings, shared by the export config, the plan and
 * the manifest writer (internal to common/src/export; video_config.c). */
#ifndef LATTICE_VIDEO_INTERNAL_H
#define LATTICE_VIDEO_INTERNAL_H

#include <cJSON.h>

#include "lattice/export.h"

/* The config key "video" (it, at JSON pointer ptr): a list of keys, or
 * an EX-504 in d. */
void lx_video_config_load(lx_export_config_t *cfg, const cJSON *it, const char *ptr, lx_diags_t *d);

/* Checks plan's video keys against p's frame files: each an 8-bit PNG
 * frame file of the plan (EX-504), an even size (EX-504), at most
 * LX_VIDEO_MAX_FRAMES frames x keys (EX-512); then sorts them into frame-file
 * order, so one set of keys is one config. Diagnostics in d; LX_E_NOMEM
 * only when the frame files cannot be listed for memory. */
lx_result_t lx_video_config_plan(const lx_program_t *p, lx_export_plan_t *plan, lx_diags_t *d);

/* ,"video":[...] for the resolved config, only with keys. */
void lx_video_config_json(const lx_export_config_t *c, lx_strbuf_t *out);

/* The file a key's video is written as: "control/depth" ->
 * "control_depth.mp4" (in OUT/video/). */
void lx_video_file_name(const char *key, char out[LX_VIDEO_KEY_SIZE + 4]);

/* Whether an export file of plan can be a video: an 8-bit PNG of colour,
 * a mask, a control image or edges. */
bool lx_video_file_ok(const lx_export_plan_t *plan, const lx_export_file_t *f);

#endif
