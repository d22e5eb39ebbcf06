/* qkey: the command line entry point (everything else lives in the qkeycli library). */
#include <signal.h>

#include "qkey_cli.h"

int main(int argc, char **argv)
{
    /* A program (unlike the library) may choose its signal dispositions: a closed stdout pipe
     * (`qkey key new ... | head -c1`) or a KME that hangs up gives an error message and an exit
     * code, never a silent death by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    return qkey_main(argc, argv);
}
