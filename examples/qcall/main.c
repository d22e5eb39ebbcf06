/*
 * qcall: quantum-keyed calls with nothing but OpenSSL's EVP/SSL API and libsrtp2.
 *
 *   OPENSSL_CONF=link/sae-b.cnf qcall callee --port-file p --calls 10
 *   OPENSSL_CONF=link/sae-a.cnf qcall caller --port $(cat p) --calls 10 --seconds 2
 *
 * Every call is keyed by ONE KEM operation (default X25519-QKD: a fresh QKD key per call).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include "qcall.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: qcall callee [options]    answer calls\n"
               "       qcall caller --port N [options]    place calls\n"
               "options:\n"
               "  --kex NAME        per-call key exchange: a KEM name (default X25519-QKD; also\n"
               "                    QKD, X448-QKD, ...) or X25519/X448 for plain ECDH\n"
               "  --host ADDR       signalling address (default 127.0.0.1)\n"
               "  --port N          signalling port (callee: default 0 = any free port)\n"
               "  --port-file FILE  callee: write the port it listens on to FILE\n"
               "  --calls N         number of calls (callee: 0 = forever; default 1)\n"
               "  --frames N        caller: 20 ms frames each way per call (default 50)\n"
               "  --seconds N       caller: same as --frames 50*N\n"
               "  --fast            caller: do not pace frames at 20 ms (tests, benchmarks)\n"
               "  --window N        caller: frames per round trip (default 1, or 32 with --fast)\n"
               "  --replay-test     caller: also replay the previous call's first frame and a\n"
               "                    duplicate of this call's; the callee must reject both\n"
               "  --groups LIST     TLS 1.3 groups for signalling (default: from OPENSSL_CONF)\n"
               "  --cert F --key F  callee: signalling certificate (default: a throw-away one)\n"
               "  --ca F            caller: verify the callee's certificate against F\n"
               "  --peer-name NAME  caller: name expected in that certificate (default localhost)\n"
               "  -v, --verbose\n"
               "Everything about QKD comes from OPENSSL_CONF.\n");
}

static int number(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (*s == '\0' || *end != '\0' || s[0] == '-' || v > max)
        return 0;
    *out = (unsigned)v;
    return 1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"kex", required_argument, NULL, 'k'},
                                             {"host", required_argument, NULL, 'H'},
                                             {"port", required_argument, NULL, 'p'},
                                             {"port-file", required_argument, NULL, 'P'},
                                             {"calls", required_argument, NULL, 'n'},
                                             {"frames", required_argument, NULL, 'f'},
                                             {"seconds", required_argument, NULL, 's'},
                                             {"fast", no_argument, NULL, 'F'},
                                             {"window", required_argument, NULL, 'w'},
                                             {"replay-test", no_argument, NULL, 'R'},
                                             {"groups", required_argument, NULL, 'g'},
                                             {"cert", required_argument, NULL, 'c'},
                                             {"key", required_argument, NULL, 'K'},
                                             {"ca", required_argument, NULL, 'a'},
                                             {"peer-name", required_argument, NULL, 'N'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    QCALL_OPTS o = {.host = "127.0.0.1",
                    .kex = "X25519-QKD",
                    .peer_name = "localhost",
                    .calls = 1,
                    .frames = 50,
                    .port = -1};
    unsigned v, window = 0;
    int c, rc;

    if (argc < 2 || (strcmp(argv[1], "callee") != 0 && strcmp(argv[1], "caller") != 0)) {
        usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    o.mode = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o.kex = optarg;
            break;
        case 'H':
            o.host = optarg;
            break;
        case 'p':
            if (!number(optarg, 65535, &v))
                goto bad;
            o.port = (int)v;
            break;
        case 'P':
            o.port_file = optarg;
            break;
        case 'n':
            if (!number(optarg, 1000000, &o.calls))
                goto bad;
            break;
        case 'f':
            if (!number(optarg, 10000000, &o.frames))
                goto bad;
            break;
        case 's':
            if (!number(optarg, 200000, &v))
                goto bad;
            o.frames = v * (1000 / QCALL_FRAME_INTERVAL);
            break;
        case 'F':
            o.fast = 1;
            break;
        case 'w':
            if (!number(optarg, 4096, &window) || window == 0)
                goto bad;
            break;
        case 'R':
            o.replay_test = 1;
            break;
        case 'g':
            o.groups = optarg;
            break;
        case 'c':
            o.cert = optarg;
            break;
        case 'K':
            o.key = optarg;
            break;
        case 'a':
            o.ca = optarg;
            break;
        case 'N':
            o.peer_name = optarg;
            break;
        case 'v':
            o.verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc)
        goto bad;
    o.window = window ? window : o.fast ? 32 : 1;
    if (strcmp(o.mode, "caller") == 0 && o.port <= 0) {
        fprintf(stderr, "qcall caller: --port is required\n");
        return 2;
    }
    if (o.port < 0)
        o.port = 0;

    /* Secrets (KEM private keys, shared secrets, SRTP master keys) in OpenSSL's secure heap:
     * locked and excluded from core dumps. 1 = heap ready, 2 = ready but not locked. */
    if (CRYPTO_secure_malloc_init(64 * 1024, 32) == 0 && o.verbose)
        fprintf(stderr, "qcall: no secure heap; secrets use the normal heap\n");
    signal(SIGPIPE, SIG_IGN); /* a peer that hangs up shows as a failed write, not a kill */
    if (!qcall_media_global_init()) {
        fprintf(stderr, "qcall: libsrtp2 initialisation failed\n");
        return 1;
    }
    rc = strcmp(o.mode, "callee") == 0 ? qcall_callee(&o) : qcall_caller(&o);
    qcall_media_global_done();
    (void)CRYPTO_secure_malloc_done(); /* fails only if secrets are still allocated */
    return rc;
bad:
    usage(stderr);
    return 2;
}
