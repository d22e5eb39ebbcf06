/*
 * The one registry table of QKD drivers: keysource finds a driver by the name written in
 * qkd.driver. A driver family's CMakeLists defines QHW_HAVE_<NAME> when it is built.
 */
#include <string.h>

#include "qhw.h"

#ifdef QHW_HAVE_SIM
extern const QHW_QKD_METHOD qhw_qkd_sim_method;
#endif
#ifdef QHW_HAVE_ETSI014
extern const QHW_QKD_METHOD qhw_qkd_etsi014_method;
#endif
#ifdef QHW_HAVE_AGENT
extern const QHW_QKD_METHOD qhw_qkd_agent_method;
#endif

static const QHW_QKD_METHOD *const qkd_drivers[] = {
#ifdef QHW_HAVE_SIM
    &qhw_qkd_sim_method,
#endif
#ifdef QHW_HAVE_ETSI014
    &qhw_qkd_etsi014_method,
#endif
#ifdef QHW_HAVE_AGENT
    &qhw_qkd_agent_method,
#endif
    NULL,
};

const QHW_QKD_METHOD *qhw_qkd_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; qkd_drivers[i] != NULL; i++)
        if (strcmp(qkd_drivers[i]->name, name) == 0)
            return qkd_drivers[i];
    return NULL;
}
