/* Export configuration and the analysis that precedes rendering
 * (docs/export-format.md, "Export config").
 *
 * A config starts from defaults (lx_export_config_init), takes a JSON file
 * (lx_export_config_load_json) and then command-line values (the caller
 * sets fields; flags win). lx_export_plan() checks it against a program
 * and resolves everything an export needs: the frame range, sampling,
 * resolution, depth range. Problems are EX-5xx diagnostics, reported
 * before any frame is rendered. */
#ifndef LATTICE_EXPORT_CONFIG_H
#define LATTICE_EXPORT_CONFIG_H

#include "lattice/diag.h"
#include "lattice/encode.h"
#include "lattice/instance.h"
#include "lattice/sampling.h"
#include "lattice/video.h"

enum {
    LX_ART_RGBA = 1 << 0,
    LX_ART_DEPTH = 1 << 1,
    LX_ART_MOTION = 1 << 2,
    LX_ART_NORMAL = 1 << 3,
    LX_ART_ID = 1 << 4,
    LX_ART_MASK = 1 << 5,
    LX_ART_CAMERA = 1 << 6,
    LX_ART_CONTROL = 1 << 7,
    LX_ART_PARTICLES = 1 << 8,
    LX_ART_SEMANTIC = 1 << 9,
    LX_ART_EDGES = 1 << 10,
    LX_ART_TRACKS = 1 << 11,
    LX_ART_SVG = 1 << 12,
    LX_ART_AUDIO = 1 << 13, /* audio/features.npz, for a patch with audio */
    LX_ART_COUNT = 14,
    LX_ART_DEFAULT = (1 << 7) - 1,        /* rgba .. camera: not control or a later one */
    LX_ART_ALL = (1 << LX_ART_COUNT) - 1, /* `--artifacts all` */
};

/* The artifact names, in bit order. */
extern const char *const lx_artifact_names[LX_ART_COUNT];
/* The names and presets an artifact list takes, for messages. */
#define LX_ARTIFACT_LIST                                                                           \
    "rgba, depth, motion, normal, id, mask, camera, control, particles, semantic, edges, tracks, " \
    "svg, audio; "                                                                                  \
    "all, comfyui"

/* The artifacts `--artifacts comfyui` selects: what ComfyUI loads from PNG
 * folders (rgba, mask, control) and the camera files for camera-control
 * models. */
#define LX_ART_COMFYUI (LX_ART_RGBA | LX_ART_MASK | LX_ART_CAMERA | LX_ART_CONTROL)

/* How control/depth is normalized (config key controlDepthRange; docs/
 * export-format.md, "Control images"). After lx_export_plan a plan's
 * control_depth is never LX_CDEPTH_AUTO, and LX_CDEPTH_SHOT is measured. */
typedef enum lx_control_depth {
    LX_CDEPTH_AUTO,   /* depthRange's [near, far] when given (-> RANGE), else SHOT */
    LX_CDEPTH_SHOT,   /* the visible depth range of the exported frames (lx_shot_measure) */
    LX_CDEPTH_CAMERA, /* each frame's camera near/far */
    LX_CDEPTH_RANGE   /* control_depth_near/far from the config */
} lx_control_depth_t;

/* Export presets (config key "preset", flag --preset): starting values
 * for the settings a family of models expects; any setting given as well
 * wins. */
typedef enum lx_export_preset {
    LX_PRESET_NONE,
    LX_PRESET_WAN /* Wan 2.1/2.2: 832x480 at 16 fps; 4n+1 frames (EX-510 otherwise) */
} lx_export_preset_t;

typedef struct lx_export_config {
    size_t size;
    lx_export_preset_t preset;
    bool has_frames;
    int64_t first, last;
    uint32_t width, height; /* 0 = the patch's output size */
    double fps;             /* frames per second; 0 = the patch's output fps */
    bool has_seed;          /* seed in place of the patch's (false once planned when equal) */
    uint32_t seed;
    uint32_t artifacts;     /* LX_ART_* */
    bool color_exr, float_npy, mask_exr;
    bool has_depth_range;
    double depth_near, depth_far;
    double motion_scale;
    double alpha_threshold;    /* [0, 1], default 0.5: least opacity x alpha the geometry passes see */
    uint32_t frames_per_cycle; /* 0 = default */
    lx_exr_compression_t exr_compression;
    int png_level;
    uint32_t edge_thickness; /* edges: line width in pixels, 1..16 (default 1) */
    double svg_tolerance;    /* svg: curve flattening tolerance in pixels (lattice/svg.h) */
    /* The control tier (used only with LX_ART_CONTROL). */
    lx_control_depth_t control_depth;
    double control_depth_near, control_depth_far; /* RANGE, or SHOT once measured */
    bool control_depth_measured;                  /* SHOT: near/far hold the measured range */
    bool control_depth16;                         /* formats.controlDepth png16 (else png8) */
    double flow_scale;                            /* px at the wheel's rim; 0 = the shot's */
    bool flow_scale_measured;                     /* flow_scale is the shot's, measured */
    /* Frames past the last frame of a finite timeline (EX-509) are a
     * warning instead of an error: they all render the timeline's end. */
    bool allow_past_end;
    /* The video target (config key "video", flag --video; docs/
     * export-format.md, "Video"): frame-file keys ("rgba", "mask/cards",
     * "control/depth") whose 8-bit PNGs the manifest writer encodes into
     * video/<key, '/' as '_'>.mp4; in the plan's frame-file order after
     * lx_export_plan. n_video 0: no video. */
    uint32_t n_video;
    char video[LX_VIDEO_MAX_KEYS][LX_VIDEO_KEY_SIZE];
} lx_export_config_t;

void lx_export_config_init(lx_export_config_t *cfg);

/* Applies the preset called name ("wan") to cfg: its resolution and fps.
 * false (cfg untouched) for an unknown name. */
bool lx_export_config_preset(lx_export_config_t *cfg, const char *name);

/* Applies a config file's JSON on top of cfg: its "preset" first, then
 * its other keys, which win over the preset. Unknown keys (EX-505) and
 * bad values (EX-504) become diagnostics located by JSON pointer; returns
 * LX_E_DIAG when there were errors, LX_E_PARSE for invalid JSON (also
 * reported). */
lx_result_t lx_export_config_load_json(lx_export_config_t *cfg, const char *text, size_t len,
                                       lx_diags_t *diags);

/* Sets cfg's video keys from a list "rgba,control/depth" ("" = none),
 * replacing them; false (cfg unchanged) with the reason in why (a key
 * that is not one, a repeated key, more than LX_VIDEO_MAX_KEYS).
 * Whether the plan has those frame files is lx_export_plan's check. */
bool lx_export_config_video(lx_export_config_t *cfg, const char *list, char *why,
                            size_t why_size);

/* The longest artifact name lx_export_parse_artifacts reports, with its NUL. */
enum { LX_ARTIFACT_NAME_MAX = 64 };

/* The artifact name (or "all", "comfyui") name was most likely meant to
 * be, or NULL. */
const char *lx_export_suggest_artifact(const char *name);

/* Parses an artifact list "rgba,depth,mask", where "all" is every artifact
 * and "comfyui" is LX_ART_COMFYUI; false when a name is unknown (its text,
 * shortened to fit, in bad; "" for an empty list). Thread-safe. */
bool lx_export_parse_artifacts(const char *list, uint32_t *mask, char bad[LX_ARTIFACT_NAME_MAX]);

/* Everything an export needs, resolved. Depth is normalized by each
 * frame's camera near/far unless cfg.has_depth_range. */
typedef struct lx_export_plan {
    lx_export_config_t cfg;
    lx_sampling_t sampling;
    int64_t first, last;
    uint32_t width, height;
    uint32_t n_ids; /* stable instance ids the program can draw */
    bool exact_closure; /* cyclic: frame N will equal frame 0 bit for bit */
    lx_digest_t config_hash;
} lx_export_plan_t;

/* Checks cfg against p and resolves the plan: an infinite timeline
 * without frames (EX-506), bad sizes, ranges or alpha threshold (EX-504), frames past the
 * last frame of a finite timeline, ceil(D * fps / 1000) - 1 (EX-509: an
 * error, a warning with cfg->allow_past_end), inexact frames
 * per cycle (EX-503, a warning), more than 65535 ids with the id artifact
 * (EX-507), a cyclic program whose frames depend on the absolute time, the
 * cycle index or integrating state, so frame N cannot equal frame 0
 * (EX-508, a warning). With the control artifact it also resolves the
 * control tier: controlDepthRange "auto" becomes depthRange's range or the
 * shot's, and a shot range or flow scale not measured yet is measured by
 * evaluating every exported frame (lx_shot_measure, no rasterizing). A
 * config that came from lx_export_plan_config_json carries the measured
 * values, so rebuilding a plan from it (workers, the coordinator, rerender)
 * evaluates nothing and gives the same config hash. Returns LX_OK,
 * LX_E_DIAG or LX_E_NOMEM. */
lx_result_t lx_export_plan(const lx_program_t *p, const lx_export_config_t *cfg,
                           lx_export_plan_t *plan, lx_diags_t *diags);

/* plan with another seed: its config with the seed set and what was
 * measured for the old one (the control tier's shot) unmeasured, planned
 * again over p into *out. Returns as lx_export_plan. */
lx_result_t lx_export_plan_reseed(const lx_program_t *p, const lx_export_plan_t *plan,
                                  uint32_t seed, lx_export_plan_t *out, lx_diags_t *diags);

/* The config of an instance that evaluates plan's frames as the export
 * samples them (its fps and frames per cycle). */
lx_instance_config_t lx_export_plan_instance(const lx_export_plan_t *plan);

/* lx_export_plan of a resolved config given as its JSON text (what
 * lx_export_plan_config_json writes, and journals, manifests and ASSIGN
 * carry): a config file applied on top of the defaults, then planned.
 * LX_OK, LX_E_DIAG or LX_E_PARSE (problems in diags), LX_E_NOMEM. */
lx_result_t lx_export_plan_json(const lx_program_t *p, const char *config, lx_export_plan_t *plan,
                                lx_diags_t *diags);

/* The resolved config as canonical JSON (the configHash is its SHA-256):
 * everything that changes output bytes, nothing else (no threads, no
 * paths). "allowPastEnd": true appears only when the frames go past a
 * finite timeline's end, the one case where it decides whether the plan
 * exists (so the resolved config plans again anywhere); elsewhere the
 * setting changes no byte and stays out of the hash. Appends to out. */
void lx_export_plan_config_json(const lx_export_plan_t *plan, lx_strbuf_t *out);

/* What an export request carries, before anything is checked: the patch
 * and config texts and the command-line overrides. */
typedef struct lx_export_request {
    size_t size;
    const char *patch;       /* JSON text */
    size_t patch_len;
    const char *patch_name;  /* for diagnostics ("orbit.json") */
    const char *config;      /* JSON text or NULL */
    size_t config_len;
    const char *config_name; /* for diagnostics */
    bool has_frames;
    int64_t first, last;
    const char *artifacts;   /* "rgba,depth" or NULL */
    bool allow_past_end;     /* sets cfg.allow_past_end (a flag can only turn it on) */
    const char *preset;      /* "wan" or NULL */
    double fps;              /* 0 = not given */
    bool has_seed;           /* seed in place of the patch's */
    uint32_t seed;
    const char *base_dir;    /* a relative audio file's directory (lx_compile_config_t) */
    bool no_files;           /* a peer's patch: read no file (lx_compile_config_t) */
    const char *video;       /* "rgba,control/depth" or NULL (lx_export_config_video) */
} lx_export_request_t;
#define LX_EXPORT_REQUEST_INIT                                                                     \
    {sizeof(lx_export_request_t), NULL, 0, NULL, NULL, 0, NULL, false, 0, 0, NULL, false, NULL, 0, \
     false, 0, NULL, false, NULL}

/* Checks req's overrides before anything is compiled: artifact names,
 * preset, fps and video keys. LX_OK, or LX_E_INVALID with the problem
 * (and a likely fix) in err. Thread-safe. */
lx_result_t lx_export_request_check(const lx_export_request_t *req, lx_error_t *err);

/* Applies req's overrides (checked) to cfg, which holds the config file's
 * settings: the overrides win. */
void lx_export_request_apply(const lx_export_request_t *req, lx_export_config_t *cfg);

/* Compiles the patch, applies the config and the overrides and plans the
 * export: the one path from request to (program, plan) that `lattice
 * export`, `lattice submit` and the coordinator share. Diagnostics (errors
 * and warnings) are appended to `report` as text. Returns LX_OK (warnings
 * allowed; *out set), LX_E_DIAG (errors in the patch or settings),
 * LX_E_INVALID (an unknown artifact name, in err) or LX_E_NOMEM. */
lx_result_t lx_export_prepare(const lx_export_request_t *req, const lx_alloc_t *alloc,
                              lx_program_t **out, lx_export_plan_t *plan, lx_strbuf_t *report,
                              lx_error_t *err);

#endif
