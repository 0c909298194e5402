/* The CLI's side of the protocol: one request, one reply, with a timeout
 * and retries on a fresh socket (the ZeroMQ guide's Lazy Pirate). */
#ifndef LATTICE_CLI_CLIENT_H
#define LATTICE_CLI_CLIENT_H

#include "lattice/curve.h"
#include "lattice/msg.h"

typedef struct cli_client {
    void *ctx, *sock;
    void *monitor; /* with CURVE: the socket's handshake events (a refused key) */
    const char *endpoint;
    long timeout_ms;
    long watch_ms; /* cli_watch_job's polling interval: 200 (in-process: less) */
    int retries;
    lx_curve_keypair_t curve; /* empty public_key: a plain socket */
    char server_key[LX_CURVE_KEY_CHARS + 1];
    lx_arena_t arena; /* the last reply's strings */
} cli_client_t;

/* The endpoint of -c, else $LATTICE_COORDINATOR, else tcp://127.0.0.1:7700. */
const char *cli_endpoint(const char *flag);

/* ctx is a zmq context the caller owns. The socket is plain until
 * cli_client_keys gives it keys. */
void cli_client_init(cli_client_t *c, void *ctx, const char *endpoint);
void cli_client_close(cli_client_t *c);

/* The key options of every client command, as given (docs/security.md). */
typedef struct cli_key_opts {
    const char *secret_key; /* --secret-key FILE; NULL: $LATTICE_SECRET_KEY */
    const char *server_key; /* --server-key FILE|Z85; NULL: $LATTICE_SERVER_KEY */
    bool insecure;          /* --insecure (the variables are then ignored) */
} cli_key_opts_t;

/* The options' lines for a command's --help. */
extern const char *const cli_key_help;

/* Whether argv[*i] is a key option; its value is taken (*i advances). */
bool cli_key_opt(int argc, char **argv, int *i, cli_key_opts_t *o);

/* Loads c's keys from o and the environment for c's endpoint: a tcp
 * endpoint needs both keys or --insecure (which prints a one-line warning
 * on stderr). False, with "lattice CMD: problem" on stderr, when the keys
 * are missing, half given or cannot be read: the command exits CLI_USAGE. */
bool cli_client_keys(cli_client_t *c, const cli_key_opts_t *o, const char *cmd);

/* Sends req and waits for its reply (valid until the next call). An ERROR
 * reply is a reply (LX_OK). LX_E_IO when the coordinator did not answer
 * after every retry, or refused this key at the handshake; LX_E_BADMSG
 * when the reply does not decode. */
lx_result_t cli_client_call(cli_client_t *c, const lx_msg_t *req, lx_msg_t *reply, lx_error_t *err);

/* Prints jobs as a table, or as a JSON array. */
void cli_print_jobs(const lx_job_recs_t *jobs, bool json);

#endif
