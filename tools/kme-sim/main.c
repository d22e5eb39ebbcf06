/*
 * qkey-kme-sim: a pair of ETSI GS QKD 014 KMEs for tests and demos.
 *   qkey-kme-sim init DIR [--profile constant|satellite] [--rate BPS] [--capacity KEYS]
 *                         [--initial KEYS] [--time-scale X] [--pass S] [--period S]
 *                         [--first-pass S] [--peak BPS] [--max-per-request N]
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
            "faults for tests: write DIR/fault.json, e.g. {\"kme\":\"A\",\"fault\":\"503\"}\n"
            "  (delay + delay_ms, drop, 503, malformed, wrong_size, duplicate_ids; count)\n");
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "init") == 0)
        return kmesim_init(argv[2], argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "run") == 0)
        return kmesim_run(argv[2]);
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
