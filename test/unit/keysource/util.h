/* Helpers shared by the keysource unit suites: temporary directories, sim-link contexts. */
#ifndef QKS_TEST_UTIL_H
#define QKS_TEST_UTIL_H

#include <CUnit/Basic.h>

#include "internal.h"
#include "sim/sim.h"

/* A fresh temporary directory (removed by tu_cleanup at exit). */
const char *tu_tmpdir(void);
/* Remove every directory tu_tmpdir made. */
void tu_cleanup(void);
/* Write a file; returns its path (static buffer per call slot is not kept: caller copies). */
void tu_write(const char *path, const char *text);
/*
 * A context on sim link `link` for `sae` with qkd.peers = `peers`; extra is a NULL-terminated
 * list of key, value pairs. Fails the current test (and returns NULL) if it cannot be made.
 */
QKS_CTX *tu_sim_ctx(const char *link, const char *sae, const char *peers, ...);
/* Like tu_sim_ctx but returns the error code (ctx in *out). */
int tu_sim_ctx_rc(QKS_CTX **out, const char *link, const char *sae, const char *peers, ...);
/*
 * The key slots of sim link `dir`, mapped shared as another process on the link sees them
 * (NULL if the store is missing); release with tu_link_unmap.
 */
SIM_SLOT *tu_link_map(const char *dir);
void tu_link_unmap(SIM_SLOT *slots);
/* Keys waiting on sim link `dir` (slots in state READY), all pairs. */
int tu_link_keys(const char *dir);
/* Run every registered suite in verbose mode; exit status for main(). */
int tu_run(void);
/* 1 if haystack contains needle. */
int tu_contains(const char *haystack, const char *needle);

#endif
