/* qkey version string. */
#include "qkey/qks.h"

const char *qks_version(void)
{
    return QKEY_VERSION;
}
