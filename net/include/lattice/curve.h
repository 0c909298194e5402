/* CURVE keys, key files and the security options of sockets
 * (docs/security.md, "Keys and roles").
 *
 * Every tcp endpoint of a cluster is CURVE (ZeroMQ RFC 26): the
 * coordinator's ROUTER is the server, with a key pair of its own; workers
 * and clients are clients, each with its own key pair and the
 * coordinator's public key. Who may connect is the coordinator's
 * allow-list (allowlist.h), asked through ZAP (coordinator/src/zap.h).
 *
 * Keys are Z85 text (ZeroMQ RFC 32): 40 characters for 32 bytes. Key files
 * are small text files of `name = value` lines:
 *
 *   # Lattice CURVE secret key: ...
 *   public-key = <40 characters>
 *   secret-key = <40 characters>
 *
 * A secret key file holds both keys, is created mode 0600 and is refused
 * when group or others may read or write it; a public key file holds
 * `public-key` alone. Nothing here keeps state: every function is safe to
 * call from several threads at once (the socket functions on sockets the
 * caller owns). */
#ifndef LATTICE_CURVE_H
#define LATTICE_CURVE_H

#include <stdbool.h>

#include "lattice/result.h"

enum {
    LX_CURVE_KEY_CHARS = 40,      /* a 32-byte key in Z85 */
    LX_CURVE_HANDSHAKE_MS = 5000, /* ZMQ_HANDSHAKE_IVL of every socket here */
};

/* The ZAP domain of the coordinator's socket (ZMQ_ZAP_DOMAIN). */
#define LX_CURVE_ZAP_DOMAIN "lattice"

/* A key pair as Z85 text. Invariant: both keys are 40 Z85 characters and a
 * NUL, and public_key is the public half of secret_key; or public_key[0]
 * is '\0': no key (the socket stays plain). Zero-initialize it. */
typedef struct lx_curve_keypair {
    char public_key[LX_CURVE_KEY_CHARS + 1];
    char secret_key[LX_CURVE_KEY_CHARS + 1];
} lx_curve_keypair_t;

/* Whether this libzmq can do CURVE (zmq_has("curve"): built with
 * libsodium or tweetnacl). */
bool lx_curve_available(void);

/* Whether text is a key: exactly 40 characters that decode as Z85. */
bool lx_curve_key_valid(const char *text);

/* Whether an endpoint needs keys: anything but ipc:// and inproc://, whose
 * peers are this machine's processes (file permissions) or this process. */
bool lx_curve_endpoint_needs_keys(const char *endpoint);

/* A fresh key pair (zmq_curve_keypair). LX_E_INVALID when libzmq has no
 * CURVE. */
lx_result_t lx_curve_generate(lx_curve_keypair_t *kp, lx_error_t *err);

/* Writes the secret key file at path (both keys), mode 0600. The file is
 * created, never replaced: an existing file or a symbolic link at path is
 * refused (O_CREAT | O_EXCL | O_NOFOLLOW), so a key is never overwritten
 * and never written through a link. Returns LX_OK; LX_E_IO with the path
 * and the system's reason (nothing is left behind on failure). */
lx_result_t lx_curve_write_secret(const char *path, const lx_curve_keypair_t *kp,
                                  lx_error_t *err);

/* Writes the public key file at path, mode 0644, under the same rules. */
lx_result_t lx_curve_write_public(const char *path, const char *public_key, lx_error_t *err);

/* Reads a secret key file into *kp. Refused: a file that group or others
 * may read or write (the message names `chmod 600 PATH`), that is not a
 * regular file, a line that is not `public-key = KEY`, `secret-key = KEY`,
 * a comment or blank (the message names path:line), a missing or invalid
 * key, a public key that is not the secret key's. LX_E_IO when it cannot
 * be read, LX_E_INVALID otherwise; *kp is zeroed on failure. */
lx_result_t lx_curve_load_secret(const char *path, lx_curve_keypair_t *kp, lx_error_t *err);

/* A public key given as a file (a public key file: `public-key = KEY`) or
 * as the 40 characters themselves: an existing path is read as a file,
 * anything else must be a key. A file holding a secret key is refused
 * (give the .public file). Writes the key and a NUL to out. */
lx_result_t lx_curve_load_public(const char *file_or_key, char out[LX_CURVE_KEY_CHARS + 1],
                                 lx_error_t *err);

/* The keys of a connecting process (a worker, a client) from its options:
 * secret_file (--secret-key) and server_key (--server-key, a file or a
 * key), or insecure (--insecure). For an endpoint that needs keys
 * (lx_curve_endpoint_needs_keys) one of the two ways is required; keys
 * may also be given for ipc://. On success *kp and server hold the keys,
 * or *kp is zeroed (a plain socket). LX_E_INVALID, with a message naming
 * the flags, for a missing way, half a pair of options, or --insecure
 * with keys; the errors of the load functions. */
lx_result_t lx_curve_client_keys(const char *endpoint, const char *secret_file,
                                 const char *server_key, bool insecure, lx_curve_keypair_t *kp,
                                 char server[LX_CURVE_KEY_CHARS + 1], lx_error_t *err);

/* Makes sock a CURVE server with kp (ZMQ_CURVE_SERVER, ZMQ_CURVE_SECRETKEY)
 * in the ZAP domain LX_CURVE_ZAP_DOMAIN. Call before bind. LX_E_IO with
 * libzmq's reason. */
lx_result_t lx_curve_set_server(void *sock, const lx_curve_keypair_t *kp, lx_error_t *err);

/* Makes sock a CURVE client with its own pair kp that accepts only the
 * server whose public key is server_key (ZMQ_CURVE_SERVERKEY,
 * ZMQ_CURVE_PUBLICKEY, ZMQ_CURVE_SECRETKEY). Call before connect. */
lx_result_t lx_curve_set_client(void *sock, const lx_curve_keypair_t *kp, const char *server_key,
                                lx_error_t *err);

/* ZMQ_HANDSHAKE_IVL: a connection that has not finished its handshake
 * (greeting, CURVE, ZAP) after ms is dropped, so idle unauthenticated
 * connections cost nothing for long. */
lx_result_t lx_curve_set_handshake(void *sock, int ms, lx_error_t *err);

#endif
