/* qkey: the command line entry point (everything else lives in the qkeycli library). */
#include "qkey_cli.h"

int main(int argc, char **argv)
{
    return qkey_main(argc, argv);
}
