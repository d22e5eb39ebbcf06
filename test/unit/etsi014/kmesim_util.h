/*
 * Test helpers: a real qkey-kme-sim pair in a temporary directory, started and stopped by the
 * test, and etsi014 driver configs pointing at it.
 */
#ifndef QKEY_TEST_KMESIM_UTIL_H
#define QKEY_TEST_KMESIM_UTIL_H

#include <sys/types.h>

#include "qhw.h"

typedef struct {
    char dir[256];
    int port_a, port_b;
    pid_t pid;
} TEST_KME;

/* `qkey-kme-sim init DIR ARGS...` (NULL-terminated extra args) into a fresh temporary dir. */
int test_kme_init(TEST_KME *k, const char *kmesim, const char *const *args);
/* Start `qkey-kme-sim run DIR` and wait until both ports accept connections. */
int test_kme_start(TEST_KME *k, const char *kmesim);
/* SIGTERM and wait. */
void test_kme_stop(TEST_KME *k);
/* Remove the directory. */
void test_kme_cleanup(TEST_KME *k);
/* Write DIR/fault.json (NULL removes it). */
void test_kme_fault(TEST_KME *k, const char *json);

/* An etsi014 driver for SAE side 'a' or 'b' of the link in k; extra key=value pairs override
 * (NULL-terminated, e.g. "qkd.timeout_ms", "500", NULL). */
int test_drv_open(TEST_KME *k, char side, QHW_QKD **out, ...);

#endif
