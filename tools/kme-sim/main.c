/*
 * qkey-kme-sim: a pair of ETSI GS QKD 014 KMEs for tests and demos.
 *   qkey-kme-sim init DIR [--profile constant|satellite] [--rate BPS] [--capacity KEYS]
 *                         [--initial KEYS] [--time-scale X] [--pass S] [--period S]
 *                         [--first-pass S] [--peak BPS] [--max-per-request N]
 *                         [--agent [--grant LIST]]
 *   qkey-kme-sim run DIR
 */
#include <stdio.h>
#include <string.h>

#include "kmesim.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qkey-kme-sim init DIR [options]   write a test PKI, the KME pair's config\n"
            "                                        and DIR/sae-a.cnf, sae-b.cnf, qkey-a.conf,\n"
            "                                        qkey-b.conf\n"
            "       qkey-kme-sim run DIR              serve KME A and KME B until SIGTERM/SIGINT\n"
            "init options (key supply, written to DIR/kme.conf):\n"
            "  --profile constant|satellite  --rate BPS (constant, default 1000000)\n"
            "  --capacity KEYS (max_key_count)  --initial KEYS (keys in store at init)\n"
            "  --time-scale X (simulated seconds per second)  --pass S  --period S\n"
            "  --first-pass S  --peak BPS (satellite)  --max-per-request N\n"
            "  --agent: the credentials go to DIR/qkeyd-a.conf, qkeyd-b.conf only (run qkeyd\n"
            "    --conf on each); the four client files use qkd.driver = agent\n"
            "  --grant LIST: users and @groups the agents serve (default root)\n"
            "faults for tests: write DIR/fault.json, e.g. {\"kme\":\"A\",\"fault\":\"503\"}\n"
            "  (delay + delay_ms, drop, 503, malformed, wrong_size, duplicate_ids; count)\n");
}

static int is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

int main(int argc, char **argv)
{
    /* --help anywhere, on the program or on a subcommand: usage on stdout, nothing made */
    for (int i = 1; i < argc; i++)
        if (is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
    /* DIR is never an option: `init --force` must not make a directory named --force */
    if (argc >= 3 && argv[2][0] == '-') {
        fprintf(stderr, "qkey-kme-sim %s: '%s' is not a directory (see qkey-kme-sim --help)\n",
                argv[1], argv[2]);
        return 2;
    }
    if (argc >= 3 && strcmp(argv[1], "init") == 0)
        return kmesim_init(argv[2], argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "run") == 0)
        return kmesim_run(argv[2]);
    usage(stderr);
    return 2;
}
