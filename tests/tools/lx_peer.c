/* A misbehaving peer for the cluster tests, speaking to a coordinator over
 * a real socket. Before the mode, the keys of lattice-worker and the CLI:
 * --secret-key FILE --server-key FILE|Z85, or --insecure (a tcp endpoint
 * needs one of them).
 *
 *   lx_peer idle ENDPOINT MS     says HELLO, never READY, heartbeats for MS;
 *                                prints "assigns=N" (N must stay 0)
 *   lx_peer ask ENDPOINT TYPE MS sends one HELLO, SUBMIT, STATUS or WORKERS
 *                                and prints the first answer within MS:
 *                                "reply=JOBS", "reply=ERROR code=forbidden",
 *                                "reply=none"
 *   lx_peer idle-tcp ENDPOINT N MS  opens N plain TCP connections that never
 *                                say anything, prints "open=N" once they are
 *                                all open, then waits (at most MS) until the
 *                                coordinator drops them and prints
 *                                "dropped=M" (the handshake interval)
 *   lx_peer garbage ENDPOINT     sends malformed messages of every kind;
 *                                prints "sent=N answered=M"
 *   lx_peer oversized ENDPOINT BYTES  sends one message of BYTES bytes
 *   lx_peer bad-submit ENDPOINT OUT  sends SUBMITs (to OUT) with both a patch and a
 *                                program, and with neither; prints
 *                                "refused=N" (ERROR bad_request answers) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "lattice/curve.h"
#include "lattice/msg.h"

/* The keys every zmq socket here uses (empty: plain). */
static lx_curve_keypair_t s_keys;
static char s_server_key[LX_CURVE_KEY_CHARS + 1];

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *s_dealer(void *ctx, const char *endpoint)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    lx_error_t err = {0};
    if (s_keys.public_key[0] && lx_curve_set_client(s, &s_keys, s_server_key, &err) != LX_OK) {
        fprintf(stderr, "lx_peer: %s\n", err.message);
        exit(2);
    }
    if (zmq_connect(s, endpoint) != 0) {
        fprintf(stderr, "lx_peer: cannot connect to %s\n", endpoint);
        exit(2);
    }
    return s;
}

static void s_send_msg(void *s, const lx_msg_t *m)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_error_t err = {0};
    if (lx_msg_encode(m, &sb, &err) != LX_OK) {
        fprintf(stderr, "lx_peer: %s\n", err.message);
        exit(2);
    }
    zmq_send(s, sb.buf, sb.len, 0);
    lx_strbuf_release(&sb);
}

/* Receives for up to ms; returns the number of messages of type `type`
 * (LX_MSG_NONE: any) and, when code is not NULL, ERRORs with that code. */
static int s_drain_code(void *s, double ms, lx_msg_type_t type, const char *code)
{
    int n = 0;
    double until = s_now() + ms;
    while (s_now() < until) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, (long)(until - s_now()) + 1) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s, 0) >= 0) {
            lx_arena_t arena;
            lx_arena_init(&arena, NULL);
            lx_msg_t m;
            if (lx_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &arena, &m, NULL) == LX_OK &&
                (type == LX_MSG_NONE || m.type == type) &&
                (!code || (m.type == LX_MSG_ERROR && strcmp(m.code, code) == 0)))
                n++;
            lx_arena_release(&arena);
        }
        zmq_msg_close(&msg);
    }
    return n;
}

static int s_drain(void *s, double ms, lx_msg_type_t type)
{
    return s_drain_code(s, ms, type, NULL);
}

static int s_idle(void *ctx, const char *endpoint, double ms)
{
    void *s = s_dealer(ctx, endpoint);
    lx_msg_t hello = {.type = LX_MSG_HELLO};
    LX_MSG_SET(&hello, name, "never-ready");
    LX_MSG_SET(&hello, build, "lx_peer");
    LX_MSG_SET(&hello, threads, 1);
    s_send_msg(s, &hello);
    int assigns = 0;
    double until = s_now() + ms;
    while (s_now() < until) {
        lx_msg_t hb = {.type = LX_MSG_HEARTBEAT};
        s_send_msg(s, &hb);
        assigns += s_drain(s, 300, LX_MSG_ASSIGN);
    }
    printf("assigns=%d\n", assigns);
    zmq_close(s);
    return 0;
}

static int s_garbage(void *ctx, const char *endpoint)
{
    void *s = s_dealer(ctx, endpoint);
    int sent = 0;
    /* Not msgpack at all; a map with a bad proto; an unknown type; a
     * truncated valid message; a string length past the end; a map claiming
     * 2^32 entries; a message from a worker that never said HELLO. */
    static const unsigned char junk[][20] = {
        {0xde, 0xad, 0xbe, 0xef},
        {0x82, 0xa5, 'p', 'r', 'o', 't', 'o', 0x07, 0xa4, 't', 'y', 'p', 'e', 0xa1, 'X'},
        {0x82, 0xa5, 'p', 'r', 'o', 't', 'o', 0x01, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'B', 'A', 'D'},
        {0x82, 0xa5, 'p', 'r', 'o', 't', 'o', 0x01, 0xa4, 't', 'y', 'p', 'e', 0xa6, 'S'},
        {0x81, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'x'},
        {0xdf, 0xff, 0xff, 0xff, 0xff},
    };
    static const size_t lens[] = {4, 15, 17, 15, 7, 5};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++, sent++)
        zmq_send(s, junk[i], lens[i], 0);
    lx_msg_t ready = {.type = LX_MSG_READY};
    LX_MSG_SET(&ready, credit, 4);
    s_send_msg(s, &ready);
    sent++;
    /* An envelope with too many parts. */
    zmq_send(s, "a", 1, ZMQ_SNDMORE);
    zmq_send(s, "b", 1, ZMQ_SNDMORE);
    zmq_send(s, "c", 1, 0);
    sent++;
    int answered = s_drain(s, 1500, LX_MSG_ERROR);
    printf("sent=%d answered=%d\n", sent, answered);
    zmq_close(s);
    return 0;
}

static int s_oversized(void *ctx, const char *endpoint, size_t bytes)
{
    void *s = s_dealer(ctx, endpoint);
    char *big = calloc(1, bytes);
    if (!big)
        return 2;
    memset(big, 0x90, bytes);
    zmq_send(s, big, bytes, 0);
    int replies = s_drain(s, 1000, LX_MSG_NONE);
    printf("replies=%d\n", replies);
    free(big);
    zmq_close(s);
    return 0;
}

static int s_bad_submit(void *ctx, const char *endpoint, const char *out)
{
    void *s = s_dealer(ctx, endpoint);
    static const uint8_t program[] = {0x90};
    lx_msg_t both = {.type = LX_MSG_SUBMIT};
    LX_MSG_SET(&both, token, "bad-submit-both");
    LX_MSG_SET(&both, out, out);
    LX_MSG_SET(&both, patch, "{}");
    LX_MSG_SET(&both, program, ((lx_bytes_t){program, sizeof program}));
    LX_MSG_SET(&both, config, "{}");
    s_send_msg(s, &both);
    lx_msg_t neither = {.type = LX_MSG_SUBMIT};
    LX_MSG_SET(&neither, token, "bad-submit-neither");
    LX_MSG_SET(&neither, out, out);
    s_send_msg(s, &neither);
    printf("refused=%d\n", s_drain_code(s, 1500, LX_MSG_ERROR, "bad_request"));
    zmq_close(s);
    return 0;
}

/* The first answer to one message of type `type` ("reply=..."). */
static int s_ask(void *ctx, const char *endpoint, const char *type, double ms)
{
    void *s = s_dealer(ctx, endpoint);
    lx_msg_t m = {.type = LX_MSG_NONE};
    if (strcmp(type, "HELLO") == 0) {
        m.type = LX_MSG_HELLO;
        LX_MSG_SET(&m, name, "asker");
        LX_MSG_SET(&m, build, "lx_peer");
        LX_MSG_SET(&m, threads, 1);
    } else if (strcmp(type, "SUBMIT") == 0) {
        m.type = LX_MSG_SUBMIT;
        LX_MSG_SET(&m, token, "lx_peer-ask");
        LX_MSG_SET(&m, out, "/nonexistent/lx_peer-ask");
        LX_MSG_SET(&m, patch, "{}");
    } else if (strcmp(type, "STATUS") == 0) {
        m.type = LX_MSG_STATUS;
    } else if (strcmp(type, "WORKERS") == 0) {
        m.type = LX_MSG_WORKERS;
    } else {
        fprintf(stderr, "lx_peer: ask takes HELLO, SUBMIT, STATUS or WORKERS, not '%s'\n", type);
        return 2;
    }
    s_send_msg(s, &m);
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_poll(&it, 1, (long)ms) > 0 && zmq_msg_recv(&msg, s, 0) >= 0) {
        lx_arena_t arena;
        lx_arena_init(&arena, NULL);
        lx_msg_t r;
        if (lx_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &arena, &r, NULL) != LX_OK)
            printf("reply=undecodable\n");
        else if (r.type == LX_MSG_ERROR)
            printf("reply=ERROR code=%s message=%s\n", r.code, r.message);
        else
            printf("reply=%s\n", lx_msg_type_name(r.type));
        lx_arena_release(&arena);
    } else {
        printf("reply=none\n");
    }
    zmq_msg_close(&msg);
    zmq_close(s);
    return 0;
}

/* Connections that complete TCP and then say nothing: what a flood of idle
 * or half-open clients costs the coordinator. */
static int s_idle_tcp(const char *endpoint, long n, double ms)
{
    unsigned a, b, c, d, port;
    if (sscanf(endpoint, "tcp://%u.%u.%u.%u:%u", &a, &b, &c, &d, &port) != 5) {
        fprintf(stderr, "lx_peer: idle-tcp needs tcp://A.B.C.D:PORT, not '%s'\n", endpoint);
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct pollfd *fds = calloc((size_t)n, sizeof *fds);
    if (!fds)
        return 2;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl((uint32_t)(a << 24 | b << 16 | c << 8 | d));
    for (long i = 0; i < n; i++) {
        fds[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        fds[i].events = POLLIN;
        if (fds[i].fd < 0 || connect(fds[i].fd, (struct sockaddr *)&to, sizeof to) != 0) {
            fprintf(stderr, "lx_peer: connection %ld of %ld: %s\n", i + 1, n, strerror(errno));
            return 2;
        }
    }
    printf("open=%ld\n", n);
    fflush(stdout);
    long dropped = 0;
    double until = s_now() + ms;
    while (dropped < n && s_now() < until) {
        if (poll(fds, (nfds_t)n, (int)(until - s_now()) + 1) <= 0)
            continue;
        for (long i = 0; i < n; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char buf[256];
            /* The greeting is read and ignored; end of file or a reset is
             * the coordinator giving up on the connection. */
            ssize_t k = read(fds[i].fd, buf, sizeof buf);
            if (k <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                dropped++;
            }
        }
    }
    printf("dropped=%ld\n", dropped);
    for (long i = 0; i < n; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    free(fds);
    return 0;
}

int main(int argc, char **argv)
{
    /* Key options first: --secret-key FILE --server-key KEY | --insecure. */
    const char *secret = NULL, *server = NULL;
    bool insecure = false;
    while (argc > 2 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--insecure") == 0) {
            insecure = true;
            argv++, argc--;
        } else if (strcmp(argv[1], "--secret-key") == 0) {
            secret = argv[2];
            argv += 2, argc -= 2;
        } else if (strcmp(argv[1], "--server-key") == 0) {
            server = argv[2];
            argv += 2, argc -= 2;
        } else {
            break;
        }
    }
    if (argc < 3) {
        fprintf(stderr, "usage: lx_peer [--secret-key F --server-key K | --insecure] "
                        "idle|garbage|oversized|bad-submit|ask|idle-tcp ENDPOINT [ARGS]\n");
        return 2;
    }
    lx_error_t err = {0};
    if (strcmp(argv[1], "idle-tcp") != 0 &&
        lx_curve_client_keys(argv[2], secret, server, insecure, &s_keys, s_server_key, &err) !=
            LX_OK) {
        fprintf(stderr, "lx_peer: %s\n", err.message);
        return 2;
    }
    if (strcmp(argv[1], "idle-tcp") == 0)
        return argc == 5 ? s_idle_tcp(argv[2], atol(argv[3]), atof(argv[4])) : 2;
    void *ctx = zmq_ctx_new();
    int rc = 2;
    if (strcmp(argv[1], "ask") == 0 && argc == 5)
        rc = s_ask(ctx, argv[2], argv[3], atof(argv[4]));
    else if (strcmp(argv[1], "idle") == 0 && argc == 4)
        rc = s_idle(ctx, argv[2], atof(argv[3]));
    else if (strcmp(argv[1], "garbage") == 0)
        rc = s_garbage(ctx, argv[2]);
    else if (strcmp(argv[1], "bad-submit") == 0 && argc == 4)
        rc = s_bad_submit(ctx, argv[2], argv[3]);
    else if (strcmp(argv[1], "oversized") == 0 && argc == 4)
        rc = s_oversized(ctx, argv[2], (size_t)atof(argv[3]));
    zmq_ctx_term(ctx);
    return rc;
}
