/* lattice keygen: a CURVE key pair for a coordinator, a worker or a client
 * (docs/security.md, "Keys and roles"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lattice/allowlist.h"
#include "lattice/curve.h"
#include "lattice/files.h"

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: lattice keygen PATH [--role ROLE] [--label TEXT]\n\n"
            "Makes a CURVE key pair (docs/security.md): PATH.secret holds both keys\n"
            "(mode 0600: it stays on the machine it identifies) and PATH.public the\n"
            "public key, for the peers that must recognise it. Existing files are\n"
            "never overwritten; missing directories of PATH are created.\n\n"
            "  --role ROLE          worker, client or admin: print the coordinator's\n"
            "                       allow-list line for the key on stdout\n"
            "  --label TEXT         that line's label (default: the last part of PATH)\n\n"
            "A cluster in three commands:\n"
            "  lattice keygen keys/coordinator\n"
            "  lattice keygen keys/worker --role worker >> keys/allow\n"
            "  lattice keygen keys/me --role admin >> keys/allow\n"
            "then lattice-coordinator --secret-key keys/coordinator.secret --allow\n"
            "keys/allow; workers and clients --secret-key keys/NAME.secret\n"
            "--server-key keys/coordinator.public.\n\n"
            "Exit status: 0 written, 2 usage, an existing file or an I/O problem.\n");
}

/* PATH + suffix into out; false (reported) when it does not fit. */
static bool s_name(char out[LX_PATH_MAX], const char *path, const char *suffix)
{
    int n = snprintf(out, LX_PATH_MAX, "%s%s", path, suffix);
    if (n < 0 || n >= LX_PATH_MAX) {
        fprintf(stderr, "lattice keygen: path too long: '%.200s...'\n", path);
        return false;
    }
    return true;
}

/* Whether anything (a file, a link, even a dangling one) is at path;
 * reported. */
static bool s_taken(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return false;
    fprintf(stderr, "lattice keygen: '%s' exists: a key is never overwritten (remove it first "
                    "to make a new one)\n",
            path);
    return true;
}

/* Creates the directories PATH lives in. */
static bool s_parent(const char *path)
{
    char dir[LX_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return true;
    *slash = '\0';
    lx_error_t err = {0};
    if (lx_mkdirs(dir, &err) != LX_OK) {
        fprintf(stderr, "lattice keygen: %s\n", err.message);
        return false;
    }
    return true;
}

int cmd_keygen(int argc, char **argv)
{
    const char *path = NULL, *role_name = NULL, *label = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool v = i + 1 < argc;
        if (cli_is_help(a)) {
            s_help(stdout);
            return CLI_OK;
        } else if (strcmp(a, "--role") == 0 && v) {
            role_name = argv[++i];
        } else if (strcmp(a, "--label") == 0 && v) {
            label = argv[++i];
        } else if (a[0] != '-' && !path) {
            path = a;
        } else {
            fprintf(stderr, "lattice keygen: unexpected '%s'\n", a);
            s_help(stderr);
            return CLI_USAGE;
        }
    }
    lx_allow_role_t role = LX_ALLOW_WORKER;
    if (!path || !*path || path[strlen(path) - 1] == '/') {
        fprintf(stderr, "lattice keygen: give PATH, the name of the key files without "
                        "extension (keys/worker)\n");
        return CLI_USAGE;
    }
    if (role_name && !lx_allow_role_parse(role_name, &role)) {
        fprintf(stderr, "lattice keygen: --role is worker, client or admin, not '%s'\n",
                role_name);
        return CLI_USAGE;
    }
    if (label && strpbrk(label, "\r\n")) {
        fprintf(stderr, "lattice keygen: --label must be one line\n");
        return CLI_USAGE;
    }
    if (!label) {
        const char *base = strrchr(path, '/');
        label = base ? base + 1 : path;
    }
    char secret[LX_PATH_MAX], public[LX_PATH_MAX];
    if (!s_name(secret, path, ".secret") || !s_name(public, path, ".public"))
        return CLI_USAGE;
    /* Both names are checked before anything is written, so a refusal
     * leaves nothing half made. */
    bool taken = s_taken(secret);
    taken = s_taken(public) || taken;
    if (taken)
        return CLI_USAGE;
    if (!s_parent(path))
        return CLI_USAGE;
    lx_curve_keypair_t kp;
    lx_error_t err = {0};
    lx_result_t rc = lx_curve_generate(&kp, &err);
    if (rc == LX_OK)
        rc = lx_curve_write_secret(secret, &kp, &err);
    if (rc == LX_OK && (rc = lx_curve_write_public(public, kp.public_key, &err)) != LX_OK)
        unlink(secret); /* made just now, by us */
    if (rc != LX_OK) {
        fprintf(stderr, "lattice keygen: %s\n", err.message);
        memset(&kp, 0, sizeof kp);
        return CLI_USAGE;
    }
    fprintf(stderr, "lattice keygen: wrote %s (secret, mode 0600) and %s; public key %s\n",
            secret, public, kp.public_key);
    if (role_name)
        printf("%s %s %s\n", lx_allow_role_name(role), kp.public_key, label);
    memset(&kp, 0, sizeof kp);
    return CLI_OK;
}
