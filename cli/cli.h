/* Shared pieces of the `lattice` command-line tool. */
#ifndef LATTICE_CLI_H
#define LATTICE_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lattice/export_config.h"
#include "lattice/files.h"
#include "lattice/ir.h"

struct cJSON;

/* Exit codes every command uses; CLI_INTERRUPTED (128 + SIGINT) when the
 * user stopped a command that can resume. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 130 };

/* Set by a command's SIGINT handler (defined in main.c: process state). */
extern volatile sig_atomic_t cli_interrupted;
/* How this program was invoked (main's argv[0]): what a recorded command
 * runs again. */
extern const char *cli_program;

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command_t;

int cmd_check(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_blocks(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_assemble(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_workers(int argc, char **argv);
int cmd_rerender(int argc, char **argv);
int cmd_keygen(int argc, char **argv);

/* "a-b" or "a" (0 <= a <= b) into an inclusive range; false when malformed. */
bool cli_parse_frames(const char *s, int64_t *a, int64_t *b);

/* The directory of the file at path ("." for a bare name) into dir: what a
 * patch's relative audio path is resolved against. */
void cli_dir_of(const char *path, char *dir, size_t size);

/* Reads a whole file (at most max bytes) into a malloc'd NUL-terminated
 * buffer (lx_read_file; free it with free); prints "lattice: cannot read
 * 'path': reason" and returns NULL on failure. */
char *cli_read_file(const char *path, size_t max, size_t *len);
/* Writes data to an output path the user named: "-" is standard output;
 * anything else goes through lx_write_output (a regular file, or none
 * yet, is replaced atomically: a temporary file in the same directory,
 * flushed, then renamed; a device or FIFO is written in place; a
 * directory or socket is refused). Prints the reason and returns false on
 * failure. */
bool cli_write_file(const char *path, const char *data, size_t len);
/* An integer option value (decimal, nothing else) in [lo, hi] into *out;
 * otherwise prints "lattice CMD: FLAG takes LO to HI" and returns false. */
bool cli_count(const char *cmd, const char *flag, const char *value, long lo, long hi, long *out);
/* Prints *json_p on stdout as cJSON_Print formats it, then a newline;
 * deletes it and NULLs *json_p. A NULL *json_p prints nothing. */
void cli_print_json(struct cJSON **json_p);
/* True when arg is -h or --help. */
bool cli_is_help(const char *arg);

typedef void (*cli_help_fn)(FILE *out);

/* An argument no option of command `cmd` claimed: the patch path when
 * *path is still NULL. Anything else (an unknown option, a second patch)
 * is reported on stderr, with the help for unknown options; returns false
 * then, and the command exits with CLI_USAGE. */
bool cli_take_patch(const char *cmd, const char *arg, const char **path, cli_help_fn help);

/* Reads and compiles a patch, printing its diagnostics to `out` (text, or
 * the JSON list when json; the text summary line only when there is
 * something to say or `summary` asks for it). On success *program is set
 * when program is not NULL. Returns CLI_OK (no errors; warnings allowed), CLI_FAILED
 * (errors) or CLI_USAGE (unreadable file, out of memory). */
int cli_compile_file(const char *path, bool json, bool summary, FILE *out, lx_program_t **program);
/* Like cli_compile_file, but adds the diagnostics to the JSON object
 * report as "diagnostics" (the list `lattice check --json` prints) instead
 * of printing them. Other failures are reported on stderr. */
int cli_compile_file_report(const char *path, struct cJSON *report, lx_program_t **program);

/* Progress of a job on stderr: a bar on a terminal, a line every 2 s
 * otherwise. */
typedef struct cli_progress {
    bool tty;
    double start, last_print;
    int64_t last_done;
    int64_t base; /* frames done at the first update: the rate counts the others */
} cli_progress_t;
void cli_progress_init(cli_progress_t *p);
/* Shows done of total frames with the rate, the time elapsed since init
 * and the estimated time left, both as h:mm:ss (hours unpadded). */
void cli_progress_update(cli_progress_t *p, int64_t done, int64_t total);
/* secs as h:mm:ss, rounded to the second ("0:00:07", "12:30:00"); a
 * negative or non-finite duration is "-:--:--" (not known yet). */
void cli_format_duration(double secs, char *buf, size_t n);
/* A monotonic clock in ms. */
double cli_clock_ms(void *unused);

/* The export options `export` and `submit` share, as given. */
typedef struct cli_export_args {
    const char *patch_path, *config_path, *frames, *artifacts;
    bool allow_past_end; /* --allow-past-end: frames past a finite timeline's end warn (EX-509) */
    const char *preset;  /* --preset NAME */
    double fps;          /* --fps N; 0 = not given */
    bool has_seed;       /* --seed N */
    uint32_t seed;
    const char *patch_text; /* the patch itself (a sweep's variant), read from patch_path if NULL */
    const char *patch_name; /* what diagnostics call it; NULL: patch_path */
    const char *video;   /* --video LIST: frame-file keys to encode as MP4 */
} cli_export_args_t;

/* Takes argv[*i] (and its value) when it is one of the options of
 * cli_export_args_t: --frames, --artifacts, --config, --allow-past-end,
 * --preset, --fps, --seed, --video. 1 taken (*i moved past it), 0 not one of them, -1 a bad
 * value (said on stderr for cmd). */
int cli_export_opt(const char *cmd, int argc, char **argv, int *i, cli_export_args_t *args);
/* Those options' lines for a command's --help. */
extern const char cli_export_opts_help[];

/* Copies args' overrides (frames, artifacts, preset, fps, seed, video,
 * allow-past-end) into req and checks them (lx_export_request_check);
 * false with the problem on stderr for cmd. */
bool cli_export_flags(const char *cmd, const cli_export_args_t *args, lx_export_request_t *req);

/* An export request read from disk and checked here: the patch compiled,
 * the settings planned, diagnostics printed on stderr. The config a
 * coordinator must plan from is wire_config when set, else config_text. The program and
 * plan are kept, so that `lattice export` compiles once. */
typedef struct cli_export_request {
    lx_export_request_t req;
    char *patch_text, *config_text;
    char *wire_config; /* config_text with the flags merged in (see cli_export_request), or NULL */
    char base_dir[LX_PATH_MAX]; /* the patch's directory (its audio file's) */
    lx_program_t *program;
    lx_export_plan_t plan;
    int64_t first, last; /* the planned frames */
    char project[256];
} cli_export_request_t;

/* CLI_OK (warnings allowed), CLI_FAILED (errors), CLI_USAGE (unreadable
 * files, bad flags). Release with cli_export_request_release. */
int cli_export_request(const cli_export_args_t *args, const char *cmd, cli_export_request_t *out);
/* The config text (len bytes, or NULL) with a's flags that have config
 * keys merged in, as they win: what a coordinator plans from (it takes no
 * flags but the artifacts and frames). malloc'd (cJSON_free); NULL when
 * there is nothing to merge or the text does not parse (planning reports
 * that). */
char *cli_export_wire_config(const cli_export_args_t *a, const char *text, size_t len);
void cli_export_request_release(cli_export_request_t *r);

/* Whether rendering plan fits this machine's memory: the estimate of
 * lx_export_memory_estimate for `workers` frame renderers of `threads`
 * threads each, against MemAvailable of /proc/meminfo. When it does not
 * fit, prints "lattice CMD: resolution WxH needs about X per worker (N
 * threads) and Y are available; lower the resolution or the threads"
 * (with the workers' total when workers > 1) on stderr and returns
 * CLI_FAILED, a settings problem like an EX diagnostic; with warn_only it
 * prints the same as a warning and returns CLI_OK. CLI_OK when it fits or
 * when the available memory cannot be read (nothing to compare with). */
int cli_check_memory(const char *cmd, const lx_program_t *p, const lx_export_plan_t *plan,
                     uint32_t threads, uint32_t workers, bool warn_only);

/* path made absolute against the working directory (not resolved); false
 * (reported) when it does not fit. */
bool cli_absolute(const char *path, char *out, size_t size);

struct cli_client;
/* Shows a job's progress (unless quiet) until it ends: CLI_OK done,
 * CLI_FAILED failed or cancelled, CLI_USAGE the coordinator went silent,
 * CLI_INTERRUPTED once cli_interrupted is set (the job goes on). */
int cli_watch_job(struct cli_client *c, const char *job, bool quiet);

#endif
